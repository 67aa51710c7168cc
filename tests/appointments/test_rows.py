"""The list rows built from column values render exactly as the instance payloads the detail views use."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from appointments import rows
from appointments.models import Appointment
from appointments.presenters import appointment_payload, doctor_appointment_payload
from phb.api.renderers import dumps
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_patient

pytestmark = pytest.mark.django_db

ZONES = ["Africa/Lagos", "Europe/London", "America/St_Johns", "Asia/Kolkata", "Not/AZone", ""]


def test_rows_render_as_instance_payloads():
    patient = make_patient(date_of_birth=date(1990, 2, 3), gender="female")
    made = []
    starts = [
        datetime(2030, 3, 31, 0, 30, tzinfo=ZoneInfo("UTC")),   # London DST change day
        datetime(2030, 10, 27, 0, 59, tzinfo=ZoneInfo("UTC")),
        datetime(2031, 1, 1, 11, 0, tzinfo=ZoneInfo("UTC")),    # 12 noon in Lagos (PM)
        datetime(2031, 1, 1, 23, 0, tzinfo=ZoneInfo("UTC")),    # midnight in Lagos (12 AM)
        datetime(2031, 7, 4, 9, 15, tzinfo=ZoneInfo("UTC")),
        datetime(2032, 2, 29, 17, 45, 30, 5, tzinfo=ZoneInfo("UTC")),
    ]
    for n, (zone, start) in enumerate(itertools.product(ZONES, starts)):
        hospital = HospitalFactory(time_zone=zone or "Africa/Lagos")
        if not zone:
            type(hospital).objects.filter(pk=hospital.pk).update(time_zone="")
            hospital.refresh_from_db()
        department = DepartmentFactory(hospital=hospital)
        doctor = None if n % 3 == 0 else make_doctor(department=department, full_name=["Dr Ngozi", "", "Emeka"][n % 3])
        a = Appointment.objects.create(
            patient=patient, hospital=hospital, department=department, doctor=doctor, start=start + timedelta(days=n),
            end=start + timedelta(days=n, minutes=[30, 45, 60][n % 3]), status=["pending", "confirmed", "cancelled"][n % 3],
            appointment_type=["consultation", "video_consultation", "follow_up"][n % 3],
            fee_amount=Decimal(["0", "2000.5", "12345.67"][n % 3]), chief_complaint=f"complaint {n} “x”",
            symptoms_data=[{"n": n}] if n % 2 else [], medical_summary={"diagnosis": "d"} if n % 2 else {},
            referred_at=timezone.now() if n % 4 == 0 else None, referral_reason="r" if n % 4 == 0 else "",
            referred_to_hospital=hospital if n % 4 == 0 else None,
        )
        made.append(a.pk)
    objects = {a.pk: a for a in Appointment.objects.select_related("patient", "hospital", "department", "doctor")
               .filter(pk__in=made)}
    checked = 0
    for row in rows.doctor_rows(Appointment.objects.filter(pk__in=made)):
        obj = objects[row["id"]]
        assert dumps(rows.patient_item(row)) == dumps(appointment_payload(obj))
        assert dumps(rows.doctor_item(row)) == dumps(doctor_appointment_payload(obj))
        checked += 1
    assert checked == len(ZONES) * len(starts)

