"""Doctor (D1–D16) and hospital-admin (O1) endpoints over HTTP, and the state machine."""

from __future__ import annotations

import pytest
from django.core import mail

from appointments import slot_grid
from appointments.models import Appointment, AppointmentStatus, Prescription, Slot
from appointments.signals import prescription_issued
from tests.appointments.helpers import book, future_slot, iso_z, move_to_past
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import assert_private, client_for

pytestmark = pytest.mark.django_db

S = AppointmentStatus
SUMMARY = {"diagnosis": "Tension headache", "treatment": "Rest", "follow_up": "2 weeks", "notes": "Fine"}
MEDICATION = {"medication_name": "Paracetamol", "strength": "500mg", "form": "tablet", "route": "oral",
              "dosage": "2 tablets", "frequency": "every 6 hours", "duration": "3 days",
              "patient_instructions": "Do not exceed 8 tablets a day", "indication": "Pain"}


@pytest.fixture
def appointment(patient, department):
    return book(patient, department, future_slot(department.hospital, at="10:00"))


def _url(appointment, suffix: str) -> str:
    return f"/api/appointments/{appointment.appointment_id}/{suffix}"


def put_in(status: str, appointment: Appointment, doctor) -> Appointment:
    """Drive ``appointment`` to ``status`` through the real endpoints."""
    client = client_for(doctor)

    def ok(response):
        assert response.status_code == 200, response.json()

    if status == S.PENDING:
        pass
    elif status == S.CANCELLED:
        ok(client.post(_url(appointment, "cancel/"), {"cancellation_reason": "Clinic closed"}, format="json"))
    elif status == S.RESCHEDULED:
        ok(client.patch(f"/api/doctor-appointments/{appointment.id}/status/", {"status": "rescheduled"},
                        format="json"))
    else:
        ok(client.post(_url(appointment, "accept/"), {}, format="json"))
        if status == S.IN_PROGRESS or status == S.COMPLETED:
            ok(client.post(_url(appointment, "start-consultation/"), format="json"))
        if status == S.COMPLETED:
            ok(client.post(_url(appointment, "complete-consultation/"), {"medical_summary": SUMMARY}, format="json"))
        if status == S.NO_SHOW:
            move_to_past(appointment)
            ok(client.post(_url(appointment, "no-show/"), {}, format="json"))
    appointment.refresh_from_db()
    assert appointment.status == status
    return appointment


ACTIONS = ("accept", "start", "complete", "cancel", "no_show", "rescheduled")
TARGET = {"accept": S.CONFIRMED, "start": S.IN_PROGRESS, "complete": S.COMPLETED, "cancel": S.CANCELLED,
          "no_show": S.NO_SHOW, "rescheduled": S.RESCHEDULED}
ALLOWED = {
    S.PENDING: {"accept", "cancel", "rescheduled"},
    S.CONFIRMED: {"start", "complete", "cancel", "no_show", "rescheduled"},
    S.IN_PROGRESS: {"complete"},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
    S.NO_SHOW: set(),
    S.RESCHEDULED: {"cancel"},  # confirming needs a new time first
}


def do_action(client, appointment, action: str, via: str):
    if via == "d4":
        body = {"status": TARGET[action], "notes": "note", "medical_summary": SUMMARY,
                "cancellation_reason": "Doctor unavailable"}
        return client.patch(f"/api/doctor-appointments/{appointment.appointment_id}/status/", body, format="json")
    paths = {"accept": ("accept/", {}), "start": ("start-consultation/", None),
             "complete": ("complete-consultation/", {"medical_summary": SUMMARY}),
             "cancel": ("cancel/", {"cancellation_reason": "Doctor unavailable"}), "no_show": ("no-show/", {})}
    if action == "rescheduled":
        return client.patch(f"/api/doctor-appointments/{appointment.id}/status/", {"status": "rescheduled"},
                            format="json")
    suffix, body = paths[action]
    return client.post(_url(appointment, suffix), body, format="json")


