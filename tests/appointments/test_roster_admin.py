"""Roster sessions saved in the Django admin follow the hospital admin's API rule: a doctor is
never rostered in two departments at once (``appointments.rosters.session_clash`` and
``extra_clash``, one rule for both), and only a doctor of the department's hospital is rostered."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import connection

from appointments.models import RosterException, RosterSession
from tests.appointments.helpers import local_today
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_patient

pytestmark = pytest.mark.django_db

SESSIONS = "/admin/appointments/rostersession/"
EXCEPTIONS = "/admin/appointments/rosterexception/"


def _session_form(doctor, department, *, weekday=0, start="09:00", end="12:00", active=True, per_slot=1) -> dict:
    form = {"doctor": str(doctor.pk), "department": str(department.pk), "weekday": str(weekday),
            "start_time": start, "end_time": end, "patients_per_slot": str(per_slot)}
    if active:
        form["is_active"] = "on"
    return form


def _errors(response) -> list[str]:
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    form = response.context["adminform"].form
    return [error for errors in form.errors.values() for error in errors]


@pytest.fixture
def departments(hospital):
    return DepartmentFactory(hospital=hospital), DepartmentFactory(hospital=hospital)


def test_the_admin_refuses_a_weekly_session_overlapping_the_doctors_session_in_another_department(
        staff_client, departments):
    first, second = departments
    doctor = make_doctor(department=first)
    RosterSession.objects.create(doctor=doctor, department=first, weekday=0, start_time=time(9), end_time=time(12))

    refused = staff_client.post(f"{SESSIONS}add/", _session_form(doctor, second, start="11:00", end="13:00"))
    assert _errors(refused) == ["This doctor already has a session at that time."]
    assert RosterSession.objects.filter(department=second).count() == 0

    saved = staff_client.post(f"{SESSIONS}add/", _session_form(doctor, second, start="12:00", end="13:00"))
    assert saved.status_code == 302
    assert RosterSession.objects.filter(department=second).count() == 1
    # Inactive, a session counts nowhere: kept as it is.
    kept = staff_client.post(f"{SESSIONS}add/", _session_form(doctor, second, start="10:00", end="11:00",
                                                               active=False))
    assert kept.status_code == 302


def test_the_admins_change_form_refuses_moving_a_session_over_another_and_keeps_the_row(staff_client, departments):
    first, second = departments
    doctor = make_doctor(department=first)
    RosterSession.objects.create(doctor=doctor, department=first, weekday=2, start_time=time(9), end_time=time(12))
    later = RosterSession.objects.create(doctor=doctor, department=second, weekday=2, start_time=time(13),
                                         end_time=time(15))
    change = f"{SESSIONS}{later.pk}/change/"

    refused = staff_client.post(change, _session_form(doctor, second, weekday=2, start="10:00", end="14:00"))
    assert _errors(refused) == ["This doctor already has a session at that time."]
    later.refresh_from_db()
    assert (later.start_time, later.end_time) == (time(13), time(15))

    # The session does not clash with itself: its other fields change.
    edited = staff_client.post(change, _session_form(doctor, second, weekday=2, start="13:00", end="15:00",
                                                     per_slot=3))
    assert edited.status_code == 302
    later.refresh_from_db()
    assert later.patients_per_slot == 3


def test_the_admin_refuses_a_weekly_session_over_a_coming_extra_session_elsewhere(staff_client, hospital,
                                                                                 departments):
    first, second = departments
    doctor = make_doctor(department=first)
    day = local_today(hospital) + timedelta(days=7)
    RosterException.objects.create(doctor=doctor, kind="extra", date=day, department=second, start_time=time(14),
                                   end_time=time(15), hospital=hospital)
    refused = staff_client.post(f"{SESSIONS}add/", _session_form(doctor, first, weekday=day.weekday(),
                                                                  start="14:30", end="16:00"))
    assert _errors(refused) == ["This doctor has an extra session in another department at that time."]
    assert not RosterSession.objects.exists()


def test_the_admin_refuses_an_extra_session_while_the_doctor_is_rostered_elsewhere(staff_client, hospital,
                                                                                   departments):
    first, second = departments
    doctor = make_doctor(department=first)
    day = local_today(hospital) + timedelta(days=3)
    RosterSession.objects.create(doctor=doctor, department=first, weekday=day.weekday(), start_time=time(9),
                                 end_time=time(12))

    def extra(department, start, end, url=f"{EXCEPTIONS}add/"):
        return staff_client.post(url, {"doctor": str(doctor.pk), "kind": "extra", "date": day.isoformat(),
                                       "start_time": start, "end_time": end, "department": str(department.pk),
                                       "patients_per_slot": "1", "hospital": str(hospital.pk)})

    assert _errors(extra(second, "11:00", "13:00")) == [
        "This doctor is rostered in another department at that time: record her leave there first."]
    assert not RosterException.objects.exists()
    assert extra(first, "10:00", "11:00").status_code == 302  # her own department: no double place
    assert extra(second, "12:00", "13:00").status_code == 302  # after her session there
    kept = RosterException.objects.get(department=second)
    # Moved over her session in the other department through the change form: refused.
    assert _errors(extra(second, "11:30", "13:00", url=f"{EXCEPTIONS}{kept.pk}/change/"))
    kept.refresh_from_db()
    assert kept.start_time == time(12)


def test_the_admin_rosters_only_doctors_of_the_departments_hospital(staff_client, departments):
    first, _ = departments
    stranger = make_doctor(department=DepartmentFactory(hospital=HospitalFactory()))
    patient = make_patient()
    assert _errors(staff_client.post(f"{SESSIONS}add/", _session_form(stranger, first))) == [
        "This doctor does not work at the department's hospital."]
    assert _errors(staff_client.post(f"{SESSIONS}add/", _session_form(patient, first))) == [
        "Only an active doctor is rostered."]
    assert not RosterSession.objects.exists()


def test_the_admin_keeps_sessions_and_exceptions_on_the_half_hour_grid(staff_client, hospital, departments):
    """Slots are laid on the hour and half hour: the API refuses other times, and so does the admin
    (a session from 09:15 would offer places nobody can book), inactive sessions and leave included."""
    first, _ = departments
    doctor = make_doctor(department=first)
    grid = ["Sessions start and end on the hour or half hour."]
    assert _errors(staff_client.post(f"{SESSIONS}add/", _session_form(doctor, first, start="09:15"))) == grid
    assert _errors(staff_client.post(f"{SESSIONS}add/", _session_form(doctor, first, end="11:45",
                                                                      active=False))) == grid
    day = local_today(hospital) + timedelta(days=2)
    for kind, department in (("extra", str(first.pk)), ("leave", "")):
        refused = staff_client.post(f"{EXCEPTIONS}add/", {
            "doctor": str(doctor.pk), "kind": kind, "date": day.isoformat(), "start_time": "10:00",
            "end_time": "10:20", "department": department, "patients_per_slot": "1", "hospital": str(hospital.pk)})
        assert _errors(refused) == grid, kind
    assert not RosterSession.objects.exists() and not RosterException.objects.exists()
    assert staff_client.post(f"{SESSIONS}add/", _session_form(doctor, first, start="09:30")).status_code == 302


def test_an_exception_saved_in_the_admin_belongs_to_the_roster_it_changes(staff_client, hospital, departments):
    """An exception is listed to the admin of its ``hospital``: an extra session's is its
    department's, leave the doctor's. Left empty it is filled in; another hospital is refused."""
    first, _ = departments
    doctor = make_doctor(department=first)
    day = local_today(hospital) + timedelta(days=2)

    def exception(kind, hospital_id, department=""):
        return staff_client.post(f"{EXCEPTIONS}add/", {
            "doctor": str(doctor.pk), "kind": kind, "date": day.isoformat(), "start_time": "10:00",
            "end_time": "11:00", "department": department, "patients_per_slot": "1", "hospital": hospital_id})

    elsewhere = str(HospitalFactory().pk)
    assert _errors(exception("extra", elsewhere, str(first.pk))) == [
        "This is another hospital than the department's (for an extra session) or the doctor's (for leave)."]
    assert _errors(exception("leave", elsewhere))
    assert not RosterException.objects.exists()
    assert exception("extra", "", str(first.pk)).status_code == 302
    assert exception("leave", "").status_code == 302
    assert sorted(RosterException.objects.values_list("kind", "hospital_id")) == [
        ("extra", hospital.pk), ("leave", hospital.pk)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
def test_sessions_saved_in_the_admin_and_through_the_api_at_once_keep_one():
    """The admin's form takes the doctor's row lock before it checks her sessions, as the API
    does: of overlapping sessions for different departments sent together, from either, one is kept."""
    from django.db import transaction

    from appointments import staff
    from appointments.admin import RosterSessionForm
    from phb.api.errors import ApiError
    from tests.concurrency import race
    from tests.factories import make_hospital_admin

    hospital = HospitalFactory()
    departments = [DepartmentFactory(hospital=hospital) for _ in range(6)]
    admin = make_hospital_admin(hospital=hospital)
    doctor = make_doctor(department=departments[0])

    def attempt(index):
        department = departments[index // 2]
        if index % 2:
            try:
                staff.session_create(created_by=admin, data={
                    "doctor_id": str(doctor.pk), "department_id": department.pk, "weekday": 4,
                    "start_time": "10:00", "end_time": "11:00"})
            except ApiError as exc:
                return exc.code
            return "kept"
        with transaction.atomic():  # as the admin's change form runs
            form = RosterSessionForm(data=_session_form(doctor, department, weekday=4, start="10:30", end="11:30"))
            if not form.is_valid():
                return "session_overlap"
            form.save()
        return "kept"

    outcomes = race(attempt, range(12))
    assert sorted(outcomes) == ["kept"] + ["session_overlap"] * 11, outcomes
    assert RosterSession.objects.filter(doctor=doctor).count() == 1
