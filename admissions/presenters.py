"""The admission shapes the frontend reads (``useAdmissionData.ts`` ``AdmissionData``, the detail
modal), one for staff and a smaller one for the patient herself (no staff notes, no audit of who)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from accounts.birthdates import age_today
from admissions.models import Admission, AdmissionStatus
from phb.api.timestamps import iso


def _temp_age(details: dict[str, Any]) -> int | None:
    if details.get("date_of_birth"):
        try:
            return age_today(date.fromisoformat(details["date_of_birth"]))
        except ValueError:
            pass
    age = details.get("age")
    return age if isinstance(age, int) else None


def length_of_stay_days(admission: Admission) -> int | None:
    if admission.admitted_at is None:
        return None
    end = admission.discharged_at or timezone.now()
    return max(0, (end - admission.admitted_at).days)


def _identity(admission: Admission) -> dict[str, Any]:
    if admission.patient_id is not None:
        p = admission.patient
        return {"patient_name": p.full_name, "patient_age": age_today(p.date_of_birth),
                "patient_gender": p.gender or None, "patient_phone": p.phone or None, "patient_hpn": p.hpn}
    t = admission.temp_patient_details or {}
    name = " ".join(part for part in (t.get("first_name", ""), t.get("last_name", "")) if part)
    return {"patient_name": name or "Unidentified patient", "patient_age": _temp_age(t),
            "patient_gender": t.get("gender") or None, "patient_phone": t.get("phone_number") or None,
            "patient_hpn": None}


def _bed(admission: Admission) -> dict[str, Any]:
    holds_bed = admission.bed_id is not None and admission.status == AdmissionStatus.ADMITTED
    bed = admission.bed if admission.bed_id else None
    return {
        "bed": bed.pk if holds_bed else None,
        "bed_identifier": bed.identifier if holds_bed else None,
        "last_bed_identifier": bed.identifier if bed else None,
        "ward_id": bed.ward_id if holds_bed else None,
        "ward_name": bed.ward.name if holds_bed else None,
        "is_icu_bed": bed.ward.is_icu if holds_bed else admission.requires_icu,
    }


def _doctor_name(admission: Admission) -> str | None:
    doctor = admission.attending_doctor
    return doctor.user.full_name if doctor is not None else None


def admission_for_staff(admission: Admission) -> dict[str, Any]:
    return {
        "id": admission.pk,
        "admission_id": admission.admission_id,
        "patient": str(admission.patient_id) if admission.patient_id else None,
        **_identity(admission),
        "is_registered_patient": admission.patient_id is not None,
        "registration_status": "complete" if admission.patient_id else "partial",
        "temp_patient_details": admission.temp_patient_details or None,
        "is_emergency": admission.is_emergency,
        "hospital": admission.hospital_id,
        "hospital_name": admission.hospital.name,
        "department": admission.department_id,
        "department_name": admission.department.name,
        "attending_doctor": admission.attending_doctor_id,
        "attending_doctor_name": _doctor_name(admission),
        **_bed(admission),
        "status": admission.status,
        "admission_type": admission.admission_type,
        "priority": admission.priority,
        "reason_for_admission": admission.reason_for_admission,
        "diagnosis": admission.diagnosis,
        "additional_notes": admission.staff_notes,
        "admission_date": iso(admission.admitted_at or admission.created_at),
        "admitted_at": iso(admission.admitted_at),
        "expected_discharge_date": iso(admission.expected_discharge_date),
        "actual_discharge_date": iso(admission.discharged_at),
        "discharge_type": admission.discharge_type or None,
        "discharge_destination": admission.discharge_destination or None,
        "discharge_summary": admission.discharge_summary,
        "followup_instructions": admission.followup_instructions,
        "length_of_stay_days": length_of_stay_days(admission),
        "is_readmission": admission.is_readmission,
        "previous_admission_id": admission.previous_admission.admission_id if admission.previous_admission_id else None,
        "cancelled_at": iso(admission.cancelled_at),
        "cancel_reason": admission.cancel_reason or None,
        "created_at": iso(admission.created_at),
        "updated_at": iso(admission.updated_at),
    }


def admission_for_patient(admission: Admission) -> dict[str, Any]:
    """The patient's own view: her stay, without staff notes or the door-side identity record."""
    bed = _bed(admission)
    return {
        "id": admission.pk,
        "admission_id": admission.admission_id,
        "hospital_name": admission.hospital.name,
        "department_name": admission.department.name,
        "ward_name": bed["ward_name"],
        "bed_identifier": bed["bed_identifier"],
        "attending_doctor_name": _doctor_name(admission),
        "status": admission.status,
        "admission_type": admission.admission_type,
        "priority": admission.priority,
        "reason_for_admission": admission.reason_for_admission,
        "diagnosis": admission.diagnosis,
        "admission_date": iso(admission.admitted_at or admission.created_at),
        "expected_discharge_date": iso(admission.expected_discharge_date),
        "actual_discharge_date": iso(admission.discharged_at),
        "discharge_type": admission.discharge_type or None,
        "discharge_destination": admission.discharge_destination or None,
        "discharge_summary": admission.discharge_summary if admission.discharged_at else "",
        "followup_instructions": admission.followup_instructions if admission.discharged_at else "",
        "length_of_stay_days": length_of_stay_days(admission),
        "is_readmission": admission.is_readmission,
        "created_at": iso(admission.created_at),
    }