@pytest.mark.parametrize("via", ["endpoint", "d4"])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("start_status", list(ALLOWED))
def test_state_machine(start_status, action, via, appointment, doctor):
    appointment = put_in(start_status, appointment, doctor)
    if action in ("no_show", "complete"):
        move_to_past(appointment)
    slot_before = Slot.objects.get(pk=appointment.slot_id).in_use
    response = do_action(client_for(doctor), appointment, action, via)
    appointment.refresh_from_db()
    if action in ALLOWED[start_status]:
        assert response.status_code == 200, response.json()
        assert appointment.status == TARGET[action]
        assert response.json()["appointment"]["status"] == TARGET[action]
        freed = TARGET[action] in (S.CANCELLED, S.RESCHEDULED) and start_status != S.RESCHEDULED
        assert Slot.objects.get(pk=appointment.slot_id).in_use == slot_before - (1 if freed else 0)
    else:
        assert response.status_code == 409, (start_status, action, response.json())
        assert response.json()["message"]
        assert appointment.status == start_status
        assert Slot.objects.get(pk=appointment.slot_id).in_use == slot_before


def test_accept_assigns_doctor_and_emails(appointment, doctor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(doctor).post(_url(appointment, "accept/"), {}, format="json")
    assert response.status_code == 200
    appointment.refresh_from_db()
    assert appointment.doctor_id == doctor.pk and appointment.accepted_at
    assert response.json()["appointment"]["doctor_full_name"].startswith("Dr.")
    assert mail.outbox[-1].subject == "Your PHB appointment is confirmed"


@pytest.mark.parametrize("sent_as", ["instant", "wall_clock"])
def test_accept_with_proposed_time_moves(appointment, doctor, department, sent_as):
    """The dashboard sends ``new Date(local).toISOString()``: the instant, in UTC. 15:00 in Lagos is
    14:00Z, and the appointment moves to 15:00 on the hospital's clock; a time without ``Z`` or
    offset is the hospital's wall clock."""
    from datetime import UTC

    new_time = future_slot(department.hospital, days=3, at="15:00")
    if sent_as == "instant":
        instant = slot_grid.local_to_aware(new_time, slot_grid.hospital_zone(department.hospital)).astimezone(UTC)
        sent = instant.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert sent.endswith("T14:00:00.000Z")
    else:
        sent = new_time.strftime("%Y-%m-%dT%H:%M:%S")
    response = client_for(doctor).post(_url(appointment, "accept/"), {"proposed_time": sent}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["appointment"]["time"] == "15:00"
    assert response.json()["appointment"]["status"] == "confirmed"


def test_rescheduled_then_patient_picks_time(appointment, doctor, patient, department):
    put_in(S.RESCHEDULED, appointment, doctor)
    assert Slot.objects.get(pk=appointment.slot_id).in_use == 0
    response = client_for(patient).post(_url(appointment, "reschedule/"),
                                        {"appointment_date": iso_z(future_slot(department.hospital, days=2))},
                                        format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["appointment"]["status"] == "pending"


def test_complete_requires_summary(appointment, doctor):
    put_in(S.IN_PROGRESS, appointment, doctor)
    client = client_for(doctor)
    empty = client.post(_url(appointment, "complete-consultation/"), {"notes": "  "}, format="json")
    assert empty.status_code == 400 and "summary" in empty.json()["message"]
    d4 = client.patch(f"/api/doctor-appointments/{appointment.id}/status/", {"status": "completed"}, format="json")
    assert d4.status_code == 400
    done = client.post(_url(appointment, "complete-consultation/"), {"notes": "Resolved with rest"}, format="json")
    assert done.status_code == 200
    appointment.refresh_from_db()
    assert appointment.medical_summary == {"notes": "Resolved with rest"}


@pytest.mark.parametrize("status", [S.PENDING, S.CONFIRMED, S.COMPLETED, S.CANCELLED])
def test_completing_without_a_summary_where_it_cannot_be_completed_says_why(appointment, doctor, status):
    """The state is the reason, not the missing summary: sending one would not help (a confirmed
    appointment can be completed, but not before its time)."""
    put_in(status, appointment, doctor)
    client = client_for(doctor)
    reason = "too_early" if status == S.CONFIRMED else "invalid_transition"
    for response in (client.post(_url(appointment, "complete-consultation/"), {}, format="json"),
                     client.patch(f"/api/doctor-appointments/{appointment.id}/status/", {"status": "completed"},
                                  format="json")):
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == reason and response.json()["message"]
    assert Appointment.objects.get(pk=appointment.pk).status == status


@pytest.mark.parametrize("status", [S.COMPLETED, S.CANCELLED])
def test_cancelling_without_a_reason_where_it_cannot_be_cancelled_says_why(appointment, doctor, status):
    """Through D4, where the reason may come from ``reason`` or ``notes``; the cancel endpoints'
    bodies require ``cancellation_reason`` (a 400 for a body without it, as for any malformed body)."""
    put_in(status, appointment, doctor)
    response = client_for(doctor).patch(f"/api/doctor-appointments/{appointment.id}/status/",
                                        {"status": "cancelled"}, format="json")
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_transition"


def test_no_show_refused_before_time(appointment, doctor):
    put_in(S.CONFIRMED, appointment, doctor)
    response = client_for(doctor).post(_url(appointment, "no-show/"), {}, format="json")
    assert response.status_code == 409 and "before the appointment time" in response.json()["message"]


def test_a_confirmed_consultation_is_completed_without_a_start_once_its_time_has_come(appointment, doctor):
    """The appointment page offers a confirmed appointment only "Mark as Completed"."""
    put_in(S.CONFIRMED, appointment, doctor)
    early = client_for(doctor).post(_url(appointment, "complete-consultation/"), {"medical_summary": SUMMARY},
                                    format="json")
    assert early.status_code == 409 and early.json()["code"] == "too_early", early.json()
    move_to_past(appointment)
    done = client_for(doctor).post(_url(appointment, "complete-consultation/"), {"medical_summary": SUMMARY},
                                   format="json")
    assert done.status_code == 200, done.json()
    appointment.refresh_from_db()
    assert appointment.status == S.COMPLETED and appointment.medical_summary == SUMMARY
    assert appointment.completed_at is not None and appointment.started_at is None


def test_unknown_status_is_400(appointment, doctor):
    response = client_for(doctor).patch(f"/api/doctor-appointments/{appointment.id}/status/", {"status": "done"},
                                        format="json")
    assert response.status_code == 400


def test_doctor_cancel_needs_reason(appointment, doctor):
    response = client_for(doctor).post(_url(appointment, "cancel/"), {}, format="json")
    assert response.status_code == 400


# --- Queue and lists -------------------------------------------------------------------------------
def test_department_queue(appointment, doctor, department, hospital):
    other_department = DepartmentFactory(hospital=hospital)
    book(make_patient(hospital=hospital), other_department, future_slot(hospital, at="11:00"))
    mine = book(make_patient(hospital=hospital), department, future_slot(hospital, at="12:00"))
    client = client_for(doctor)
    client.post(_url(mine, "accept/"), {}, format="json")
    body = client.get("/api/department-pending-appointments/").json()
    assert [a["appointment_id"] for a in body["pending_department_appointments"]] == [appointment.appointment_id]
    assert [a["appointment_id"] for a in body["my_appointments"]["confirmed"]] == [mine.appointment_id]
    assert body["my_appointments"]["all"][0]["patient_name"]
    assert body["doctor_info"]["department_id"] == department.pk
    assert body["summary"]["pending_count"] == 1 and body["summary"]["confirmed_count"] == 1
    filtered = client.get("/api/department-pending-appointments/", {"priority": "emergency"}).json()
    assert filtered["pending_department_appointments"] == []
    assert client_for(make_patient()).get("/api/department-pending-appointments/").status_code == 403


def test_doctor_list_and_detail(appointment, doctor):
    client = client_for(doctor)
    listed = client.get("/api/doctor-appointments/").json()
    assert [a["id"] for a in listed] == [str(appointment.id)]
    detail = client.get(f"/api/doctor-appointments/{appointment.appointment_id}/").json()
    assert detail["patient_hpn"] == appointment.patient.hpn and detail["prescriptions"] == []


def test_o1_hospital_admin_list(appointment, hospital, department, hospital_admin, doctor):
    other_department = DepartmentFactory(hospital=hospital)
    second = book(make_patient(hospital=hospital), other_department, future_slot(hospital, at="13:00"))
    elsewhere = DepartmentFactory()
    book(make_patient(hospital=elsewhere.hospital), elsewhere, future_slot(elsewhere.hospital))
    client_for(doctor).post(_url(appointment, "accept/"), {}, format="json")
    client = client_for(hospital_admin)
    body = client.get("/api/hospitals/appointments/").json()
    assert body["status"] == "success" and body["total_count"] == 2
    item = next(a for a in body["appointments"] if a["id"] == str(appointment.id))
    for key in ("patient_name", "doctor_name", "department_name", "appointment_date", "appointment_time", "status",
                "created_at", "updated_at", "doctor_id", "department_id"):
        assert key in item
    assert item["appointment_time"] == "10:00"
    assert client.get("/api/hospitals/appointments/", {"department_id": other_department.pk}).json()[
        "appointments"][0]["id"] == str(second.id)
    assert client.get("/api/hospitals/appointments/", {"status": "confirmed"}).json()["total_count"] == 1
    assert client.get("/api/hospitals/appointments/", {"doctor_id": str(doctor.pk)}).json()["total_count"] == 1
    day = future_slot(hospital).date().isoformat()
    assert client.get("/api/hospitals/appointments/", {"date_from": day, "date_to": day}).json()["total_count"] == 2
    assert client.get("/api/hospitals/appointments/", {"date_to": "2000-01-01"}).json()["total_count"] == 0
    assert client_for(doctor).get("/api/hospitals/appointments/").status_code == 403
    assert client_for(None).get("/api/hospitals/appointments/").status_code == 401
    other_admin = make_hospital_admin(hospital=HospitalFactory())
    assert client_for(other_admin).get("/api/hospitals/appointments/").json()["total_count"] == 0


@pytest.mark.parametrize("query", ["department_id=99999999999999999999", "department_id=0", "department_id=x"])
def test_o1_filter_out_of_range_is_a_400(hospital_admin, query):
    """Beyond a bigint (which SQLite cannot even bind) or not a number: refused before the query."""
    response = client_for(hospital_admin).get(f"/api/hospitals/appointments/?{query}")
    assert response.status_code == 400 and response.json()["message"]


# --- Notes, referral, prescriptions ------------------------------------------------------------------
def test_notes_are_stamped_on_the_hospitals_clock(hospital, department, patient, doctor):
    """A note says when it was written in the time the hospital's doctors read the day in, with
    the zone's name, not in UTC."""
    import re
    from datetime import datetime

    from django.utils import timezone

    hospital.time_zone = "Asia/Tokyo"
    hospital.save(update_fields=["time_zone"])
    department.refresh_from_db()
    appointment = book(patient, department, future_slot(hospital, at="10:00"))
    put_in(S.CONFIRMED, appointment, doctor)

    before = timezone.now()
    response = client_for(doctor).post(_url(appointment, "add-notes/"), {"notes": "BP 120/80"}, format="json")
    assert response.status_code == 200, response.json()
    notes = client_for(doctor).get(_url(appointment, "notes/")).json()["doctor_notes"]
    stamp = re.fullmatch(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d) JST\] BP 120/80", notes)
    assert stamp, notes
    written = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M").replace(tzinfo=slot_grid.hospital_zone(hospital))
    assert abs((written - before).total_seconds()) < 120


def test_notes_add_get_edit_delete(appointment, doctor):
    client = client_for(doctor)
    put_in(S.CONFIRMED, appointment, doctor)
    assert client.post(_url(appointment, "add-notes/"), {"notes": ""}, format="json").status_code == 400
    assert client.post(_url(appointment, "add-notes/"), {"notes": "BP 120/80"}, format="json").status_code == 200
    notes = client.get(_url(appointment, "notes/")).json()
    assert "BP 120/80" in notes["doctor_notes"]
    edited = client.put(_url(appointment, "notes/edit/"), {"general_notes": "Fasting", "doctor_notes": "Rewritten"},
                        format="json").json()
    assert (edited["general_notes"], edited["doctor_notes"]) == ("Fasting", "Rewritten")
    # The notes tab shows the general notes from ``notes``.
    assert client.get(_url(appointment, "notes/")).json()["notes"] == "Fasting"
    cleared = client.delete(_url(appointment, "notes/delete/")).json()
    assert (cleared["general_notes"], cleared["doctor_notes"]) == ("", "")


def test_notes_refused_on_cancelled(appointment, doctor):
    put_in(S.CANCELLED, appointment, doctor)
    response = client_for(doctor).post(_url(appointment, "add-notes/"), {"notes": "late"}, format="json")
    assert response.status_code == 409


def test_refer(appointment, doctor, hospital):
    target = DepartmentFactory(name="Cardiology")
    client = client_for(doctor)
    missing = client.post(_url(appointment, "refer/"), {"referral_reason": "Chest pain"}, format="json")
    assert missing.status_code == 400
    wrong = client.post(_url(appointment, "refer/"), {"referred_to_hospital": hospital.pk,
                                                     "referred_to_department": target.pk,
                                                     "referral_reason": "Chest pain"}, format="json")
    assert wrong.status_code == 400, "department must belong to the hospital"
    ok = client.post(_url(appointment, "refer/"), {"referred_to_hospital": target.hospital_id,
                                                  "referred_to_department": target.pk,
                                                  "referral_reason": "Chest pain"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["appointment"]["referral"]["referred_to_department"] == target.pk


def test_prescriptions_issue_and_view(appointment, doctor, django_capture_on_commit_callbacks):
    client = client_for(doctor)
    early = client.post(_url(appointment, "prescriptions/"), {"medications": [MEDICATION]}, format="json")
    assert early.status_code == 409, "not before the doctor has accepted the appointment"
    put_in(S.IN_PROGRESS, appointment, doctor)
    assert client.post(_url(appointment, "prescriptions/"), {"medications": []}, format="json").status_code == 400
    incomplete = {k: v for k, v in MEDICATION.items() if k != "route"}
    assert client.post(_url(appointment, "prescriptions/"), {"medications": [incomplete]},
                       format="json").status_code == 400
    issued = []
    prescription_issued.connect(lambda prescription, **kw: issued.append(prescription.pk), weak=False,
                                dispatch_uid="t-issued")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(_url(appointment, "prescriptions/"), {
                "medications": [MEDICATION, {**MEDICATION, "medication_name": "", "name": "Ibuprofen",
                                             "patient_instructions": "", "instructions": "With food"}]},
                format="json")
    finally:
        prescription_issued.disconnect(dispatch_uid="t-issued")
    assert response.status_code == 201, response.json()
    prescription = Prescription.objects.get()
    assert issued == [prescription.pk]
    assert prescription.prescriber_id == doctor.pk and prescription.patient_id == appointment.patient_id
    assert [m["medication_name"] for m in prescription.medications] == ["Paracetamol", "Ibuprofen"]
    assert prescription.medications[1]["patient_instructions"] == "With food"
    assert prescription.expires_at > prescription.issued_at
    view = client.get(_url(appointment, "prescriptions/view/")).json()
    assert view["medication_count"] == 2 and view["appointment_id"] == appointment.appointment_id
    patient_view = client_for(appointment.patient).get(f"/api/appointments/{appointment.id}/").json()
    listed = patient_view["medical_summary"]["prescriptions"]
    # The summary lists each as "name (dosage) - instructions".
    assert [(m["name"], m["dosage"], m["instructions"]) for m in listed] == [
        ("Paracetamol", MEDICATION["dosage"], MEDICATION["patient_instructions"]),
        ("Ibuprofen", MEDICATION["dosage"], "With food"),
    ]


# --- Privacy: other hospital's doctor, other department's doctor, patients -------------------------
DOCTOR_ENDPOINTS = [
    ("get", "/api/doctor-appointments/{id}/", None),
    ("patch", "/api/doctor-appointments/{id}/status/", {"status": "confirmed"}),
    ("post", "/api/appointments/{ref}/accept/", {}),
    ("post", "/api/appointments/{ref}/start-consultation/", {}),
    ("post", "/api/appointments/{ref}/complete-consultation/", {"notes": "x"}),
    ("post", "/api/appointments/{ref}/add-notes/", {"notes": "x"}),
    ("post", "/api/appointments/{ref}/cancel/", {"cancellation_reason": "x"}),
    ("post", "/api/appointments/{ref}/no-show/", {}),
    ("post", "/api/appointments/{ref}/prescriptions/", {"medications": [MEDICATION]}),
    ("get", "/api/appointments/{ref}/prescriptions/view/", None),
    ("get", "/api/appointments/{ref}/notes/", None),
    ("put", "/api/appointments/{ref}/notes/edit/", {"general_notes": "x"}),
    ("delete", "/api/appointments/{ref}/notes/delete/", None),
    ("post", "/api/appointments/{ref}/refer/", {"referred_to_department": 1, "referral_reason": "x"}),
    ("get", "/api/appointments/{ref}/", None),
    ("get", "/api/appointments/{ref}/summary/", None),
]


@pytest.mark.parametrize(("method", "template", "data"), DOCTOR_ENDPOINTS)
def test_doctor_endpoints_are_private(method, template, data, appointment, hospital):
    url = template.format(id=appointment.id, ref=appointment.appointment_id)
    other_hospital_doctor = make_doctor(department=DepartmentFactory())
    other_department_doctor = make_doctor(department=DepartmentFactory(hospital=hospital))
    other_patient = make_patient(hospital=hospital)
    for stranger in (other_hospital_doctor, other_department_doctor, other_patient):
        assert_private(url, stranger=stranger, method=method, data=data)
    appointment.refresh_from_db()
    assert appointment.status == S.PENDING and not appointment.doctor_notes and not appointment.general_notes


def test_patient_cannot_use_doctor_actions(appointment, patient):
    client = client_for(patient)
    assert client.post(_url(appointment, "accept/"), {}, format="json").status_code == 404
    assert client.get("/api/doctor-appointments/").json() == []
    assert client.get(_url(appointment, "notes/")).status_code == 404


def test_assigned_doctor_keeps_access_after_moving_department(appointment, doctor, hospital):
    put_in(S.CONFIRMED, appointment, doctor)
    staff = doctor.staff
    staff.department = DepartmentFactory(hospital=hospital)
    staff.save()
    assert client_for(doctor).get(f"/api/doctor-appointments/{appointment.id}/").status_code == 200


def test_doctor_detail_nests_the_appointment_and_patient_for_the_reschedule_page(appointment, doctor, patient,
                                                                                department):
    """/professional/appointments/reschedule/:id reads ``appointment_details`` and ``patient_details.name``."""
    put_in("confirmed", appointment, doctor)
    url = f"/api/doctor-appointments/{appointment.appointment_id}/"
    body = client_for(doctor).get(url).json()
    nested = body["appointment_details"]
    assert nested["appointment_id"] == appointment.appointment_id
    assert nested["appointment_date"] == body["appointment_date"]
    assert nested["formatted_date"] == body["formatted_date"] and nested["formatted_time"] == "10:00 AM"
    assert nested["hospital_name"] == department.hospital.name
    assert nested["department_name"] == department.name
    assert body["patient_details"]["name"] == patient.full_name
    assert body["patient_name"] == patient.full_name  # the flat fields the detail page reads stay
    # the detail page shows the address and warns where notifications may not arrive; lists leave it out
    assert body["patient_email"] == patient.email and body["email_verified"] is patient.email_verified
    listed = client_for(doctor).get("/api/doctor-appointments/").json()
    assert listed and all("patient_email" not in item for item in listed)

    stranger = make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))
    assert client_for(stranger).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 401
    assert client_for(patient).get(url).status_code == 404


def test_a_hospital_admin_reads_the_list_not_the_clinical_detail(appointment, doctor, hospital_admin):
    """O1 lists her hospital's appointments; the complaint, history, notes, summary and prescriptions
    behind them are for the patient and her doctors: 404, as the notes already were."""
    admin = client_for(hospital_admin)
    listed = admin.get("/api/hospitals/appointments/").json()["appointments"]
    assert appointment.appointment_id in {row["id"] for row in listed} | {row.get("appointment_id") for row in listed}
    for suffix in ("", "summary/", "prescriptions/view/", "notes/"):
        assert admin.get(_url(appointment, suffix)).status_code == 404, suffix
        assert client_for(doctor).get(_url(appointment, suffix)).status_code == 200, suffix


def test_a_hospital_admin_reads_no_clinical_detail_in_the_bare_list(appointment, doctor, hospital_admin):
    """``GET /api/appointments/`` for a hospital admin lists her hospital's appointments as O1 does:
    whose and when, not the complaint, history, allergies, medicines, notes or diagnosis."""
    Appointment.objects.filter(pk=appointment.pk).update(
        chief_complaint="Chest pain", symptoms_data=[{"symptom_name": "Cough"}], medical_history="Asthma",
        allergies="Penicillin", current_medications="Salbutamol", general_notes="Seen before",
        doctor_notes="Refer to cardiology", medical_summary={"diagnosis": "Angina"},
        cancellation_reason="Admitted with pneumonia")
    response = client_for(hospital_admin).get("/api/appointments/")
    assert response.status_code == 200
    (item,) = response.json()
    assert item["appointment_id"] == appointment.appointment_id
    assert item["patient_name"] == appointment.patient.full_name and item["status"] == appointment.status
    for secret in ("Chest pain", "Cough", "Asthma", "Penicillin", "Salbutamol", "Seen before", "Refer to cardiology",
                   "Angina", "pneumonia"):
        assert secret not in response.content.decode(), secret
    doctors_item = client_for(doctor).get("/api/appointments/").json()[0]
    assert doctors_item["allergies"] == "Penicillin" and doctors_item["chief_complaint"] == "Chest pain"


def test_a_patient_cannot_move_a_confirmed_appointment_once_its_time_has_come(appointment, doctor, patient,
                                                                                department):
    """The consultation may have taken place without being started in the app: moving it would give
    the patient a second one for the fee and leave the doctor unable to mark it completed."""
    put_in(S.CONFIRMED, appointment, doctor)
    move_to_past(appointment, hours=0)
    before = Appointment.objects.get(pk=appointment.pk)
    response = client_for(patient).post(_url(appointment, "reschedule/"),
                                        {"appointment_date": iso_z(future_slot(department.hospital, days=3))},
                                        format="json")
    assert response.status_code == 409 and response.json()["code"] == "start_passed", response.json()
    after = Appointment.objects.get(pk=appointment.pk)
    assert (after.status, after.start, after.slot_id, after.reschedule_count) == (
        S.CONFIRMED, before.start, before.slot_id, 0)
    assert Slot.objects.get(pk=before.slot_id).in_use == 1 and Slot.objects.count() == 1
    done = client_for(doctor).post(_url(appointment, "complete-consultation/"), {"notes": "Seen, resolved"},
                                   format="json")
    assert done.status_code == 200 and done.json()["appointment"]["status"] == "completed"


def test_a_patient_still_moves_a_confirmed_appointment_before_its_time_or_a_pending_one_after(
        appointment, doctor, patient, department, other_patient):
    put_in(S.CONFIRMED, appointment, doctor)
    response = client_for(patient).post(_url(appointment, "reschedule/"),
                                        {"appointment_date": iso_z(future_slot(department.hospital, days=3))},
                                        format="json")
    assert response.status_code == 200, response.json()
    waiting = book(other_patient, department, future_slot(department.hospital, at="11:00"))
    move_to_past(waiting)  # nobody accepted it in time: the patient may choose another time
    response = client_for(other_patient).post(_url(waiting, "reschedule/"),
                                              {"appointment_date": iso_z(future_slot(department.hospital, days=4))},
                                              format="json")
    assert response.status_code == 200, response.json()


def test_a_patient_cannot_cancel_a_confirmed_appointment_once_its_time_has_come(
        appointment, doctor, patient, department, django_capture_on_commit_callbacks):
    """The doctor proposed the time (so a patient's cancellation is refunded in full) and the
    consultation took place without being started in the app: cancelling it afterwards would refund
    a consultation she had and leave the doctor unable to record it."""
    response = client_for(doctor).post(_url(appointment, "accept/"), {
        "proposed_time": future_slot(department.hospital, days=2, at="11:00").strftime("%Y-%m-%dT%H:%M:%S")},
        format="json")
    assert response.status_code == 200 and Appointment.objects.get(pk=appointment.pk).time_set_by_hospital
    move_to_past(Appointment.objects.get(pk=appointment.pk), hours=0)
    with django_capture_on_commit_callbacks() as after_commit:  # no refund asked for, no email
        refused = client_for(patient).post(_url(appointment, "cancel/"), {"reason": "Changed my mind"}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "start_passed", refused.json()
    assert after_commit == []
    kept = Appointment.objects.get(pk=appointment.pk)
    assert kept.status == S.CONFIRMED and kept.cancelled_at is None
    assert Slot.objects.get(pk=kept.slot_id).in_use == 1
    done = client_for(doctor).post(_url(appointment, "complete-consultation/"), {"notes": "Seen"}, format="json")
    assert done.status_code == 200 and done.json()["appointment"]["status"] == "completed"


def test_after_its_time_a_pending_appointment_is_still_cancelled_by_the_patient_and_a_confirmed_one_by_the_doctor(
        appointment, doctor, patient, other_patient, department):
    move_to_past(appointment)  # nobody accepted it
    gave_up = client_for(patient).post(_url(appointment, "cancel/"), {"reason": "Nobody saw me"}, format="json")
    assert gave_up.status_code == 200 and gave_up.json()["appointment"]["status"] == "cancelled"
    other = book(other_patient, department, future_slot(department.hospital, at="11:00"))
    put_in(S.CONFIRMED, other, doctor)
    move_to_past(other)
    by_doctor = client_for(doctor).post(_url(other, "cancel/"), {"cancellation_reason": "Clinic closed"},
                                        format="json")
    assert by_doctor.status_code == 200 and by_doctor.json()["appointment"]["status"] == "cancelled"


def test_the_reschedule_pages_date_and_time_move_the_appointment_there(appointment, doctor, department,
                                                                      django_capture_on_commit_callbacks):
    """The doctor's reschedule page sends ``rescheduled`` with the date and time she chose in its notes
    ("Rescheduled to 2025-03-04 at 14:30", the hospital's clock): the appointment moves there and the
    patient is told, rather than being asked to choose a time on a page that cannot."""
    put_in(S.CONFIRMED, appointment, doctor)
    old_slot = Appointment.objects.get(pk=appointment.pk).slot_id
    new_start = future_slot(department.hospital, days=3, at="14:30")
    url = f"/api/doctor-appointments/{appointment.id}/status/"
    off_grid = client_for(doctor).patch(url, {"status": "rescheduled",
                                              "notes": f"Rescheduled to {new_start:%Y-%m-%d} at 14:10"}, format="json")
    assert off_grid.status_code == 400 and off_grid.json()["code"] == "invalid_slot"
    assert Appointment.objects.get(pk=appointment.pk).status == S.CONFIRMED

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(doctor).patch(url, {"status": "rescheduled",
                                                  "notes": f"Rescheduled to {new_start:%Y-%m-%d} at 14:30"},
                                            format="json")
    assert response.status_code == 200, response.json()
    body = response.json()["appointment"]
    assert (body["status"], body["date"], body["time"]) == ("confirmed", new_start.date().isoformat(), "14:30")
    moved = Appointment.objects.get(pk=appointment.pk)
    assert moved.time_set_by_hospital and moved.doctor_id == doctor.pk and moved.reschedule_count == 1
    assert "Rescheduled to" in moved.doctor_notes
    assert Slot.objects.get(pk=old_slot).in_use == 0 and Slot.objects.get(pk=moved.slot_id).in_use == 1
    assert mail.outbox[-1].subject == "Your PHB appointment was rescheduled"
    assert "14:30" in mail.outbox[-1].body

    asked = client_for(doctor).patch(url, {"status": "rescheduled", "notes": "Clinic closed that week"}, format="json")
    assert asked.status_code == 200 and asked.json()["appointment"]["status"] == "rescheduled"
