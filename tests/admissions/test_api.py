"""The admissions API as the hospital-admin pages call it: every field they read, the modal
bodies they send, errors with a ``message``, scope and the audit trail."""

from __future__ import annotations

import pytest

from admissions.models import Admission, AdmissionStatus, Bed, BedAssignment, BedStatus
from records.models import AuditEvent
from tests.admissions.helpers import admit, staff_id, ward
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import assert_private, client_for

pytestmark = pytest.mark.django_db

# useAdmissionData.ts AdmissionData, PatientDetailModal.tsx PatientDetail, the dashboards.
FRONTEND_FIELDS = {
    "id", "admission_id", "patient", "patient_name", "patient_age", "patient_gender", "patient_phone",
    "department_name", "attending_doctor_name", "status", "admission_type", "priority", "reason_for_admission",
    "admission_date", "expected_discharge_date", "actual_discharge_date", "discharge_destination",
    "discharge_summary", "followup_instructions", "length_of_stay_days", "is_icu_bed", "is_registered_patient",
    "temp_patient_details", "bed_identifier", "registration_status", "created_at", "updated_at", "diagnosis",
}


def regular_body(*, patient, department, doctor=None, assign_bed=True, **extra) -> dict:
    """What NewAdmissionModal sends for a registered patient."""
    return {"patient": str(patient.pk), "hospital": department.hospital_id, "department": department.pk,
            "attending_doctor": staff_id(doctor) if doctor else None, "reason_for_admission": "Pneumonia",
            "diagnosis": "Right lower lobe pneumonia", "priority": "urgent", "admission_type": "inpatient",
            "assign_bed": assign_bed, **extra}


def emergency_body(*, department, assign_bed=True) -> dict:
    """What NewAdmissionModal sends for an emergency admission."""
    return {
        "hospital_id": department.hospital_id, "department_id": department.pk, "attending_doctor_id": None,
        "reason_for_admission": "Road traffic accident", "admission_type": "inpatient", "priority": "emergency",
        "assign_bed": assign_bed,
        "temp_patient_details": {
            "first_name": "Emeka", "last_name": "Obi", "age": 34, "date_of_birth": None, "gender": "male",
            "phone_number": "+2348000000001", "city": "Ikeja", "address": "", "emergency_contact": "+2348000000002",
            "emergency_contact_name": "Ada Obi", "chief_complaint": "Leg injury", "allergies": "",
            "current_medications": "", "brief_history": "", "insurance_provider": "", "insurance_id": "",
        },
    }


