"""Appointment list items built from column values, not model instances.

The lists select exactly the columns their items need (``values()``, the related names joined)
and format each row with plain string arithmetic: the hospital's ``ZoneInfo`` is resolved once per
zone, the English day and month names replace ``strftime``, and timestamps are written in C
(:func:`phb.api.timestamps.iso`). Ids stay ``UUID`` objects, which the
JSON renderer writes as ``str()`` does. The rendered JSON is byte-for-byte what
:func:`appointments.presenters.appointment_payload` and ``doctor_appointment_payload`` render for
the same row (``tests/appointments/test_rows.py`` compares them on many rows), at a fraction of the
cost per row.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db.models import QuerySet

from appointments.models import AppointmentStatus
from phb.api.timestamps import iso
from phb.zones import zone_named

_MINUTE = timedelta(minutes=1)
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

PATIENT_COLUMNS = (
    "id", "appointment_id", "start", "end", "appointment_type", "status", "priority", "doctor_id",
    "doctor__full_name", "hospital_id", "hospital__name", "hospital__time_zone", "department_id",
    "department__name", "chief_complaint", "symptoms_data", "fee_amount", "currency", "payment_status",
    "reschedule_count", "cancellation_reason", "created_at", "updated_at",
)
# A hospital admin's reading of the bare list: who and when, never what the patient told the
# hospital or what her doctor wrote (the admin reads the hospital's list, not its clinical detail).
ADMIN_COLUMNS = PATIENT_COLUMNS + ("patient_id", "patient__full_name")
CLINICAL_KEYS = ("chief_complaint", "reason", "symptoms_data", "cancellation_reason")
DOCTOR_COLUMNS = PATIENT_COLUMNS + (
    "patient_id", "patient__full_name", "patient__hpn", "patient__gender", "patient__date_of_birth",
    "medical_history", "allergies", "current_medications", "general_notes", "doctor_notes", "medical_summary",
    "referred_to_hospital_id", "referred_to_department_id", "referral_reason", "referred_at",
    "accepted_at", "started_at", "completed_at",
)


@lru_cache(maxsize=256)
def _doctor_name(name: str) -> str:
    name = name or "Doctor"
    return name if name.lower().startswith("dr") else f"Dr. {name}"


@lru_cache(maxsize=64)
def _type_label(value: str) -> str:
    return value.replace("_", " ").title()


# Who a patient's list names while the department has not yet given the appointment a doctor.
NO_DOCTOR_YET = "Doctor to be assigned"

_STATUS_LABELS: dict[str, str] = {str(choice.value): str(choice.label) for choice in AppointmentStatus}


def status_label(value: str) -> str:
    """``in_progress`` -> "In progress": the label a page shows for a status."""
    return _STATUS_LABELS.get(value) or value.replace("_", " ").capitalize()


@lru_cache(maxsize=16)
def priority_label(value: str) -> str:
    """``urgent`` -> "Urgent Priority": the badge the appointment pages show."""
    return f"{value.replace('_', ' ').title()} Priority" if value else ""


def overdue_flags(item: dict[str, Any], *, start: datetime, now: datetime) -> dict[str, Any]:
    """A pending appointment whose time has come without a doctor accepting it is flagged, with the
    whole minutes since its start: the dashboard offers "Accept Late" with a new time for it."""
    late = start <= now
    item["is_flagged_pending"] = late
    item["minutes_past_scheduled"] = (now - start) // _MINUTE if late else 0
    return item


def patient_rows(queryset: QuerySet) -> QuerySet:
    return queryset.values(*PATIENT_COLUMNS)


def doctor_rows(queryset: QuerySet) -> QuerySet:
    return queryset.values(*DOCTOR_COLUMNS)


def patient_item(row: dict[str, Any]) -> dict[str, Any]:
    """One item of the patient list (P3/M5), from a :data:`PATIENT_COLUMNS` row."""
    zone = zone_named(row["hospital__time_zone"])
    start, end = row["start"], row["end"]
    local = start.astimezone(zone)
    local_end = end.astimezone(zone)
    stamp = iso(local)
    hour = local.hour
    formatted_date = f"{DAYS[local.weekday()]}, {local.day:02d} {MONTHS[local.month]} {local.year}"
    formatted_time = f"{hour % 12 or 12}:{local.minute:02d} {'AM' if hour < 12 else 'PM'}"
    doctor_id = row["doctor_id"]
    doctor_name = _doctor_name(row["doctor__full_name"]) if doctor_id is not None else ""
    hospital_name = row["hospital__name"]
    department_name = row["department__name"]
    complaint = row["chief_complaint"]
    return {
        "id": row["id"],
        "appointment_id": row["appointment_id"],
        "appointment_date": stamp,
        "date": stamp[:10],
        "time": stamp[11:16],
        "end_time": f"{local_end.hour:02d}:{local_end.minute:02d}",
        "time_zone": zone.key,
        "formatted_date": formatted_date,
        "formatted_time": formatted_time,
        "formatted_date_time": f"{formatted_date} at {formatted_time}",
        "duration": (end - start) // _MINUTE,
        "appointment_type": row["appointment_type"],
        "formatted_appointment_type": _type_label(row["appointment_type"]),
        "status": row["status"],
        "status_display": status_label(row["status"]),
        "priority": row["priority"],
        "formatted_priority": priority_label(row["priority"]),
        "doctor_id": doctor_id,
        "doctor_full_name": doctor_name,
        "doctor_name": doctor_name,
        "provider": doctor_name or NO_DOCTOR_YET,
        "hospital_id": row["hospital_id"],
        "hospital": row["hospital_id"],
        "hospital_name": hospital_name,
        "location": hospital_name,
        "department_id": row["department_id"],
        "department_name": department_name,
        "specialty": department_name,
        "chief_complaint": complaint,
        "reason": complaint,
        "symptoms_data": row["symptoms_data"],
        "fee_amount": f"{row['fee_amount']:.2f}",
        "currency": row["currency"],
        "payment_status": row["payment_status"],
        "reschedule_count": row["reschedule_count"],
        "cancellation_reason": row["cancellation_reason"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def admin_item(row: dict[str, Any]) -> dict[str, Any]:
    """One item of the bare list (P3) for a hospital admin, from an :data:`ADMIN_COLUMNS` row: the
    patient's item without its clinical keys, and whose appointment it is."""
    item = patient_item(row)
    for key in CLINICAL_KEYS:
        del item[key]
    name = row["patient__full_name"]
    item.update({"patient_id": row["patient_id"], "patient_name": name, "patient_full_name": name})
    return item


def doctor_item(row: dict[str, Any]) -> dict[str, Any]:
    """One item of the doctor's lists (D1, D2, and P3 for staff), from a :data:`DOCTOR_COLUMNS` row."""
    item = patient_item(row)
    name = row["patient__full_name"]
    born = row["patient__date_of_birth"]
    referred_at = row["referred_at"]
    item.update({
        "patient_id": row["patient_id"],
        "patient_name": name,
        "patient_full_name": name,
        "patient_hpn": row["patient__hpn"],
        "patient_gender": row["patient__gender"],
        "patient_date_of_birth": born.isoformat() if born else None,
        "medical_history": row["medical_history"],
        "allergies": row["allergies"],
        "current_medications": row["current_medications"],
        "general_notes": row["general_notes"],
        "doctor_notes": row["doctor_notes"],
        "medical_summary": row["medical_summary"],
        "referral": None if referred_at is None else {
            "referred_to_hospital": row["referred_to_hospital_id"],
            "referred_to_department": row["referred_to_department_id"],
            "referral_reason": row["referral_reason"],
            "referred_at": iso(referred_at),
        },
        "accepted_at": iso(row["accepted_at"]),
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
    })
    return item
