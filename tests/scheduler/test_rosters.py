"""Rosters give slot capacity and a doctor to every booking, within each doctor's per-slot limit."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import connection

from appointments import moving, rosters, slot_grid
from appointments.models import (
    Appointment,
    BookingHold,
    HoldState,
    RosterException,
    Slot,
    SlotCapacity,
    StaffAvailability,
)
from appointments.slot_places import SlotUnavailable
from tests.appointments.helpers import book, future_slot, hold, iso_z
from tests.concurrency import race
from tests.factories import DepartmentFactory, HospitalFactory, make_patient
from tests.helpers import client_for
from tests.scheduler.helpers import roster

pytestmark = pytest.mark.django_db


def _capacity(department, start_local) -> int:
    slots = slot_grid.slots_of_day(department=department, day=start_local.date())
    zone = slot_grid.hospital_zone(department.hospital)
    return next(s.capacity for s in slots if s.start == slot_grid.local_to_aware(start_local, zone))


def test_department_capacity_is_the_sum_of_its_rostered_doctors(department):
    SlotCapacity.objects.create(department=department, capacity=9)  # ignored once a roster exists
    roster(department, doctors=2, per_slot=1)
    late = roster(department, doctors=1, per_slot=3, start="13:00", end="17:00")[0]
    morning, afternoon = future_slot(department.hospital, at="10:00"), future_slot(department.hospital, at="14:00")
    assert _capacity(department, morning) == 2
    assert _capacity(department, afternoon) == 5
    RosterException.objects.create(doctor=late, kind="leave", date=afternoon.date())
    assert _capacity(department, afternoon) == 2
    StaffAvailability.objects.create(user=roster(department, doctors=1)[0], is_available=False)
    assert _capacity(department, morning) == 2


def test_extra_session_and_partial_leave(department):
    doctor = roster(department, doctors=1, start="09:00", end="12:00")[0]
    day = future_slot(department.hospital).date()
    RosterException.objects.create(doctor=doctor, kind="extra", date=day, department=department,
                                   start_time=time(15), end_time=time(16), patients_per_slot=2)
    RosterException.objects.create(doctor=doctor, kind="leave", date=day, start_time=time(9), end_time=time(10))
    at = lambda hhmm: future_slot(department.hospital, at=hhmm)  # noqa: E731
    assert [_capacity(department, at(t)) for t in ("09:30", "10:00", "13:00", "15:30")] == [0, 1, 0, 2]


def test_without_a_roster_the_department_capacity_stays(department):
    SlotCapacity.objects.create(department=department, capacity=3)
    assert _capacity(department, future_slot(department.hospital)) == 3
    assert rosters.capacity_at(department=department, start_local=future_slot(department.hospital)) is None


def test_booking_gets_a_doctor_and_no_doctor_is_booked_beyond_her_limit(hospital, department):
    first, second = roster(department, doctors=2, per_slot=1)
    start = future_slot(hospital)
    a = book(make_patient(hospital=hospital), department, start)
    b = book(make_patient(hospital=hospital), department, start)
    assert {a.doctor_id, b.doctor_id} == {first.pk, second.pk}
    with pytest.raises(SlotUnavailable):
        hold(make_patient(hospital=hospital), department, start)


def test_bookings_spread_over_doctors_by_load(hospital, department):
    roster(department, doctors=2, per_slot=3)
    doctors = [book(make_patient(hospital=hospital), department, future_slot(hospital, at=t)).doctor_id
               for t in ("09:00", "09:30", "10:00", "10:30")]
    assert doctors.count(doctors[0]) == 2 and len(set(doctors)) == 2


def test_a_booking_outside_the_roster_is_refused(hospital, department):
    roster(department, doctors=1, start="09:00", end="12:00")
    with pytest.raises(Exception) as err:
        hold(make_patient(hospital=hospital), department, future_slot(hospital, at="14:00"))
    assert err.value.code == "department_closed"


def test_moving_keeps_the_doctor_when_she_is_free_and_changes_it_otherwise(hospital, department):
    a_doc, b_doc = roster(department, doctors=2, start="09:00", end="17:00")
    appointment = book(make_patient(hospital=hospital), department, future_slot(hospital, at="10:00"))
    kept = appointment.doctor_id
    moved = moving.appointment_move(appointment=appointment, start_local=future_slot(hospital, at="11:00"))
    assert moved.doctor_id == kept
    noon = future_slot(hospital, at="12:00")
    RosterException.objects.create(doctor_id=kept, kind="leave", date=noon.date(), start_time=time(12),
                                   end_time=time(13))
    moved = moving.appointment_move(appointment=moved, start_local=noon)
    assert moved.doctor_id == ({a_doc.pk, b_doc.pk} - {kept}).pop()


def test_slots_endpoint_shows_roster_capacity(hospital, department, patient):
    roster(department, doctors=2)
    start = future_slot(hospital)
    response = client_for(patient).get("/api/appointments/slots/", {"department": department.pk,
                                                                    "date": start.date().isoformat()})
    assert response.status_code == 200
    slot = next(s for s in response.json()["slots"] if s["time"] == "10:00")
    assert slot["capacity"] == 2 and slot["remaining"] == 2
    assert iso_z(start) == slot["appointment_date"]


# --- The race for the last place of a rostered slot (PostgreSQL) ------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
def test_race_for_the_last_place_of_a_rostered_slot_has_one_winner_and_a_doctor_each():
    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    roster(department, doctors=3, per_slot=1)
    start = future_slot(hospital)
    for _ in range(2):
        book(make_patient(hospital=hospital), department, start)
    racers = [make_patient(hospital=hospital) for _ in range(16)]

    def attempt(patient):
        try:
            book(patient, department, start)
        except SlotUnavailable:
            return "full"
        return "won"

    outcomes = race(attempt, racers)
    assert sorted(set(outcomes)) == ["full", "won"], outcomes
    assert outcomes.count("won") == 1
    booked = Appointment.objects.filter(department=department)
    assert booked.count() == 3
    assert len({a.doctor_id for a in booked}) == 3 and None not in {a.doctor_id for a in booked}
    assert Slot.objects.get(department=department).in_use == 3
    assert BookingHold.objects.filter(department=department, state=HoldState.CONFIRMED).count() == 3


def test_accepting_from_the_queue_respects_the_accepting_doctors_roster(hospital, department):
    from appointments import services
    from phb.api.errors import Conflict
    from tests.factories import make_doctor

    first, second = roster(department, doctors=2, per_slot=1)
    start = future_slot(hospital)
    a = book(make_patient(hospital=hospital), department, start)
    b = book(make_patient(hospital=hospital), department, start)
    assert {a.doctor_id, b.doctor_id} == {first.pk, second.pk}
    other = first if a.doctor_id == second.pk else second
    with pytest.raises(Conflict):  # her only place in that slot is taken by b
        services.appointment_accept(appointment=a, doctor=other)
    unrostered = make_doctor(department=department)
    with pytest.raises(Conflict):
        services.appointment_accept(appointment=a, doctor=unrostered)
    accepted = services.appointment_accept(appointment=a, doctor=Appointment.objects.get(pk=a.pk).doctor)
    assert accepted.status == "confirmed" and accepted.doctor_id == a.doctor_id
