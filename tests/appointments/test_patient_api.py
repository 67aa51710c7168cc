"""Patient endpoints over HTTP: list (P3/M5), detail (P4), summary (M6), check-conflict (P5),
cancel and reschedule, prescriptions, and privacy on every one of them."""

from __future__ import annotations

import pytest
from django.core import mail

from appointments.models import AppointmentStatus, Slot, SlotCapacity
from appointments.signals import appointment_cancelled
from tests.appointments.helpers import book, future_slot, hold, iso_z
from tests.factories import DepartmentFactory, make_doctor, make_patient
from tests.helpers import assert_private, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointment(patient, department):
    return book(patient, department, future_slot(department.hospital, at="10:00"), chief_complaint="Back pain")


def test_list_is_bare_array_with_both_ids(patient, appointment, other_patient, department):
    book(other_patient, department, future_slot(department.hospital, at="11:00"))
    response = client_for(patient).get("/api/appointments/")
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    item = body[0]
    assert item["id"] == str(appointment.id)
    assert item["appointment_id"] == appointment.appointment_id and item["appointment_id"].startswith("APT-")
    for key in ("appointment_date", "formatted_date_time", "formatted_date", "formatted_time", "doctor_full_name",
                "doctor_name", "formatted_appointment_type", "chief_complaint", "hospital_name", "department_name",
                "status", "duration", "appointment_type"):
        assert key in item, key
    assert item["duration"] == 30 and item["time"] == "10:00"
    assert item["appointment_date"].endswith("+01:00")
    assert item["chief_complaint"] == "Back pain"
    assert client_for(None).get("/api/appointments/").status_code == 401


def test_detail_by_either_id(patient, appointment):
    client = client_for(patient)
    for ref in (str(appointment.id), appointment.appointment_id, appointment.appointment_id.lower()):
        response = client.get(f"/api/appointments/{ref}/")
        assert response.status_code == 200, ref
        body = response.json()
        assert body["appointment_id"] == appointment.appointment_id
        assert set(body["medical_summary"]) >= {"diagnosis", "treatment", "follow_up", "notes", "prescriptions",
                                                "vital_signs"}
    assert client.get("/api/appointments/APT-NOTEXIST/").status_code == 404


def test_summary_shape(patient, appointment):
    body = client_for(patient).get(f"/api/appointments/{appointment.appointment_id}/summary/").json()
    assert set(body) == {"appointment_details", "patient_details", "important_notes", "payment_info", "additional_info"}
    assert body["appointment_details"]["appointment_id"] == appointment.appointment_id
    assert body["appointment_details"]["duration"] == 30
    assert body["patient_details"]["chief_complaint"] == "Back pain"
    assert body["payment_info"]["payment_status"] == "paid"


def test_summary_symptoms_are_text(patient, other_patient, department):
    """The GP record page prints ``patient_details.symptoms`` as text; a list of objects breaks the page."""
    symptoms = [
        {"body_part_id": "chest", "body_part_name": "Chest", "symptom_name": "Chest pain", "description": "Since Monday"},
        {"body_part_id": "head", "body_part_name": "Head", "symptom_name": "Headache", "description": ""},
    ]
    appointment = book(patient, department, future_slot(department.hospital, at="09:00"), symptoms_data=symptoms)
    url = f"/api/appointments/{appointment.appointment_id}/summary/"
    details = client_for(patient).get(url).json()["patient_details"]
    assert details["symptoms"] == "Chest - Chest pain (Since Monday); Head - Headache"
    assert details["symptoms_data"] == symptoms
    assert_private(url, owner=patient, stranger=other_patient, owner_status=200)


def test_summary_symptoms_empty_when_none_reported(patient, appointment):
    details = client_for(patient).get(f"/api/appointments/{appointment.appointment_id}/summary/").json()
    assert details["patient_details"]["symptoms"] == ""


def test_check_conflict(patient, appointment, department):
    client = client_for(patient)
    local_day = future_slot(department.hospital).date()
    hit = client.get("/api/appointments/check-conflict/",
                     {"department": department.pk, "date": local_day.isoformat(), "time": "10:00"}).json()
    assert hit["has_conflict"] is True
    assert hit["conflict_details"]["existing_appointment_id"] == appointment.appointment_id
    assert hit["conflict_details"]["time"] == "10:00"
    miss = client.get("/api/appointments/check-conflict/",
                      {"department": department.pk, "date": local_day.isoformat(), "time": "11:00"}).json()
    assert miss["has_conflict"] is False and miss["message"]
    whole_day = client.get("/api/appointments/check-conflict/",
                           {"department": department.pk, "date": local_day.isoformat()}).json()
    assert whole_day["has_conflict"] is True
    bad = client.get("/api/appointments/check-conflict/", {"date": "31-12-2030", "time": "25:00"})
    assert bad.status_code == 400 and "error" in bad.json()


def test_patient_cancel(patient, appointment, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, appointment, cancelled_by, reason, **kwargs):
        received.append((appointment.pk, cancelled_by.pk, reason))

    appointment_cancelled.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(patient).post(f"/api/appointments/{appointment.appointment_id}/cancel/",
                                                {"reason": "Feeling better"}, format="json")
    finally:
        appointment_cancelled.disconnect(receiver)
    assert response.status_code == 200, response.json()
    assert response.json()["appointment"]["status"] == "cancelled"
    assert received == [(appointment.pk, patient.pk, "Feeling better")]
    assert Slot.objects.get(pk=appointment.slot_id).in_use == 0
    assert mail.outbox[-1].subject == "Your PHB appointment was cancelled"
    again = client_for(patient).post(f"/api/appointments/{appointment.id}/cancel/", {"reason": "x"}, format="json")
    assert again.status_code == 409 and "cannot become cancelled" in again.json()["message"]


