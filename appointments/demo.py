"""Demo appointments (``seed_demo``), so every dashboard has something to show: pending requests
in every department's queue, confirmed ones for each department's doctor, and for General
Medicine (doctor@phb.test) one today, one upcoming, two completed and one cancelled.

Times are relative to the day of the run (hospital wall clock). A run skips what it already
created that day; a run on a later day adds that day's set. Rows are written directly in their
final state (no emails), each taking its place in its slot like a booking does; the main demo
patient (patient@phb.test) only gets a past, completed visit, so her own bookings never collide
with demo data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from appointments import fees, slot_grid, slot_places
from appointments.models import OCCUPYING_STATUSES, Appointment, AppointmentStatus, PaymentStatus, Slot
from hospitals.models import Department, Hospital

S = AppointmentStatus
COMPLAINTS = {
    "General Medicine": ("Fever and body aches for three days", "head", "Head", "Fever"),
    "Cardiology": ("Chest tightness when climbing stairs", "chest", "Chest", "Chest pain"),
    "Neurology": ("Recurring headaches in the mornings", "head", "Head", "Headache"),
    "Orthopedics": ("Knee pain after a fall", "leftLeg", "Left leg", "Joint pain"),
    "Gastroenterology": ("Stomach pain after meals", "upperAbdomen", "Upper abdomen", "Abdominal pain"),
    "ENT": ("Blocked ear and ringing", "head", "Head", "Ear pain"),
}
SUMMARY = {"diagnosis": "Uncomplicated malaria", "treatment": "Artemether-lumefantrine for 3 days, fluids",
           "follow_up": "Return if the fever persists after 3 days", "notes": "Responded well"}


@dataclass(frozen=True)
class Planned:
    patient: User
    department: Department
    day: date
    at: time
    status: str
    doctor: User | None = None


def _today_time(now_local: datetime) -> time:
    """The next slot today that is at least 15 minutes away, or opening time if none is left."""
    slots = slot_grid.slot_starts_of_day(now_local.date())
    upcoming = [s for s in slots if s > now_local.replace(tzinfo=None) + timedelta(minutes=15)]
    return (upcoming[0] if upcoming else slots[0]).time()


def _plan(*, hospital: Hospital, doctors: dict[int, User], patients: list[User], today: date,
          now_local: datetime) -> list[Planned]:
    departments = {d.pk: d for d in Department.objects.filter(pk__in=doctors)}
    general = next((d for d in departments.values() if d.name == "General Medicine"), None)
    main_patient = User.objects.filter(email="patient@phb.test").first()
    plan: list[Planned] = []
    if general is not None and len(patients) >= 4:
        gp = doctors[general.pk]
        a, b, c, d = patients[:4]
        day = timedelta(days=1)
        plan += [
            Planned(a, general, today + day, time(10, 0), S.PENDING),
            Planned(b, general, today + day, time(10, 30), S.PENDING),
            Planned(c, general, today + 2 * day, time(11, 0), S.PENDING),
            Planned(d, general, today, _today_time(now_local), S.CONFIRMED, gp),
            Planned(a, general, today + 3 * day, time(9, 0), S.CONFIRMED, gp),
            Planned(b, general, today - 7 * day, time(14, 0), S.COMPLETED, gp),
            Planned(c, general, today + 4 * day, time(15, 0), S.CANCELLED),
        ]
        if main_patient is not None:
            plan.append(Planned(main_patient, general, today - 3 * day, time(11, 0), S.COMPLETED, gp))
    others = [d for d in sorted(departments.values(), key=lambda d: d.name) if d != general]
    for i, department in enumerate(others):
        if not patients:
            break
        pending_at = (datetime.combine(today, time(12, 0)) + timedelta(minutes=30 * (i % 8))).time()
        confirmed_at = (datetime.combine(today, time(13, 0)) + timedelta(minutes=30 * (i % 8))).time()
        plan += [
            Planned(patients[i % len(patients)], department, today + timedelta(days=1), pending_at, S.PENDING),
            Planned(patients[(i + 1) % len(patients)], department, today + timedelta(days=2), confirmed_at,
                    S.CONFIRMED, doctors[department.pk]),
        ]
    return plan


def _take_place(*, department: Department, start: datetime, end: datetime) -> Slot | None:
    capacity = slot_grid.capacity_for(department=department, day=start.astimezone(
        slot_grid.hospital_zone(department.hospital)).date())
    slot = slot_places.lock_slot(department=department, start=start, end=end, capacity=capacity)
    try:
        slot_places.take_place(slot, capacity=slot.capacity, now=timezone.now())
    except slot_places.SlotUnavailable:
        return None
    return slot


def _create(item: Planned, *, zone, now: datetime) -> bool:
    start = slot_grid.local_to_aware(datetime.combine(item.day, item.at), zone)
    end = start + slot_grid.slot_length()
    if Appointment.objects.filter(patient=item.patient, department=item.department, start=start).exists():
        return False
    complaint, part_id, part_name, symptom = COMPLAINTS.get(
        item.department.name, (f"Review at {item.department.name}", "chest", "Chest", "General review"))
    try:
        with transaction.atomic():
            slot = None
            if item.status in OCCUPYING_STATUSES:
                slot = _take_place(department=item.department, start=start, end=end)
                if slot is None:
                    return False
            fields = {}
            if item.doctor is not None:
                fields.update(doctor=item.doctor, accepted_at=min(now, start), confirmed_at=min(now, start))
            if item.status == S.COMPLETED:
                fields.update(started_at=start, completed_at=end, medical_summary=SUMMARY,
                              doctor_notes="Seen and treated.")
            if item.status == S.CANCELLED:
                fields.update(cancelled_at=now, cancelled_by=item.patient, cancellation_reason="Travelling that week")
            Appointment.objects.create(
                patient=item.patient, hospital=item.department.hospital, department=item.department, slot=slot,
                start=start, end=end, status=item.status, priority="normal", appointment_type="consultation",
                chief_complaint=complaint,
                symptoms_data=[{"body_part_id": part_id, "body_part_name": part_name, "symptom_name": symptom,
                                "description": complaint}],
                fee_amount=fees.fee_for(department=item.department, priority="normal"),
                payment_status=PaymentStatus.WAIVED, **fields,
            )
    except IntegrityError:  # the patient already has something at that time
        return False
    return True


def seed_appointments(*, hospital: Hospital, doctors: dict[int, User], patients: list[User]) -> int:
    """Create today's demo appointments that are not there yet; returns how many were created."""
    zone = slot_grid.hospital_zone(hospital)
    now = timezone.now()
    now_local = now.astimezone(zone)
    plan = _plan(hospital=hospital, doctors=doctors, patients=patients, today=now_local.date(), now_local=now_local)
    return sum(_create(item, zone=zone, now=now) for item in plan)
