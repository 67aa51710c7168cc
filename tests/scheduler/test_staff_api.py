"""The staff roster page's endpoints, doctors' availability switch and the roster API."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
from django.db import connection

from accounts.models import Role, User
from appointments import slot_grid
from appointments.models import RosterException, RosterSession, StaffAvailability
from tests.appointments.helpers import book, future_slot
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import assert_private, client_for
from tests.scheduler.helpers import roster

pytestmark = pytest.mark.django_db


def test_staff_list_shows_roster_hours_and_next_slot(hospital, department, hospital_admin):
    doctor = roster(department, doctors=1, start="09:00", end="13:00")[0]
    response = client_for(hospital_admin).get("/api/staff/")
    assert response.status_code == 200
    body = response.json()
    row = next(r for r in body["staff_members"] if r["user_id"] == str(doctor.pk))
    assert body["total_staff"] == len(body["staff_members"]) == 2
    assert row["role"] == "doctor" and row["role_display"] == "Doctor"
    assert row["department_name"] == department.name
    status = row["availability_status"]
    assert status["consultation_hours_start"] == "09:00:00" and status["consultation_hours_end"] == "13:00:00"
    assert status["next_available_slot"] is not None and row["is_available"] is True
    assert [s["weekday"] for s in row["roster"]] == list(range(7))
    admin_row = next(r for r in body["staff_members"] if r["user_id"] == str(hospital_admin.pk))
    assert admin_row["availability_status"]["consultation_hours_start"] is None


def test_staff_list_names_each_doctors_specialization(department, hospital_admin):
    """Staff Management's search matches a member's ``specialization``."""
    doctor = make_doctor(department=department)
    doctor.staff.specialization = "Family Medicine"
    doctor.staff.save(update_fields=["specialization"])
    rows = {r["user_id"]: r for r in client_for(hospital_admin).get("/api/staff/").json()["staff_members"]}
    assert rows[str(doctor.pk)]["specialization"] == "Family Medicine"
    assert rows[str(hospital_admin.pk)]["specialization"] is None


def test_staff_list_is_scoped_to_the_callers_hospital(hospital, department, hospital_admin, patient):
    roster(department, doctors=1)
    elsewhere = make_hospital_admin(hospital=HospitalFactory())
    seen = [r["user_id"] for r in client_for(elsewhere).get("/api/staff/").json()["staff_members"]]
    assert seen == [str(elsewhere.pk)]
    refused = client_for(patient).get("/api/staff/")
    assert refused.status_code == 403 and "message" in refused.json()
    assert client_for(None).get("/api/staff/").status_code == 401


def test_admin_adds_a_doctor(hospital, department, hospital_admin):
    payload = {"email": "new.doc@example.test", "password": "a-Long-pass-2931", "first_name": "Ada",
               "last_name": "Obi", "phone": "08030000000", "role": "doctor", "department": department.pk}
    response = client_for(hospital_admin).post("/api/staff/", payload, format="json")
    assert response.status_code == 201, response.json()
    user = User.objects.get(email="new.doc@example.test")
    assert user.role == Role.DOCTOR and user.otp_required_for_login and user.staff.hospital == hospital
    assert response.json()["staff_member"]["full_name"] == "Ada Obi"
    again = client_for(hospital_admin).post("/api/staff/", payload, format="json")
    assert again.status_code == 409 and "message" in again.json()


def test_the_roster_forms_doctor_details_are_kept(hospital, department, hospital_admin):
    """What StaffRosterPage sends for a doctor: her birth date and licence details are stored, and
    her professional registration (the frontend's professional view) names them."""
    payload = {"email": "kola@example.test", "password": "Str0ng-Passw0rd!kola", "first_name": "Kola",
               "last_name": "Ade", "phone": "08031234567", "role": "doctor", "department": department.pk,
               "date_of_birth": "1980-01-02", "gender": "male", "preferred_language": "en",
               "doctor_profile": {"specialization": "Cardiology", "medical_license_number": "MDCN-751",
                                  "license_expiry_date": "2028-01-01", "years_of_experience": 7}}
    response = client_for(hospital_admin).post("/api/staff/", payload, format="json")
    assert response.status_code == 201, response.json()
    user = User.objects.get(email="kola@example.test")
    assert user.date_of_birth.isoformat() == "1980-01-02"
    member = user.staff
    assert (member.license_number, member.specialization) == ("MDCN-751", "Cardiology")
    assert member.license_expiry_date.isoformat() == "2028-01-01" and member.years_of_experience == 7
    registration = client_for(user).get("/api/registry/my-info/").json()
    assert registration["license_number"] == "MDCN-751" and registration["specialization"] == "Cardiology"


def test_a_doctor_added_without_details_is_added(department, hospital_admin):
    payload = {"email": "bare@example.test", "password": "a-Long-pass-2931", "first_name": "A", "last_name": "B",
               "role": "doctor", "department": department.pk,
               "doctor_profile": {"specialization": "", "medical_license_number": "MDCN-9",
                                  "license_expiry_date": "", "years_of_experience": ""}}
    assert client_for(hospital_admin).post("/api/staff/", payload, format="json").status_code == 201
    member = User.objects.get(email="bare@example.test").staff
    assert member.license_number == "MDCN-9" and member.license_expiry_date is None
    assert member.years_of_experience is None and member.user.date_of_birth is None


@pytest.mark.parametrize("change", [{"role": "nurse"}, {"department": 999999}, {"password": "short"},
                                    {"date_of_birth": "2030-01-01"}, {"date_of_birth": "not a date"},
                                    {"doctor_profile": {"years_of_experience": -1}},
                                    {"doctor_profile": {"license_expiry_date": "soon"}},
                                    {"doctor_profile": "MDCN-1"},
                                    {"email": "nope"}, {"first_name": "", "last_name": ""}])
def test_bad_staff_creation_gets_a_clear_error(department, hospital_admin, change):
    payload = {"email": "x.doc@example.test", "password": "a-Long-pass-2931", "first_name": "A", "last_name": "B",
               "role": "doctor", "department": department.pk, **change}
    response = client_for(hospital_admin).post("/api/staff/", payload, format="json")
    assert response.status_code in (400, 404) and response.json()["message"]
    assert not User.objects.filter(email="x.doc@example.test").exists()


def test_only_a_hospital_admin_adds_staff(department, doctor):
    response = client_for(doctor).post("/api/staff/", {"email": "y@example.test", "role": "doctor"}, format="json")
    assert response.status_code == 403


def test_department_of_another_hospital_is_refused(hospital_admin):
    other = DepartmentFactory(hospital=HospitalFactory())
    payload = {"email": "z.doc@example.test", "password": "a-Long-pass-2931", "first_name": "A", "last_name": "B",
               "role": "doctor", "department": other.pk}
    assert client_for(hospital_admin).post("/api/staff/", payload, format="json").status_code == 404


def test_doctor_switches_her_availability(department):
    doctor = roster(department, doctors=1)[0]
    client = client_for(doctor)
    response = client.post("/api/staff/availability/", {"is_available": False}, format="json")
    assert response.status_code == 200 and response.json()["is_available"] is False
    assert StaffAvailability.objects.get(user=doctor).is_available is False
    bad = client.post("/api/staff/availability/", {"is_available": "maybe"}, format="json")
    assert bad.status_code == 400 and bad.json()["message"]


def test_availability_is_for_doctors(patient, hospital_admin):
    assert client_for(patient).post("/api/staff/availability/", {"is_available": True},
                                    format="json").status_code == 403
    assert client_for(None).post("/api/staff/availability/", {"is_available": True},
                                 format="json").status_code == 401


def test_admin_manages_sessions(department, hospital_admin):
    doctor = make_doctor(department=department)
    client = client_for(hospital_admin)
    payload = {"doctor_id": str(doctor.pk), "department_id": department.pk, "weekday": 0, "start_time": "09:00",
               "end_time": "12:00", "patients_per_slot": 2}
    created = client.post("/api/staff/roster/sessions/", payload, format="json")
    assert created.status_code == 201, created.json()
    overlap = client.post("/api/staff/roster/sessions/", {**payload, "start_time": "11:00", "end_time": "13:00"},
                          format="json")
    assert overlap.status_code == 409
    off_grid = client.post("/api/staff/roster/sessions/", {**payload, "weekday": 1, "start_time": "09:10"},
                           format="json")
    assert off_grid.status_code == 400 and off_grid.json()["message"]
    listed = client.get("/api/staff/roster/sessions/", {"doctor_id": str(doctor.pk)}).json()["sessions"]
    assert [s["patients_per_slot"] for s in listed] == [2]
    session_id = created.json()["session"]["id"]
    assert_private(f"/api/staff/roster/sessions/{session_id}/", method="delete",
                   stranger=make_hospital_admin(hospital=HospitalFactory()))
    assert client.delete(f"/api/staff/roster/sessions/{session_id}/").status_code == 200
    assert not RosterSession.objects.filter(pk=session_id).exists()


def test_admin_manages_exceptions(department, hospital_admin):
    doctor = roster(department, doctors=1)[0]
    client = client_for(hospital_admin)
    leave = client.post("/api/staff/roster/exceptions/", {"doctor_id": str(doctor.pk), "kind": "leave",
                                                           "date": "2031-03-03"}, format="json")
    assert leave.status_code == 201, leave.json()
    extra_without_times = client.post("/api/staff/roster/exceptions/", {
        "doctor_id": str(doctor.pk), "kind": "extra", "date": "2031-03-04", "department_id": department.pk},
        format="json")
    assert extra_without_times.status_code == 400
    row_id = leave.json()["exception"]["id"]
    assert_private(f"/api/staff/roster/exceptions/{row_id}/", method="delete",
                   stranger=make_hospital_admin(hospital=HospitalFactory()))
    assert client.get("/api/staff/roster/exceptions/").json()["exceptions"][0]["kind"] == "leave"
    assert client.delete(f"/api/staff/roster/exceptions/{row_id}/").status_code == 200
    assert not RosterException.objects.exists()


@pytest.mark.parametrize("path", ["sessions", "exceptions"])
@pytest.mark.parametrize("per_slot", ["two", 1.5, True, 0, 21, [2], {"n": 2}, "1e400"])
def test_a_bad_patients_per_slot_is_a_400(department, hospital_admin, path, per_slot):
    doctor = make_doctor(department=department)
    body = {"doctor_id": str(doctor.pk), "department_id": department.pk, "weekday": 0, "kind": "extra",
            "date": "2031-03-04", "start_time": "09:00", "end_time": "12:00", "patients_per_slot": per_slot}
    raw = json.dumps(body).replace('"1e400"', "1e400")  # a JSON number Python reads as infinity
    response = client_for(hospital_admin).generic("POST", f"/api/staff/roster/{path}/", raw,
                                                  content_type="application/json")
    assert response.status_code == 400, response.content
    assert "patients_per_slot" in response.json()["message"]
    assert not RosterSession.objects.exists() and not RosterException.objects.exists()


@pytest.mark.parametrize("path", ["sessions", "exceptions"])
@pytest.mark.parametrize("start,end", [("09:00+01:00", "12:00"), ("09:00Z", "12:00Z"), ("09:00:00.5", "12:00")])
def test_a_roster_time_with_an_offset_or_a_fraction_is_a_400(department, hospital_admin, path, start, end):
    """Roster times are the hospital's wall clock: an offset (which the database cannot keep, and
    which cannot be compared with a time without one) or a fraction of a second is refused with a
    message, not a 500, and nothing is stored."""
    doctor = make_doctor(department=department)
    body = {"doctor_id": str(doctor.pk), "department_id": department.pk, "weekday": 0, "kind": "extra",
            "date": "2031-03-04", "start_time": start, "end_time": end}
    response = client_for(hospital_admin).post(f"/api/staff/roster/{path}/", body, format="json")
    assert response.status_code == 400, response.content
    assert "start_time" in response.json()["message"] or "end_time" in response.json()["message"]
    assert not RosterSession.objects.exists() and not RosterException.objects.exists()


@pytest.mark.parametrize("path", ["sessions", "exceptions"])
@pytest.mark.parametrize("department_id", ["1e400", "true"])
def test_a_department_id_that_is_not_a_whole_number_is_not_found(department, hospital_admin, path, department_id):
    """A JSON number Python reads as infinity was a 500; ``true`` was read as department 1 (whichever
    hospital's that is)."""
    doctor = make_doctor(department=department)
    body = {"doctor_id": str(doctor.pk), "department_id": "@", "weekday": 0, "kind": "extra", "date": "2031-03-04",
            "start_time": "09:00", "end_time": "12:00"}
    raw = json.dumps(body).replace('"@"', department_id)
    response = client_for(hospital_admin).generic("POST", f"/api/staff/roster/{path}/", raw,
                                                  content_type="application/json")
    assert response.status_code == 404, response.content
    assert response.json()["message"] == "Department not found in your hospital."
    assert not RosterSession.objects.exists() and not RosterException.objects.exists()


def test_roster_of_a_doctor_in_another_hospital_is_not_found(department, hospital_admin):
    stranger_doctor = make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))
    response = client_for(hospital_admin).post("/api/staff/roster/sessions/", {
        "doctor_id": str(stranger_doctor.pk), "department_id": department.pk, "weekday": 0, "start_time": "09:00",
        "end_time": "10:00"}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize("days_ahead", [0, 3, 6])
def test_the_next_free_place_costs_the_same_however_far_ahead_it_is(department, days_ahead):
    """A doctor rostered on one weekday only, asked on each day of the week before: the answer is that
    weekday's first slot, read in the same few statements, none of them twice."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from appointments import staff
    from tests.helpers import repeated_statements

    doctor = make_doctor(department=department)
    zone = ZoneInfo(department.hospital.time_zone)
    today = datetime(2031, 3, 3, 8, 0, tzinfo=zone)  # a Monday, before the day's slots
    target = (today + timedelta(days=days_ahead)).date()
    RosterSession.objects.create(doctor=doctor, department=department, weekday=target.weekday(),
                                 start_time=time(9), end_time=time(12))

    with CaptureQueriesContext(connection) as queries:
        found = staff.next_free_slots(department=department, doctor_ids=[doctor.pk], now=today)

    assert found == {doctor.pk: datetime.combine(target, time(9))}
    assert len(queries) <= 5 and repeated_statements(queries) == []


def test_a_doctor_is_not_rostered_in_two_departments_at_once(hospital, department, hospital_admin):
    """An extra session in another department while her weekly session runs would count her places
    in both departments: the second department sold a place no doctor had. It is refused unless her
    leave frees that time; and a weekly session over an extra session elsewhere is refused too."""
    other = DepartmentFactory(hospital=hospital)
    (doctor,) = roster(department, doctors=1)  # every day, 09:00 to 17:00
    roster(other, doctors=1, start="14:00", end="17:00")
    day = future_slot(hospital).date()
    client = client_for(hospital_admin)

    def extra(start, end, where=other):
        return client.post("/api/staff/roster/exceptions/", {
            "doctor_id": str(doctor.pk), "kind": "extra", "date": day.isoformat(), "start_time": start,
            "end_time": end, "department_id": where.pk}, format="json")

    refused = extra("11:30", "13:00")
    assert refused.status_code == 409, refused.json()
    assert refused.json()["code"] == "session_overlap" and refused.json()["message"]
    assert not RosterException.objects.exists()
    assert extra("17:00", "18:00").status_code == 201  # after her weekly session
    assert extra("10:00", "12:00", where=department).status_code == 201  # her own department: no double place
    assert client.post("/api/staff/roster/exceptions/", {"doctor_id": str(doctor.pk), "kind": "leave",
                                                          "date": day.isoformat(), "start_time": "09:00",
                                                          "end_time": "12:00"}, format="json").status_code == 201
    assert extra("09:00", "12:30").status_code == 409  # 12:00 to 12:30 is still hers in the first department
    assert extra("09:00", "12:00").status_code == 201  # on leave there: she works in the other one
    assert RosterException.objects.filter(kind="extra", department=other).count() == 2

    assert book(make_patient(hospital=hospital), department, datetime.combine(day, time(12))).doctor_id == doctor.pk
    noon_elsewhere = slot_grid.slots_of_day(department=other, day=day)[6]  # 12:00: no place sold twice
    assert (noon_elsewhere.start.hour, noon_elsewhere.capacity) == (12, 0)

    later = make_doctor(department=department)
    weekly = client.post("/api/staff/roster/sessions/", {
        "doctor_id": str(later.pk), "department_id": department.pk, "weekday": day.weekday(),
        "start_time": "09:00", "end_time": "10:00"}, format="json")
    assert weekly.status_code == 201
    RosterException.objects.create(doctor=later, kind="extra", date=day + timedelta(days=7), department=other,
                                   start_time=time(14), end_time=time(15), hospital=hospital)
    overlapping = client.post("/api/staff/roster/sessions/", {
        "doctor_id": str(later.pk), "department_id": department.pk, "weekday": day.weekday(),
        "start_time": "14:30", "end_time": "16:00"}, format="json")
    assert overlapping.status_code == 409, overlapping.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
def test_concurrent_sessions_of_one_doctor_in_different_departments_have_one_winner():
    """Each roster change of a doctor locks her row before it checks her other sessions: of
    overlapping extra and weekly sessions sent together for different departments, one is kept."""
    from appointments import staff
    from phb.api.errors import ApiError
    from tests.concurrency import race

    hospital = HospitalFactory()
    departments = [DepartmentFactory(hospital=hospital) for _ in range(6)]
    admin = make_hospital_admin(hospital=hospital)
    doctor = make_doctor(department=departments[0])
    day = future_slot(hospital, days=2).date()

    def attempt(index):
        department = departments[index // 2]
        try:
            if index % 2:
                staff.session_create(created_by=admin, data={
                    "doctor_id": str(doctor.pk), "department_id": department.pk, "weekday": day.weekday(),
                    "start_time": "10:00", "end_time": "11:00"})
            else:
                staff.exception_create(created_by=admin, data={
                    "doctor_id": str(doctor.pk), "kind": "extra", "date": day.isoformat(), "start_time": "10:30",
                    "end_time": "11:30", "department_id": department.pk})
        except ApiError as exc:
            return exc.code
        return "kept"

    outcomes = race(attempt, range(12))
    assert set(outcomes) <= {"kept", "session_overlap"}, outcomes
    kept = list(RosterSession.objects.filter(doctor=doctor).values_list("department_id", flat=True)) + list(
        RosterException.objects.filter(doctor=doctor).values_list("department_id", flat=True))
    assert len(set(kept)) == 1, outcomes
