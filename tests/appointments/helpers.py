"""Helpers for appointment tests: future slots on the hospital's wall clock, and bookings."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import F
from django.utils import timezone

from appointments import booking, slot_grid
from appointments.models import Appointment, BookingHold


def local_today(hospital) -> date:
    return timezone.now().astimezone(slot_grid.hospital_zone(hospital)).date()


def future_slot(hospital, *, days: int = 1, at: str = "10:00") -> datetime:
    """A naive wall-clock start ``days`` ahead at ``at`` (hospital time)."""
    hours, minutes = (int(x) for x in at.split(":"))
    return datetime.combine(local_today(hospital) + timedelta(days=days), time(hours, minutes))


def iso_z(start_local: datetime) -> str:
    """What the frontend sends: local wall clock labelled Z."""
    return start_local.strftime("%Y-%m-%dT%H:%M:00Z")


def hold(patient, department, start_local, *, priority: str = "normal", **details) -> BookingHold:
    return booking.hold_create(
        patient=patient, hospital_id=department.hospital_id, department_id=department.pk,
        start_local=start_local, priority=priority, appointment_type="consultation",
        details={"chief_complaint": "Headache", **details},
    )


def book(patient, department, start_local, **kwargs) -> Appointment:
    return booking.hold_confirm(hold_id=hold(patient, department, start_local, **kwargs).id,
                                payment_reference="ref-test")


def expire(hold_obj: BookingHold) -> None:
    BookingHold.objects.filter(pk=hold_obj.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def move_to_past(appointment: Appointment, *, hours: int = 1) -> None:
    """Shift an appointment's time into the past (a consultation that was due)."""
    shift = appointment.start - (timezone.now() - timedelta(hours=hours))
    Appointment.objects.filter(pk=appointment.pk).update(start=F("start") - shift, end=F("end") - shift)


def bulk_appointments(*, patients, department, count: int, doctor=None, status: str = "pending",
                      offset: int = 0) -> list[Appointment]:
    """``count`` appointments spread over future slots (one per patient per slot), written in one go."""
    zone = slot_grid.hospital_zone(department.hospital)
    starts = [
        slot_grid.local_to_aware(s, zone)
        for day in range(1, 60)
        for s in slot_grid.slot_starts_of_day(local_today(department.hospital) + timedelta(days=day))
    ]
    rows = []
    for i in range(count):
        start = starts[offset + i]
        rows.append(Appointment(
            patient=patients[i % len(patients)], hospital=department.hospital, department=department, doctor=doctor,
            start=start, end=start + slot_grid.slot_length(), status=status, chief_complaint="Routine check",
        ))
    return Appointment.objects.bulk_create(rows)