def test_cancel_needs_reason(patient, appointment):
    response = client_for(patient).post(f"/api/appointments/{appointment.id}/cancel/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["message"]


def test_cancel_signal_not_sent_before_commit(patient, appointment, django_capture_on_commit_callbacks):
    received = []
    appointment_cancelled.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t-precommit")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            client_for(patient).post(f"/api/appointments/{appointment.id}/cancel/", {"reason": "r"}, format="json")
        assert received == [] and callbacks
        for callback in callbacks:
            callback()
        assert len(received) == 1
    finally:
        appointment_cancelled.disconnect(dispatch_uid="t-precommit")


def test_reschedule_moves_atomically(patient, appointment, department, django_capture_on_commit_callbacks):
    new_start = future_slot(department.hospital, days=2, at="14:30")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(patient).post(f"/api/appointments/{appointment.appointment_id}/reschedule/",
                                            {"appointment_date": iso_z(new_start)}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()["appointment"]
    assert body["time"] == "14:30" and body["date"] == new_start.date().isoformat()
    assert body["reschedule_count"] == 1
    old_slot = Slot.objects.get(pk=appointment.slot_id)
    appointment.refresh_from_db()
    assert old_slot.in_use == 0 and Slot.objects.get(pk=appointment.slot_id).in_use == 1
    assert mail.outbox[-1].subject == "Your PHB appointment was rescheduled"


def test_reschedule_into_full_slot_changes_nothing(patient, appointment, department):
    target = future_slot(department.hospital, days=2, at="09:00")
    SlotCapacity.objects.create(department=department, weekday=target.weekday(), capacity=1)
    hold(make_patient(hospital=department.hospital), department, target)
    before = (appointment.start, appointment.slot_id)
    response = client_for(patient).post(f"/api/appointments/{appointment.id}/reschedule/",
                                        {"appointment_date": iso_z(target)}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "slot_unavailable"
    appointment.refresh_from_db()
    assert (appointment.start, appointment.slot_id) == before
    assert Slot.objects.get(pk=appointment.slot_id).in_use == 1
    assert Slot.objects.get(department=department, start__date=target.date()).in_use == 1


@pytest.mark.parametrize(("at", "days", "code"), [("07:00", 2, "outside_opening_hours"), ("10:00", -2, "slot_in_past")])
def test_reschedule_refusals(patient, appointment, department, at, days, code):
    response = client_for(patient).post(f"/api/appointments/{appointment.id}/reschedule/",
                                        {"appointment_date": iso_z(future_slot(department.hospital, days=days, at=at))},
                                        format="json")
    assert response.status_code == 400 and response.json()["code"] == code


def test_reschedule_cancelled_is_conflict(patient, appointment, department):
    client = client_for(patient)
    client.post(f"/api/appointments/{appointment.id}/cancel/", {"reason": "r"}, format="json")
    response = client.post(f"/api/appointments/{appointment.id}/reschedule/",
                           {"appointment_date": iso_z(future_slot(department.hospital, days=3))}, format="json")
    assert response.status_code == 409


def test_patient_prescriptions_list(patient, appointment, department):
    doctor = make_doctor(department=department)
    doc = client_for(doctor)
    assert doc.post(f"/api/appointments/{appointment.id}/accept/", {}, format="json").status_code == 200
    issued = doc.post(f"/api/appointments/{appointment.id}/prescriptions/", {"medications": [
        {"medication_name": "Amoxicillin", "strength": "500mg", "form": "capsule", "route": "oral",
         "dosage": "1 capsule", "frequency": "three times daily", "duration": "7 days",
         "patient_instructions": "After meals", "indication": "Infection"}]}, format="json")
    assert issued.status_code == 201, issued.json()
    body = client_for(patient).get("/api/prescriptions/").json()
    assert body["status"] == "success"
    (med,) = body["medications"]
    assert med["medication_name"] == "Amoxicillin" and med["appointment_id"] == appointment.appointment_id
    assert med["prescriber_name"].startswith("Dr.") and med["status"] == "active"
    for key in ("id", "strength", "form", "route", "dosage", "frequency", "patient_instructions", "indication",
                "created_at", "updated_at", "prescription_id"):
        assert med[key], key
    assert client_for(make_patient()).get("/api/prescriptions/").json()["medications"] == []


def test_every_patient_endpoint_is_private(patient, appointment, department):
    stranger = make_patient(hospital=department.hospital)
    other_hospital_doctor = make_doctor(department=DepartmentFactory())
    base = f"/api/appointments/{appointment.appointment_id}"
    for who in (stranger, other_hospital_doctor):
        assert_private(f"{base}/", owner=patient, stranger=who, owner_status=200)
        assert_private(f"{base}/summary/", owner=patient, stranger=who, owner_status=200)
        assert_private(f"{base}/prescriptions/view/", owner=patient, stranger=who, owner_status=200)
        assert_private(f"{base}/reschedule/", stranger=who, method="post",
                       data={"appointment_date": iso_z(future_slot(department.hospital, days=4))})
        assert_private(f"{base}/cancel/", stranger=who, method="post", data={"reason": "not mine"})
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.PENDING and appointment.reschedule_count == 0
    assert stranger_list_is_empty(stranger)


def stranger_list_is_empty(user) -> bool:
    return client_for(user).get("/api/appointments/").json() == []