def test_registered_patient_admitted_at_once_serves_every_field(hospital_admin, patient, department, doctor,
                                                                general_ward):
    client = client_for(hospital_admin)
    created = client.post("/api/admissions/", regular_body(patient=patient, department=department, doctor=doctor),
                          format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["admission"]["department_name"] == department.name  # the modal's success message
    assert body["status"] == "admitted" and body["bed_identifier"] == "GEN-A-1"
    assert body["attending_doctor_name"] == doctor.full_name
    assert body["patient_name"] == patient.full_name and body["is_registered_patient"] is True

    listed = client.get("/api/admissions/")
    assert listed.status_code == 200
    rows = listed.json()
    assert isinstance(rows, list) and len(rows) == 1
    assert FRONTEND_FIELDS <= set(rows[0]), FRONTEND_FIELDS - set(rows[0])
    assert rows[0]["registration_status"] == "complete"
    detail = client.get(f"/api/admissions/{rows[0]['admission_id']}/")  # the page opens it by admission_id
    assert detail.status_code == 200
    assert FRONTEND_FIELDS <= set(detail.json())
    assert detail.json()["bed_history"][0]["bed_identifier"] == "GEN-A-1"
    assert client.get(f"/api/admissions/{rows[0]['id']}/").status_code == 200
    assert Bed.objects.get(ward=general_ward, number="1").status == BedStatus.OCCUPIED


def test_emergency_admission_of_an_unregistered_person(hospital_admin, department, general_ward):
    client = client_for(hospital_admin)
    response = client.post("/api/admissions/emergency_admission/", emergency_body(department=department),
                           format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["patient_name"] == "Emeka Obi" and body["patient_age"] == 34 and body["patient_gender"] == "male"
    assert body["is_registered_patient"] is False and body["registration_status"] == "partial"
    assert body["temp_patient_details"]["chief_complaint"] == "Leg injury"
    assert body["priority"] == "emergency" and body["status"] == "admitted"
    assert body["patient"] is None


def test_pending_then_admit_then_discharge_as_the_detail_modal_does(hospital_admin, patient, department,
                                                                    general_ward):
    client = client_for(hospital_admin)
    created = client.post("/api/admissions/", regular_body(patient=patient, department=department, assign_bed=False),
                          format="json").json()
    assert created["status"] == "pending" and created["bed_identifier"] is None
    ref = created["admission_id"]
    admitted = client.post(f"/api/admissions/{ref}/admit/", {}, format="json")
    assert admitted.status_code == 200 and admitted.json()["status"] == "admitted"
    assert admitted.json()["bed_identifier"] == "GEN-A-1"
    again = client.post(f"/api/admissions/{ref}/admit/", {}, format="json")
    assert again.status_code == 409 and "already admitted" in again.json()["message"]
    refused = client.post(f"/api/admissions/{ref}/discharge/", {"discharge_summary": "", "discharge_destination": "Home"},
                          format="json")
    assert refused.status_code == 409 and "summary" in refused.json()["message"]
    assert refused.json()["code"] == "summary_required"
    assert client.post(f"/api/admissions/{ref}/discharge/", {}, format="json").status_code == 409
    assert client.get(f"/api/admissions/{ref}/").json()["status"] == "admitted"
    done = client.post(f"/api/admissions/{ref}/discharge/", {
        "discharge_summary": "Recovered", "followup_instructions": "GP in 2 weeks", "discharge_destination": "Home"},
        format="json")
    assert done.status_code == 200, done.json()
    body = done.json()
    assert body["status"] == "discharged" and body["discharge_type"] == "home"
    assert body["actual_discharge_date"] and body["discharge_summary"] == "Recovered"
    assert body["followup_instructions"] == "GP in 2 weeks" and body["length_of_stay_days"] == 0
    assert Bed.objects.get(ward=general_ward, number="1").status == BedStatus.AVAILABLE
    twice = client.post(f"/api/admissions/{ref}/discharge/", {"discharge_summary": "x"}, format="json")
    assert twice.status_code == 409 and "already discharged" in twice.json()["message"]
    assert BedAssignment.objects.filter(admission__admission_id=ref).count() == 1
    assert BedAssignment.objects.get(admission__admission_id=ref).released_at is not None


def test_a_summary_saved_by_the_edit_form_lets_a_discharge_leave_it_out(hospital_admin, patient, department,
                                                                        general_ward):
    client = client_for(hospital_admin)
    ref = client.post("/api/admissions/", regular_body(patient=patient, department=department),
                      format="json").json()["admission_id"]
    saved = client.patch(f"/api/admissions/{ref}/", {"discharge_summary": "Recovered on oral antibiotics"},
                         format="json")
    assert saved.status_code == 200, saved.json()
    done = client.post(f"/api/admissions/{ref}/discharge/", {}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "discharged"
    assert done.json()["discharge_summary"] == "Recovered on oral antibiotics"
    assert Bed.objects.get(ward=general_ward, number="1").status == BedStatus.AVAILABLE


def test_patch_edits_fields_and_moves_bed(hospital_admin, patient, department, general_ward, icu_ward):
    client = client_for(hospital_admin)
    ref = client.post("/api/admissions/", regular_body(patient=patient, department=department),
                      format="json").json()["admission_id"]
    edit = {"status": "admitted", "diagnosis": "Sepsis", "bed_identifier": "gen-a-3", "is_icu_bed": False,
            "discharge_summary": "Draft", "followup_instructions": ""}
    moved = client.patch(f"/api/admissions/{ref}/", edit, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["bed_identifier"] == "GEN-A-3" and moved.json()["diagnosis"] == "Sepsis"
    assert Bed.objects.get(ward=general_ward, number="1").status == BedStatus.AVAILABLE
    assert Bed.objects.get(ward=general_ward, number="3").status == BedStatus.OCCUPIED
    to_icu = client.patch(f"/api/admissions/{ref}/", {**edit, "bed_identifier": "GEN-A-3", "is_icu_bed": True},
                          format="json")
    assert to_icu.status_code == 200 and to_icu.json()["is_icu_bed"] is True
    assert to_icu.json()["bed_identifier"] == "ICU-1-1"
    history = client.get(f"/api/admissions/{ref}/").json()["bed_history"]
    assert [h["bed_identifier"] for h in history] == ["GEN-A-1", "GEN-A-3", "ICU-1-1"]
    assert [h["release_reason"] for h in history] == ["transfer", "transfer", ""]


def test_transfer_endpoint(hospital_admin, patient, department, general_ward):
    client = client_for(hospital_admin)
    ref = client.post("/api/admissions/", regular_body(patient=patient, department=department),
                      format="json").json()["admission_id"]
    moved = client.post(f"/api/admissions/{ref}/transfer/", {"bed_identifier": "GEN-A-2"}, format="json")
    assert moved.status_code == 200 and moved.json()["bed_identifier"] == "GEN-A-2"
    same = client.post(f"/api/admissions/{ref}/transfer/", {"bed_identifier": "GEN-A-2"}, format="json")
    assert same.status_code == 409 and "already in bed" in same.json()["message"]
    assert client.post(f"/api/admissions/{ref}/transfer/", {}, format="json").status_code == 400


@pytest.mark.parametrize("bed_status, words", [("occupied", "is occupied"), ("reserved", "is reserved"),
                                               ("out_of_service", "out of service"), ("cleaning", "being cleaned")])
def test_unavailable_bed_is_refused_and_nothing_changes(hospital_admin, patient, department, general_ward,
                                                        bed_status, words):
    Bed.objects.filter(ward=general_ward, number="2").update(status=bed_status)
    client = client_for(hospital_admin)
    response = client.post("/api/admissions/", regular_body(patient=patient, department=department,
                                                            bed_identifier="GEN-A-2"), format="json")
    assert response.status_code == 409 and words in response.json()["message"]
    assert not Admission.objects.exists() and not BedAssignment.objects.exists()


def test_bad_input_each_with_a_message(hospital_admin, patient, department, general_ward):
    client = client_for(hospital_admin)
    other_hospital_dept = DepartmentFactory()
    ward(other_hospital_dept, code="FAR", beds=1)
    far_bed = Bed.objects.get(ward__code="FAR")
    foreign = client.post("/api/admissions/", regular_body(patient=patient, department=department,
                                                           bed_id=far_bed.pk), format="json")
    assert foreign.status_code == 400 and "no such bed" in foreign.json()["message"]
    elsewhere = make_doctor(department=DepartmentFactory(hospital=department.hospital))
    wrong_doctor = client.post("/api/admissions/", regular_body(patient=patient, department=department,
                                                                doctor=elsewhere), format="json")
    assert wrong_doctor.status_code == 400 and "does not work in" in wrong_doctor.json()["message"]
    other_doctor = make_doctor(department=other_hospital_dept)
    assert client.post("/api/admissions/", regular_body(patient=patient, department=department, doctor=other_doctor),
                       format="json").status_code == 400
    assert not Admission.objects.exists()
    missing = client.post("/api/admissions/", {"department": department.pk}, format="json")
    assert missing.status_code == 400 and "message" in missing.json()
    unknown_patient = client.post("/api/admissions/", regular_body(patient=make_patient(), department=department),
                                  format="json")
    assert unknown_patient.status_code == 404 and "message" in unknown_patient.json()
    ref = client.post("/api/admissions/", regular_body(patient=patient, department=department),
                      format="json").json()["admission_id"]
    early = client.post(f"/api/admissions/{ref}/discharge/", {"discharge_summary": "x",
                                                              "discharged_at": "2001-01-01T10:00:00Z"}, format="json")
    assert early.status_code == 400 and "before the admission" in early.json()["message"]
    assert Admission.objects.get(admission_id=ref).status == AdmissionStatus.ADMITTED
    twice = client.post("/api/admissions/", regular_body(patient=patient, department=department), format="json")
    assert twice.status_code == 409 and "open admission" in twice.json()["message"]
    full = client.post("/api/admissions/", regular_body(patient=make_patient(hospital=department.hospital),
                                                        department=department, is_icu_bed=True), format="json")
    assert full.status_code == 409 and "No ICU bed" in full.json()["message"]


def test_cancel_and_link_patient(hospital_admin, patient, department, general_ward):
    client = client_for(hospital_admin)
    pending = client.post("/api/admissions/emergency_admission/", emergency_body(department=department,
                                                                                 assign_bed=False),
                          format="json").json()
    ref = pending["admission_id"]
    linked = client.post(f"/api/admissions/{ref}/link_patient/", {"hpn": patient.hpn}, format="json")
    assert linked.status_code == 200 and linked.json()["is_registered_patient"] is True
    assert linked.json()["patient"] == str(patient.pk)
    assert client.post(f"/api/admissions/{ref}/link_patient/", {"hpn": patient.hpn},
                       format="json").status_code == 409
    cancelled = client.post(f"/api/admissions/{ref}/cancel/", {"reason": "Went elsewhere"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/admissions/{ref}/admit/", {}, format="json").status_code == 409


def test_readmission_within_thirty_days_is_flagged(hospital_admin, patient, department, general_ward):
    first = admit(actor=hospital_admin, patient=patient, department=department)
    from admissions import services

    services.admission_discharge(actor=hospital_admin, admission=first, discharge_summary="ok")
    client = client_for(hospital_admin)
    again = client.post("/api/admissions/", regular_body(patient=patient, department=department), format="json")
    assert again.json()["is_readmission"] is True
    assert again.json()["previous_admission_id"] == first.admission_id


def test_a_stay_after_an_emergency_admission_is_not_its_previous_stay_when_linked(hospital_admin, patient,
                                                                                department, general_ward):
    """An unknown person admitted at the door, discharged, and identified only after a later stay of
    hers: linking her makes the door admission no readmission of the stay that came after it."""
    from admissions import services

    client = client_for(hospital_admin)
    door = client.post("/api/admissions/emergency_admission/", emergency_body(department=department),
                       format="json").json()
    assert client.post(f"/api/admissions/{door['admission_id']}/discharge/", {"discharge_summary": "ok"},
                       format="json").status_code == 200
    later = admit(actor=hospital_admin, patient=patient, department=department)
    services.admission_discharge(actor=hospital_admin, admission=later, discharge_summary="ok")
    assert Admission.objects.get(pk=later.pk).discharged_at > Admission.objects.get(pk=door["id"]).created_at

    linked = client.post(f"/api/admissions/{door['admission_id']}/link_patient/", {"patient": str(patient.pk)},
                         format="json")
    assert linked.status_code == 200, linked.json()
    assert linked.json()["is_readmission"] is False and linked.json()["previous_admission_id"] is None
    stored = Admission.objects.get(pk=door["id"])
    assert stored.patient_id == patient.pk and stored.previous_admission_id is None


def test_scope_other_hospital_other_patient_anonymous(hospital_admin, patient, other_patient, department,
                                                      general_ward):
    admission = admit(actor=hospital_admin, patient=patient, department=department, staff_notes="Staff only")
    outsider = make_hospital_admin(hospital=HospitalFactory())
    url = f"/api/admissions/{admission.admission_id}/"
    assert_private(url, owner=hospital_admin, stranger=outsider, owner_status=200)
    assert_private(url, owner=patient, stranger=other_patient, owner_status=200)
    mine = client_for(patient).get(url).json()
    assert mine["admission_id"] == admission.admission_id and "additional_notes" not in mine
    assert "temp_patient_details" not in mine
    for action, body in (("admit/", {}), ("discharge/", {"discharge_summary": "x"}), ("transfer/", {"is_icu_bed": 1}),
                         ("cancel/", {})):
        assert_private(url + action, method="post", data=body, stranger=patient)
        assert_private(url + action, method="post", data=body, stranger=outsider)
    assert_private(url, method="patch", data={"diagnosis": "x"}, stranger=patient)
    assert_private(url, method="patch", data={"diagnosis": "x"}, stranger=outsider, owner=hospital_admin,
                   owner_status=200)
    assert client_for(outsider).get("/api/admissions/").json() == []
    assert [a["admission_id"] for a in client_for(patient).get("/api/admissions/").json()] == [admission.admission_id]
    assert client_for(other_patient).get("/api/admissions/").json() == []
    assert client_for(None).get("/api/admissions/").status_code == 401
    assert client_for(patient).post("/api/admissions/", regular_body(patient=patient, department=department),
                                    format="json").status_code == 404
    assert client_for(outsider).post("/api/admissions/", regular_body(patient=patient, department=department),
                                     format="json").status_code == 404  # names another hospital
    foreign_department = client_for(outsider).post(
        "/api/admissions/", {**regular_body(patient=patient, department=department), "hospital": None}, format="json")
    assert foreign_department.status_code == 400 and "department" in foreign_department.json()["message"]
    assert Admission.objects.count() == 1


def test_doctor_of_the_hospital_sees_and_acts(doctor, patient, department, general_ward, hospital_admin):
    admission = admit(actor=hospital_admin, patient=patient, department=department)
    client = client_for(doctor)
    assert client.get(f"/api/admissions/{admission.pk}/").status_code == 200
    done = client.post(f"/api/admissions/{admission.pk}/discharge/", {"discharge_summary": "Well"}, format="json")
    assert done.status_code == 200


def test_every_read_and_write_is_audited(hospital_admin, patient, department, general_ward):
    client = client_for(hospital_admin)
    ref = client.post("/api/admissions/", regular_body(patient=patient, department=department),
                      format="json").json()["admission_id"]
    client.get("/api/admissions/")
    client.get(f"/api/admissions/{ref}/")
    client.patch(f"/api/admissions/{ref}/", {"diagnosis": "Better"}, format="json")
    client.post(f"/api/admissions/{ref}/discharge/", {"discharge_summary": "ok"}, format="json")
    events = AuditEvent.objects.filter(object_type="admission", object_id=ref)
    assert sorted(events.values_list("action", flat=True)) == ["create", "discharge", "list", "read", "update"]
    assert set(events.values_list("patient_id", flat=True)) == {patient.pk}
    assert set(events.values_list("actor_id", flat=True)) == {hospital_admin.pk}


def test_list_shows_open_and_closed_today_and_filters(hospital_admin, patient, department, general_ward):
    from admissions import services

    stay = admit(actor=hospital_admin, patient=patient, department=department)
    stay = services.admission_discharge(actor=hospital_admin, admission=stay, discharge_summary="ok")
    admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department)
    client = client_for(hospital_admin)
    rows = client.get("/api/admissions/").json()
    assert sorted(r["status"] for r in rows) == ["admitted", "discharged"]
    assert [r["status"] for r in client.get("/api/admissions/?status=admitted").json()] == ["admitted"]
    assert client.get("/api/admissions/?status=nonsense").status_code == 400
    Admission.objects.filter(pk=stay.pk).update(discharged_at=stay.discharged_at.replace(year=2020),
                                                admitted_at=stay.admitted_at.replace(year=2020))
    assert len(client.get("/api/admissions/").json()) == 1
    assert len(client.get("/api/admissions/?since=2019-12-31").json()) == 2


def test_bed_status_endpoint_and_wards(hospital_admin, department, general_ward, patient):
    client = client_for(hospital_admin)
    bed = Bed.objects.get(ward=general_ward, number="1")
    done = client.post(f"/api/admissions/beds/{bed.pk}/status/", {"status": "cleaning"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "cleaning"
    assert client.post(f"/api/admissions/beds/{bed.pk}/status/", {"status": "occupied"},
                       format="json").status_code == 400
    admit(actor=hospital_admin, patient=patient, department=department)  # takes GEN-A-2
    taken = Bed.objects.get(ward=general_ward, number="2")
    refused = client.post(f"/api/admissions/beds/{taken.pk}/status/", {"status": "available"}, format="json")
    assert refused.status_code == 409 and "occupied" in refused.json()["message"]
    outsider = make_hospital_admin(hospital=HospitalFactory())
    assert_private(f"/api/admissions/beds/{bed.pk}/status/", method="post", data={"status": "available"},
                   stranger=outsider)
    wards = client.get("/api/admissions/wards/").json()
    assert wards[0]["code"] == "GEN-A" and [b["bed_identifier"] for b in wards[0]["beds"]][:2] == ["GEN-A-1", "GEN-A-2"]


def test_the_detail_modal_save_works_in_every_status(hospital_admin, patient, department, general_ward):
    """The modal always sends its whole edit form: status, diagnosis, bed_identifier, is_icu_bed,
    discharge_summary, followup_instructions, as read from the admission."""
    client = client_for(hospital_admin)
    ref = client.post("/api/admissions/", regular_body(patient=patient, department=department, assign_bed=False),
                      format="json").json()["admission_id"]

    def save(**edits):
        current = client.get(f"/api/admissions/{ref}/").json()
        form = {"status": current["status"], "diagnosis": current["diagnosis"],
                "bed_identifier": current["bed_identifier"] or "", "is_icu_bed": current["is_icu_bed"],
                "discharge_summary": current["discharge_summary"],
                "followup_instructions": current["followup_instructions"], **edits}
        return client.patch(f"/api/admissions/{ref}/", form, format="json")

    assert save(diagnosis="Pending review").status_code == 200
    assert client.post(f"/api/admissions/{ref}/admit/", {}, format="json").status_code == 200
    assert save(discharge_summary="Draft summary").json()["discharge_summary"] == "Draft summary"
    done = client.post(f"/api/admissions/{ref}/discharge/", {"discharge_summary": "Final",
                                                             "followup_instructions": "Rest",
                                                             "discharge_destination": "Home"}, format="json")
    assert done.status_code == 200
    corrected = save(followup_instructions="Rest and fluids")
    assert corrected.status_code == 200 and corrected.json()["followup_instructions"] == "Rest and fluids"
    moved = save(bed_identifier="GEN-A-2")
    assert moved.status_code == 409 and "Only an admitted patient" in moved.json()["message"]
    reopened = save(status="admitted")
    assert reopened.status_code == 409 and "discharged" in reopened.json()["message"]


def test_a_named_bed_of_another_department_is_refused_at_admission(hospital_admin, patient, department,
                                                                   general_ward):
    elsewhere = ward(DepartmentFactory(hospital=department.hospital, name="Surgery"), code="SUR", beds=1)
    client = client_for(hospital_admin)
    refused = client.post("/api/admissions/", regular_body(patient=patient, department=department,
                                                           bed_identifier="SUR-1"), format="json")
    assert refused.status_code == 400 and "belongs to Surgery" in refused.json()["message"]
    ref = client.post("/api/admissions/", regular_body(patient=patient, department=department),
                      format="json").json()["admission_id"]
    moved = client.post(f"/api/admissions/{ref}/transfer/", {"bed_id": elsewhere.beds.get().pk}, format="json")
    assert moved.status_code == 200 and moved.json()["department_name"] == "Surgery"


def test_out_of_range_ids_are_clear_errors(hospital_admin, patient, department):
    client = client_for(hospital_admin)
    huge = 2**70
    assert client.get(f"/api/admissions/{huge}/").status_code == 404
    assert client.post(f"/api/admissions/beds/{huge}/status/", {"status": "available"},
                       format="json").status_code == 404
    assert client.get(f"/api/hospitals/departments/{huge}/detail/").status_code == 404
    assert client.get(f"/api/doctors/department/{huge}").status_code == 404
    bad = client.post("/api/admissions/", {**regular_body(patient=patient, department=department),
                                           "department": huge}, format="json")
    assert bad.status_code == 400 and "message" in bad.json()
