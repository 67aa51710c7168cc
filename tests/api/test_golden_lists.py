"""The list responses the frontend reads, byte for byte.

Each test builds a fixed data set (names, times, references pinned), calls the endpoint and
compares the raw response body with ``tests/api/golden/<name>.json``, after replacing UUIDs and
database ids with placeholders numbered in order of appearance. A change to a key, an order, a
number format or a time-zone rendering fails here. ``UPDATE_GOLDEN=1`` rewrites the files (only
when a shape change is intended and the frontend has been checked against it).
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db.models import Model

from appointments.models import Appointment, Prescription
from records.models import ClinicalEntry
from storage.models import ClinicalGuideline
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parent / "golden"
UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Integer primary keys of reference rows depend on what ran before (sequences are not reset).
INT_ID = re.compile(rb'"(hospital_id|hospital|department_id|pharmacy_id)":(\d+)')
FIXED = datetime(2030, 3, 1, 8, 15, 30, 123456, tzinfo=ZoneInfo("UTC"))


def normalised(body: bytes, *, extra: dict[bytes, bytes] | None = None) -> bytes:
    seen: dict[bytes, bytes] = {}

    def number(match: re.Match) -> bytes:
        return seen.setdefault(match.group(0), b"<uuid-%d>" % (len(seen) + 1))

    body = UUID.sub(number, body)
    body = INT_ID.sub(lambda m: b'"%s":<int-id>' % m.group(1), body)
    for raw, label in (extra or {}).items():
        body = body.replace(raw, label)
    return body


def assert_golden(name: str, body: bytes, **kwargs) -> None:
    got = normalised(body, **kwargs)
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(got)
        if os.environ.get("UPDATE_GOLDEN") != "1":
            pytest.fail(f"golden file {path.name} was missing and has been written; run again")
    assert got == path.read_bytes(), f"{name}: the response body differs from {path.name}"


def pin(obj: Model, **values) -> None:
    type(obj).objects.filter(pk=obj.pk).update(**values)


@pytest.fixture
def world():
    lagos = HospitalFactory(name="Golden General", code="GOLD0001", time_zone="Africa/Lagos")
    london = HospitalFactory(name="Thames Clinic", code="GOLD0002", time_zone="Europe/London")
    cardio = DepartmentFactory(hospital=lagos, name="Cardiology", code="CARD")
    general = DepartmentFactory(hospital=london, name="General Practice", code="GP")
    patient = make_patient(hospital=lagos, full_name="Ada Obi", email="ada@golden.test", hpn="1234567890")
    doctor = make_doctor(department=cardio, full_name="Bola Ade", email="bola@golden.test")
    dr_named = make_doctor(department=general, full_name="Dr Chika Eze", email="chika@golden.test")
    admin = make_hospital_admin(hospital=lagos, full_name="Dayo Admin", email="dayo@golden.test")
    rows = [
        dict(hospital=lagos, department=cardio, doctor=doctor, start=datetime(2030, 6, 2, 9, 0, tzinfo=ZoneInfo("UTC")),
             status="confirmed", priority="urgent", appointment_type="video_consultation", fee_amount=Decimal("7500"),
             payment_status="paid", chief_complaint="Chest pain", symptoms_data=[{"name": "pain", "severity": 3}],
             medical_summary={"diagnosis": "Angina"}, general_notes="Bring ECG", reschedule_count=1),
        dict(hospital=lagos, department=cardio, doctor=None, start=datetime(2030, 1, 15, 14, 30, tzinfo=ZoneInfo("UTC")),
             status="pending", priority="normal", appointment_type="consultation", fee_amount=Decimal("2000.5"),
             payment_status="pending", chief_complaint="Ünïcode “quotes” & <tags>", symptoms_data=[]),
        dict(hospital=london, department=general, doctor=dr_named,
             start=datetime(2030, 3, 31, 0, 30, tzinfo=ZoneInfo("UTC")), status="completed", priority="soon",
             appointment_type="follow_up", fee_amount=Decimal("0"), payment_status="waived",
             cancellation_reason="", chief_complaint="Review"),
        dict(hospital=lagos, department=cardio, doctor=doctor, start=datetime(2029, 12, 31, 23, 0, tzinfo=ZoneInfo("UTC")),
             status="cancelled", priority="normal", appointment_type="consultation", fee_amount=Decimal("3500"),
             payment_status="refunded", cancellation_reason="Travel", chief_complaint="Cough"),
    ]
    appointments = []
    for n, row in enumerate(rows):
        a = Appointment.objects.create(patient=patient, end=row["start"] + timedelta(minutes=30), **row)
        pin(a, appointment_id=f"APT-GOLD000{n}", created_at=FIXED + timedelta(minutes=n),
            updated_at=FIXED + timedelta(hours=n, microseconds=n))
        appointments.append(a)
    return {"patient": patient, "doctor": doctor, "admin": admin, "appointments": appointments,
            "lagos": lagos, "cardio": cardio}


def test_patient_appointment_list(world):
    response = client_for(world["patient"]).get("/api/appointments/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert_golden("appointments_patient", response.content)


def test_doctor_lists(world):
    client = client_for(world["doctor"])
    assert_golden("appointments_doctor", client.get("/api/appointments/").content)
    assert_golden("doctor_appointments", client.get("/api/doctor-appointments/").content)


def test_hospital_admin_list(world):
    response = client_for(world["admin"]).get("/api/hospitals/appointments/")
    assert response.status_code == 200
    assert_golden("appointments_hospital_admin", response.content)


def test_patient_prescriptions(world):
    first = world["appointments"][0]
    Prescription.objects.create(
        appointment=first, patient=world["patient"], prescriber=world["doctor"],
        medications=[{"id": "med-1", "medication_name": "Aspirin", "strength": "75 mg", "dosage": "1 tablet",
                      "frequency": "daily", "duration": "30 days"}],
        issued_at=FIXED, expires_at=datetime(2031, 1, 1, tzinfo=ZoneInfo("UTC")),
    )
    response = client_for(world["patient"]).get("/api/prescriptions/")
    assert response.status_code == 200
    assert_golden("prescriptions_patient", response.content)


def _record_token(client, user) -> str:
    from django.test import TestCase

    from tests.records.conftest import REQUEST_OTP_URL, VERIFY_OTP_URL, last_code

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert client.post(REQUEST_OTP_URL, {}, format="json").status_code == 200
    verified = client.post(VERIFY_OTP_URL, {"otp": last_code(to=user.email)}, format="json")
    assert verified.status_code == 200, verified.content
    return verified.json()["med_access_token"]


def test_medical_record(world):
    patient, doctor = world["patient"], world["doctor"]
    kinds = ["diagnosis", "treatment", "medication", "lab_result", "immunization", "procedure", "vital", "encounter"]
    for n, kind in enumerate(kinds):
        entry = ClinicalEntry(
            patient=patient, kind=kind, title=f"{kind.title()} entry", occurred_on=date(2029, 1, 1 + n),
            end_on=date(2029, 2, 1) if kind == "medication" else None, status="active" if n % 2 else "",
            # Keys in PostgreSQL jsonb's own order (shorter first), so SQLite stores them alike.
            details={"unit": "mmol/L", "dosage": "5 mg", "result": "4.2", "frequency": "daily"} if n % 3 == 0 else {},
            provider_name="Dr Bola Ade" if n % 2 else "", hospital=world["lagos"] if n != 5 else None,
            created_by=doctor,
        )
        entry.notes = f"Notes {n} ✓" if n != 4 else ""
        entry.save()
        pin(entry, created_at=FIXED + timedelta(days=n), updated_at=FIXED + timedelta(days=n, seconds=n))
    client = client_for(patient)
    mail.outbox.clear()
    token = _record_token(client, patient)
    headers = {"HTTP_X_MED_ACCESS_TOKEN": token}
    for name, query in (("medical_record_patient", ""), ("medical_record_list", "?view=list")):
        response = client.get(f"/api/patient/medical-record/{query}", **headers)
        assert response.status_code == 200, response.content
        assert_golden(name, re.sub(rb'"expires_in":\d+', b'"expires_in":<ttl>', response.content))


def test_guideline_list(world):
    lagos, doctor, admin = world["lagos"], world["doctor"], world["admin"]
    for n in range(3):
        g = ClinicalGuideline.objects.create(
            organization=lagos, created_by=doctor, title=f"Guideline {n}", description=f"About {n} ✓",
            category="clinical_protocol", specialty="Cardiology", keywords=["a", "b"] if n else [],
            content_type="text" if n == 1 else "pdf", text_content="Wash hands." if n == 1 else "",
            effective_date=date(2020, 1, 1), expiry_date=date(2099, 1, 1) if n != 2 else date(2021, 1, 1),
            approval_status="approved", is_published=True, approved_by=admin,
            approved_at=FIXED, published_at=FIXED, priority="high",
            file_name="g.pdf" if n == 0 else "", file_key="k/g.pdf" if n == 0 else "",
            file_size=1234 if n == 0 else None, file_content_type="application/pdf" if n == 0 else "",
        )
        pin(g, guideline_id=f"CG-GOLD{n}", created_at=FIXED, updated_at=FIXED + timedelta(minutes=n))
    for who in ("doctor", "patient"):
        response = client_for(world[who]).get("/api/clinical-guidelines/")
        assert response.status_code == 200, response.content
        body = re.sub(rb'"(id|organization)":\d+', rb'"\1":<id>', response.content)
        assert_golden(f"guidelines_{who}", body)
