"""Every admin page that shows one patient's health data is an audited read, every change saved there
an audited write, and a booking's who, where and with whom cannot be changed by hand in the admin
(``records.admin_audit``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.utils import timezone

from admissions.models import Admission
from appointments.models import Appointment, Prescription
from records.admin_audit import HealthDataAdmin
from records.models import AuditEvent, ClinicalEntry, MedicalProfile, PatientDocument
from storage.models import ImagingStudy
from tests.factories import DepartmentFactory, UserFactory, make_patient
from tests.helpers import admin_form_data
from tracking.models import BirthPlan, HealthGoal, MenstrualCycle, PregnancyPlanner, WomensHealthProfile

pytestmark = pytest.mark.django_db

HEALTH_DATA_MODELS = (Appointment, Admission, MedicalProfile, ClinicalEntry, WomensHealthProfile, MenstrualCycle,
                      HealthGoal, PregnancyPlanner, BirthPlan, Prescription, ImagingStudy, PatientDocument)


@pytest.mark.parametrize("model", HEALTH_DATA_MODELS, ids=lambda m: m._meta.label)
def test_the_admin_of_each_model_holding_health_data_audits_its_pages(model):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, HealthDataAdmin)
    assert model._meta.get_field(model_admin.patient_field.removesuffix("_id")).related_model is not None


def _objects(patient):
    department = DepartmentFactory()
    start = timezone.now() + timedelta(days=2)
    return {
        "appointment": Appointment.objects.create(
            patient=patient, hospital=department.hospital, department=department, start=start,
            end=start + timedelta(minutes=30), status="confirmed", chief_complaint="Chest pain at night"),
        "admission": Admission.objects.create(hospital=department.hospital, department=department, patient=patient,
                                              reason_for_admission="Observation"),
        "womenshealthprofile": WomensHealthProfile.objects.create(user=patient),
        "menstrualcycle": MenstrualCycle.objects.create(user=patient, cycle_start_date=timezone.now().date()),
        "patientdocument": PatientDocument.objects.create(
            patient=patient, file=f"patient-documents/{patient.pk}/a.pdf", display_name="Lab results.pdf",
            extension="pdf", content_type="application/pdf", size=10, sha256="0" * 64),
    }


@pytest.mark.parametrize("name", ["appointment", "admission", "womenshealthprofile", "menstrualcycle",
                                  "patientdocument"])
def test_opening_one_writes_an_admin_read_naming_the_operator_and_the_patient(client, name):
    operator = UserFactory(is_staff=True, is_superuser=True)
    patient = make_patient()
    obj = _objects(patient)[name]
    client.force_login(operator)

    listed = client.get(f"/admin/{obj._meta.app_label}/{name}/")
    assert listed.status_code == 200
    assert not AuditEvent.objects.filter(action="admin_read").exists()  # the list shows no health data

    page = client.get(f"/admin/{obj._meta.app_label}/{name}/{obj.pk}/change/")

    assert page.status_code == 200
    reads = list(AuditEvent.objects.filter(action="admin_read"))
    assert [(r.actor_id, r.patient_id, r.object_type, r.object_id) for r in reads] == [
        (operator.pk, patient.pk, name, str(obj.pk))]


def test_an_operator_without_the_permission_leaves_no_read(client):
    patient = make_patient()
    appointment = _objects(patient)["appointment"]
    client.force_login(UserFactory(is_staff=True))

    assert client.get(f"/admin/appointments/appointment/{appointment.pk}/change/").status_code == 403
    assert not AuditEvent.objects.filter(action="admin_read").exists()


def test_a_bookings_people_place_and_slot_are_not_fields_of_the_admin_form():
    request = RequestFactory().get("/admin/appointments/appointment/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    patient = make_patient()
    appointment = _objects(patient)["appointment"]

    form_fields = set(admin.site._registry[Appointment].get_form(request, appointment).base_fields)

    assert not form_fields & {"patient", "doctor", "hospital", "department", "slot", "start", "end", "status",
                              "referred_to_hospital", "referred_to_department", "cancelled_by", "referred_by"}
    assert "doctor_notes" in form_fields  # the clinical text stays correctable, as on an admission


def test_a_post_naming_another_department_leaves_the_booking_where_it_was(client):
    patient = make_patient()
    appointment = _objects(patient)["appointment"]
    elsewhere = DepartmentFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/appointments/appointment/{appointment.pk}/change/"
    data = admin_form_data(client.get(url))
    data.update({"department": str(elsewhere.pk), "hospital": str(elsewhere.hospital_id), "doctor_notes": "Seen"})

    saved = client.post(url, data)

    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    appointment.refresh_from_db()
    assert appointment.doctor_notes == "Seen"
    assert (appointment.department_id, appointment.hospital_id) != (elsewhere.pk, elsewhere.hospital_id)


def test_a_change_saved_in_the_admin_is_an_audited_write_and_a_refused_form_is_none(client):
    operator = UserFactory(is_staff=True, is_superuser=True)
    patient = make_patient()
    admission = _objects(patient)["admission"]
    client.force_login(operator)
    url = f"/admin/admissions/admission/{admission.pk}/change/"
    data = admin_form_data(client.get(url))

    refused = client.post(url, {**data, "reason_for_admission": ""})  # required
    assert refused.status_code == 200
    assert not AuditEvent.objects.filter(action="admin_write").exists()

    saved = client.post(url, {**data, "diagnosis": "Community-acquired pneumonia"})

    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    writes = list(AuditEvent.objects.filter(action="admin_write"))
    assert [(w.actor_id, w.patient_id, w.object_type, w.object_id) for w in writes] == [
        (operator.pk, patient.pk, "admission", str(admission.pk))]


def test_a_deletion_in_the_admin_is_audited_one_row_an_object(client):
    operator = UserFactory(is_staff=True, is_superuser=True)
    patient = make_patient()
    first = _objects(patient)["menstrualcycle"]
    second = MenstrualCycle.objects.create(user=patient, cycle_start_date=timezone.now().date() - timedelta(days=30))
    third = MenstrualCycle.objects.create(user=patient, cycle_start_date=timezone.now().date() - timedelta(days=60))
    client.force_login(operator)

    one = client.post(f"/admin/tracking/menstrualcycle/{first.pk}/delete/", {"post": "yes"})
    selected = client.post("/admin/tracking/menstrualcycle/", {"action": "delete_selected", "post": "yes",
                                                                "_selected_action": [second.pk, third.pk]})

    assert one.status_code == 302 and selected.status_code == 302
    assert not MenstrualCycle.objects.filter(user=patient).exists()
    deletes = {(d.actor_id, d.patient_id, d.object_id) for d in AuditEvent.objects.filter(action="admin_delete")}
    assert deletes == {(operator.pk, patient.pk, str(cycle.pk)) for cycle in (first, second, third)}
