"""The booking service: fees, refusals, capacity, holds and their expiry, and the race for the last place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from appointments import booking, slot_grid
from appointments.booking import hold_confirm, hold_create, hold_release
from appointments.fees import fee_for
from appointments.models import (
    Appointment,
    AppointmentStatus,
    BookingHold,
    DepartmentFee,
    HoldState,
    PaymentStatus,
    Slot,
    SlotCapacity,
)
from appointments.slot_places import SlotUnavailable
from phb.api.errors import ApiError
from tests.appointments.helpers import book, expire, future_slot, hold, iso_z
from tests.concurrency import race
from tests.factories import DepartmentFactory, HospitalFactory, make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


# --- Fees ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "priority", "expected"),
    [
        ("General Medicine", "normal", "2000"),
        ("General Medicine", "urgent", "3500"),
        ("General Medicine", "emergency", "5000"),
        ("Cardiology", "normal", "7500"),
        ("Cardiology", "urgent", "7500"),
        ("Paediatric Neurology", "emergency", "10000"),
        ("ENT", "routine", "2000"),
        ("ENT", "soon", "3500"),
    ],
)
def test_default_fee_table(hospital, name, priority, expected):
    department = DepartmentFactory(hospital=hospital, name=name)
    assert fee_for(department=department, priority=priority) == Decimal(expected)


def test_fee_set_in_admin_wins(department):
    DepartmentFee.objects.create(department=department, priority="urgent", amount=Decimal("4200"))
    assert fee_for(department=department, priority="urgent") == Decimal("4200")
    assert fee_for(department=department, priority="normal") == Decimal("2000")


def test_unknown_priority_refused(department):
    with pytest.raises(ApiError) as err:
        fee_for(department=department, priority="whenever")
    assert err.value.status_code == 400


def test_hold_carries_server_fee(patient, department):
    DepartmentFee.objects.create(department=department, priority="emergency", amount=Decimal("6100"))
    h = hold(patient, department, future_slot(department.hospital), priority="emergency")
    assert h.fee_amount == Decimal("6100") and h.currency == "NGN"
    assert h.expires_at > timezone.now() + timedelta(minutes=14)
    appointment = hold_confirm(hold_id=h.id, payment_reference="PSK-1")
    assert appointment.fee_amount == Decimal("6100")
    assert appointment.payment_status == PaymentStatus.PAID


def test_fee_computed_server_side_over_http(settings, patient, department):
    settings.PAYMENTS_ENABLED = False
    start = future_slot(department.hospital)
    response = client_for(patient).post(
        "/api/appointments/",
        {"department_id": department.pk, "hospital_id": department.hospital_id, "appointment_date": iso_z(start),
         "priority": "urgent", "amount": 1, "fee_amount": "1.00", "chief_complaint": "Cough"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()["appointment"]
    assert body["fee_amount"] == "3500.00"
    assert Appointment.objects.get(pk=body["id"]).fee_amount == Decimal("3500")


def test_direct_booking_needs_payment_when_payments_on(settings, patient, department):
    settings.PAYMENTS_ENABLED = True
    response = client_for(patient).post(
        "/api/appointments/",
        {"department_id": department.pk, "appointment_date": iso_z(future_slot(department.hospital))},
        format="json",
    )
    assert response.status_code == 409
    assert "payments/initialize" in response.json()["message"]
    assert not BookingHold.objects.exists()


# --- Time zone -------------------------------------------------------------------------------------
def test_wall_clock_z_is_hospital_local_time(patient, department):
    start_local = future_slot(department.hospital, at="09:00")
    parsed = slot_grid.wall_clock_from_iso(iso_z(start_local))
    assert parsed == start_local and parsed.tzinfo is None
    h = hold(patient, department, parsed)
    # Africa/Lagos is UTC+1 all year: 09:00 local is 08:00 UTC.
    assert h.start.astimezone(UTC).hour == 8
    assert h.end - h.start == timedelta(minutes=30)


def test_other_time_zone_hospital(db):
    hospital = HospitalFactory(time_zone="America/New_York")
    department = DepartmentFactory(hospital=hospital)
    patient = make_patient(hospital=hospital)
    start_local = future_slot(hospital, days=3, at="09:00")
    h = hold(patient, department, start_local)
    assert h.start.astimezone(slot_grid.hospital_zone(hospital)).replace(tzinfo=None) == start_local


# --- Refusals --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("at", "days", "code"),
    [
        ("08:30", 1, "outside_opening_hours"),
        ("17:00", 1, "outside_opening_hours"),
        ("16:45", 1, "invalid_slot"),
        ("10:00", -1, "slot_in_past"),
        ("10:00", 400, "too_far_ahead"),
    ],
)
def test_refused_times(patient, department, at, days, code):
    with pytest.raises(ApiError) as err:
        hold(patient, department, future_slot(department.hospital, days=days, at=at))
    assert err.value.code == code
    assert err.value.status_code == 400
    assert str(err.value.detail)


def test_last_slot_of_day_allowed(patient, department):
    assert hold(patient, department, future_slot(department.hospital, at="16:30")).pk


def test_not_approved_patient_refused(department):
    stranger = make_patient()  # no registration anywhere
    with pytest.raises(ApiError) as err:
        hold(stranger, department, future_slot(department.hospital))
    assert err.value.status_code == 403
    assert "approved patient" in str(err.value.detail)


def test_department_of_other_hospital_refused(patient, department):
    other = DepartmentFactory()
    with pytest.raises(ApiError) as err:
        hold_create(patient=patient, hospital_id=department.hospital_id, department_id=other.pk,
                    start_local=future_slot(department.hospital), priority="normal",
                    appointment_type="consultation", details={})
    assert err.value.code == "department_mismatch"


def test_closed_weekday_refused(patient, department):
    start = future_slot(department.hospital, days=2)
    SlotCapacity.objects.create(department=department, weekday=start.weekday(), capacity=0)
    with pytest.raises(ApiError) as err:
        hold(patient, department, start)
    assert err.value.code == "department_closed"
    # Another day keeps the default capacity.
    assert hold(patient, department, future_slot(department.hospital, days=3)).pk


def test_patient_cannot_overlap_own_booking(patient, hospital, department):
    start = future_slot(hospital)
    book(patient, department, start)
    other_department = DepartmentFactory(hospital=hospital)
    with pytest.raises(ApiError) as err:
        hold(patient, other_department, start)
    assert err.value.status_code == 409 and err.value.code == "overlapping_appointment"
    # A live hold (not yet paid) blocks too.
    later = future_slot(hospital, at="11:00")
    hold(patient, department, later)
    with pytest.raises(ApiError):
        hold(patient, other_department, later)


# --- Capacity and holds ----------------------------------------------------------------------------
def _patients(hospital, n):
    return [make_patient(hospital=hospital) for _ in range(n)]


def test_capacity_counts_holds_and_appointments(hospital, department):
    SlotCapacity.objects.create(department=department, weekday=None, capacity=2)
    start = future_slot(hospital)
    a, b, c = _patients(hospital, 3)
    book(a, department, start)
    hold(b, department, start)
    with pytest.raises(SlotUnavailable) as err:
        hold(c, department, start)
    assert err.value.status_code == 409
    slot = Slot.objects.get(department=department)
    assert (slot.in_use, slot.capacity) == (2, 2)


def test_weekday_capacity_beats_every_day_capacity(hospital, department):
    start = future_slot(hospital, days=2)
    SlotCapacity.objects.create(department=department, weekday=None, capacity=5)
    SlotCapacity.objects.create(department=department, weekday=start.weekday(), capacity=1)
    a, b = _patients(hospital, 2)
    hold(a, department, start)
    with pytest.raises(SlotUnavailable):
        hold(b, department, start)


@pytest.mark.parametrize("rostered", [False, True])
def test_many_days_read_at_once_match_each_day_read_alone(hospital, department, rostered):
    """``read_days`` gives, for each day, what ``read_day`` gives for it: the weekday's capacity, the
    roster's seats, booked places, held places and an expired hold's place given back."""
    if rostered:
        from tests.scheduler.helpers import roster
        roster(department, doctors=2, start="10:00", end="12:00")
    day_one = future_slot(hospital, days=1)
    SlotCapacity.objects.create(department=department, weekday=None, capacity=3)
    SlotCapacity.objects.create(department=department, weekday=(day_one + timedelta(days=2)).weekday(), capacity=1)
    a, b, c = _patients(hospital, 3)
    book(a, department, day_one)
    hold(b, department, future_slot(hospital, days=2, at="10:30"))
    expire(hold(c, department, future_slot(hospital, days=3, at="11:00")))
    days = [(day_one + timedelta(days=n)).date() for n in (0, 1, 2, 5)]

    together = slot_grid.read_days(department=department, days=days)
    alone = [slot_grid.read_day(department=department, day=day, now=together[0].now) for day in days]

    assert together == alone
    assert [g.day for g in together] == days
    remaining = {v.start.astimezone(slot_grid.hospital_zone(hospital)).replace(tzinfo=None): v.remaining
                 for g in together for v in g.slots}
    full = 2 if rostered else 3
    assert remaining[day_one] == full - 1
    assert remaining[future_slot(hospital, days=2, at="10:30")] == full - 1
    assert remaining[future_slot(hospital, days=3, at="11:00")] == (full if rostered else 1)
    assert remaining[future_slot(hospital, days=3, at="10:00")] == (full if rostered else 1)


def test_hold_expiry_frees_capacity(hospital, department):
    SlotCapacity.objects.create(department=department, capacity=1)
    start = future_slot(hospital)
    first, second = _patients(hospital, 2)
    h1 = hold(first, department, start)
    with pytest.raises(SlotUnavailable):
        hold(second, department, start)
    expire(h1)
    h2 = hold(second, department, start)
    assert BookingHold.objects.get(pk=h1.pk).state == HoldState.EXPIRED
    assert Slot.objects.get(department=department).in_use == 1
    # The first patient's payment arrives late: the place was given away.
    with pytest.raises(SlotUnavailable):
        hold_confirm(hold_id=h1.id, payment_reference="late")
    assert hold_confirm(hold_id=h2.id, payment_reference="ok").status == AppointmentStatus.PENDING


def test_expired_hold_confirms_when_room_is_left(hospital, department):
    SlotCapacity.objects.create(department=department, capacity=2)
    start = future_slot(hospital)
    first, second = _patients(hospital, 2)
    h1 = hold(first, department, start)
    expire(h1)
    hold(second, department, start)  # sweeps h1: in_use 1
    appointment = hold_confirm(hold_id=h1.id, payment_reference="late-but-room")
    assert appointment.patient_id == first.pk
    assert Slot.objects.get(department=department).in_use == 2


def test_hold_confirm_is_idempotent(patient, department):
    h = hold(patient, department, future_slot(department.hospital))
    first = hold_confirm(hold_id=h.id, payment_reference="r1")
    again = hold_confirm(hold_id=h.id, payment_reference="r1")
    assert first.pk == again.pk
    assert Appointment.objects.count() == 1
    assert Slot.objects.get().in_use == 1


def test_hold_release_frees_place_once(hospital, department):
    SlotCapacity.objects.create(department=department, capacity=1)
    start = future_slot(hospital)
    first, second = _patients(hospital, 2)
    h = hold(first, department, start)
    hold_release(hold_id=h.id)
    hold_release(hold_id=h.id)
    assert Slot.objects.get().in_use == 0
    assert BookingHold.objects.get(pk=h.pk).state == HoldState.RELEASED
    hold(second, department, start)
    with pytest.raises(SlotUnavailable):
        hold_confirm(hold_id=h.id, payment_reference="after-release")


def test_release_expired_holds_sweep(hospital, department):
    start = future_slot(hospital)
    holds = [hold(p, department, start) for p in _patients(hospital, 3)]
    for h in holds[:2]:
        expire(h)
    assert booking.release_expired_holds() == 2
    assert Slot.objects.get().in_use == 1


def test_database_constraint_refuses_overbooking(department):
    slot = Slot.objects.create(department=department, start=timezone.now() + timedelta(days=1),
                               end=timezone.now() + timedelta(days=1, minutes=30), capacity=1, in_use=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(in_use=F("in_use") + 1)


def test_database_constraint_refuses_patient_double_booking(patient, department):
    appointment = book(patient, department, future_slot(department.hospital))
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(patient=patient, hospital=appointment.hospital, department=department,
                                   start=appointment.start, end=appointment.end, status=AppointmentStatus.CONFIRMED)


# --- Slots endpoint --------------------------------------------------------------------------------
def test_slots_endpoint(patient, hospital, department):
    SlotCapacity.objects.create(department=department, capacity=2)
    day_start = future_slot(hospital, at="09:00")
    book(patient, department, day_start)
    other = make_patient(hospital=hospital)
    expired = hold(other, department, future_slot(hospital, at="09:30"))
    expire(expired)
    response = client_for(patient).get(
        "/api/appointments/slots/", {"department": department.pk, "date": day_start.date().isoformat()}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["time_zone"] == "Africa/Lagos"
    slots = body["slots"]
    assert len(slots) == 16
    assert [s["time"] for s in slots[:2]] == ["09:00", "09:30"] and slots[-1]["time"] == "16:30"
    assert slots[0]["remaining"] == 1 and slots[0]["capacity"] == 2
    assert slots[1]["remaining"] == 2, "an expired hold no longer counts"
    assert slots[0]["appointment_date"] == iso_z(day_start)
    assert slots[0]["start"].endswith("+01:00")


def test_slots_of_today_mark_past(patient, hospital, department):
    today = timezone.now().astimezone(slot_grid.hospital_zone(hospital)).date()
    body = client_for(patient).get("/api/appointments/slots/", {"department": department.pk,
                                                                 "date": today.isoformat()}).json()
    now = timezone.now()
    for slot in body["slots"]:
        assert slot["past"] == (datetime.fromisoformat(slot["start"]) <= now)
        assert slot["available"] == (not slot["past"])


def test_slots_endpoint_errors(patient):
    client = client_for(patient)
    assert client.get("/api/appointments/slots/", {"department": 999999, "date": "2030-01-01"}).status_code == 404
    bad = client.get("/api/appointments/slots/", {"department": "x", "date": "soon"})
    assert bad.status_code == 400 and "message" in bad.json()
    assert client_for(None).get("/api/appointments/slots/", {"department": 1, "date": "2030-01-01"}).status_code == 401


# --- The race for the last place (PostgreSQL) ------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite has no row locks; its IMMEDIATE transactions serialize every writer instead")
def test_twenty_threads_race_for_the_last_place():
    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    SlotCapacity.objects.create(department=department, capacity=3)
    start = future_slot(hospital)
    for p in _patients(hospital, 2):
        hold(p, department, start)  # two of three places taken
    racers = _patients(hospital, 20)

    def attempt(patient):
        try:
            hold(patient, department, start)
        except SlotUnavailable:
            return "full"
        return "won"

    outcomes = race(attempt, racers)
    assert sorted(set(outcomes)) == ["full", "won"], outcomes
    assert outcomes.count("won") == 1
    assert BookingHold.objects.filter(patient__in=racers, state=HoldState.HELD).count() == 1
    assert Slot.objects.get(department=department).in_use == 3
