"""The load benchmarks' data set: one patient per list size, written in bulk, and their credentials.

``seed()`` runs inside ``manage.py shell`` with the server's settings and database, and prints
one JSON line: for each named caller its access cookie (and medical-access token where needed).
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

APPOINTMENT_SIZES = (10, 200, 1000)
RECORD_SIZES = (10, 200, 1000)
GUIDELINE_SIZES = (50, 1000)  # two categories in one hospital, asked for with ?category=
CYCLE_SIZES = ((10, 10), (200, 1000))  # (cycles, cycle days)
GUIDELINE_CATEGORY = {50: "surgery", 1000: "prevention"}
SESSION_SECONDS = 6 * 3600


def _appointments(patient, department, doctor, count: int) -> None:
    from appointments.models import Appointment

    zone = ZoneInfo(department.hospital.time_zone)
    first = date(2031, 1, 6)
    rows = []
    for n in range(count):
        day = first + timedelta(days=n // 8)
        start = datetime.combine(day, time(9 + n % 8, 0), tzinfo=zone)
        rows.append(Appointment(
            patient=patient, hospital=department.hospital, department=department, doctor=doctor if n % 3 else None,
            start=start, end=start + timedelta(minutes=30), status=("confirmed", "completed", "pending")[n % 3],
            priority="normal", chief_complaint=f"Follow-up visit {n}", symptoms_data=[{"name": "cough", "days": n % 9}],
            fee_amount=3500, payment_status="paid",
        ))
    Appointment.objects.bulk_create(rows, batch_size=500)


def _entries(patient, doctor, hospital, count: int) -> None:
    from records.models import ClinicalEntry, EntryKind

    kinds = [k for k, _ in EntryKind.choices]
    rows = []
    for n in range(count):
        entry = ClinicalEntry(
            patient=patient, kind=kinds[n % len(kinds)], title=f"Entry {n}", occurred_on=date(2020, 1, 1) + timedelta(days=n),
            status="active", details={"dosage": "5 mg", "frequency": "daily"} if n % 2 else {},
            provider_name="Dr Bench", hospital=hospital, created_by=doctor,
        )
        entry.notes = f"Clinical notes for entry {n}: stable, review in four weeks."
        rows.append(entry)
    ClinicalEntry.objects.bulk_create(rows, batch_size=500)


def _guidelines(hospital, author, approver, count: int, category: str) -> None:
    from django.utils import timezone

    from storage.models import ClinicalGuideline

    now = timezone.now()
    rows = [
        ClinicalGuideline(
            organization=hospital, created_by=author, title=f"{category.title()} guideline {n}",
            description="Steps, doses and escalation for the ward. " * 3, category=category, specialty="General",
            keywords=["ward", "bench"], content_type="text", text_content="Wash hands. Check identity. " * 5,
            effective_date=date(2024, 1, 1), approval_status="approved", is_published=True, approved_by=approver,
            approved_at=now, published_at=now,
        )
        for n in range(count)
    ]
    ClinicalGuideline.objects.bulk_create(rows, batch_size=500)


def _cycles(user, cycles: int, days: int) -> None:
    from django.utils import timezone

    from tracking.models import MenstrualCycle, WomensHealthProfile
    from tracking.sync import sync_apply

    WomensHealthProfile.objects.update_or_create(user=user, defaults={"verified_at": timezone.now()})
    first = date(2018, 1, 1)
    length = max(1, days // cycles)
    rows = []
    for n in range(cycles):
        start = first + timedelta(days=n * length)
        end = None if n == cycles - 1 else start + timedelta(days=length - 1)
        rows.append(MenstrualCycle(user=user, cycle_start_date=start, cycle_end_date=end,
                                   period_end_date=start + timedelta(days=min(4, length - 1)), flow_intensity="medium"))
    MenstrualCycle.objects.bulk_create(rows)
    items = [{"client_id": f"bench-day-{n}", "type": "cycle_day", "base_version": 0,
              "data": {"date": (first + timedelta(days=n)).isoformat(), "periodDay": n % length < 5,
                       "cervicalMucus": "creamy"}}
             for n in range(days)]
    for chunk in range(0, len(items), 500):
        sync_apply(user=user, items=items[chunk:chunk + 500], max_items=500)


def seed() -> None:
    from accounts.cookies import issue_tokens
    from records.sessions import session_create
    from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient

    hospital = HospitalFactory(time_zone="Africa/Lagos")
    department = DepartmentFactory(hospital=hospital)
    doctor = make_doctor(department=department)
    admin = make_hospital_admin(hospital=hospital)
    callers: dict[str, dict[str, str]] = {}

    def caller(name: str, user, **extra: str) -> None:
        callers[name] = {"cookie": f"access_token={issue_tokens(user=user).access_token}", "user_id": str(user.pk),
                         **extra}

    caller("profile", make_patient(hospital=hospital))
    for size in APPOINTMENT_SIZES:
        patient = make_patient(hospital=hospital)
        _appointments(patient, department, doctor, size)
        caller(f"appointments_{size}", patient)
    for size in RECORD_SIZES:
        patient = make_patient(hospital=hospital)
        _entries(patient, doctor, hospital, size)
        token, _ = session_create(holder=patient, subject=patient, kind="patient", ttl_seconds=SESSION_SECONDS)
        caller(f"medical_record_{size}", patient, med_token=token)
    for size in GUIDELINE_SIZES:
        _guidelines(hospital, doctor, admin, size, GUIDELINE_CATEGORY[size])
    caller("guidelines", doctor)
    for cycles, days in CYCLE_SIZES:
        patient = make_patient(hospital=hospital)
        _cycles(patient, cycles, days)
        caller(f"cycles_{days}", patient)
    sys.stdout.write("BENCH-CALLERS " + json.dumps(callers) + "\n")
