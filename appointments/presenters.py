"""The JSON shapes the frontend reads of appointments, their summaries and prescriptions
(contract §2.2, §3, §6.3). A list's rows are built from column values by ``rows``, which renders
byte-for-byte what these do for the same appointment."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from appointments import rows, slot_grid
from appointments.models import Appointment, Prescription
from phb.api.timestamps import iso


def _zone(appointment: Appointment) -> ZoneInfo:
    return slot_grid.hospital_zone(appointment.hospital)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _doctor_name(appointment: Appointment) -> str:
    if appointment.doctor_id is None:
        return ""
    name = appointment.doctor.full_name or "Doctor"
    return name if name.lower().startswith("dr") else f"Dr. {name}"


def appointment_payload(appointment: Appointment) -> dict:
    """One appointment as the patient screens read it (P3/M5 list items and P4 detail)."""
    zone = _zone(appointment)
    local = appointment.start.astimezone(zone)
    local_end = appointment.end.astimezone(zone)
    doctor_name = _doctor_name(appointment)
    type_label = appointment.appointment_type.replace("_", " ").title()
    return {
        "id": str(appointment.id),
        "appointment_id": appointment.appointment_id,
        "appointment_date": local.isoformat(),
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "end_time": local_end.strftime("%H:%M"),
        "time_zone": zone.key,
        "formatted_date": local.strftime("%A, %d %B %Y"),
        "formatted_time": local.strftime("%I:%M %p").lstrip("0"),
        "formatted_date_time": f"{local.strftime('%A, %d %B %Y')} at {local.strftime('%I:%M %p').lstrip('0')}",
        "duration": appointment.duration_minutes,
        "appointment_type": appointment.appointment_type,
        "formatted_appointment_type": type_label,
        "status": appointment.status,
        "status_display": rows.status_label(appointment.status),
        "priority": appointment.priority,
        "formatted_priority": rows.priority_label(appointment.priority),
        "doctor_id": str(appointment.doctor_id) if appointment.doctor_id else None,
        "doctor_full_name": doctor_name,
        "doctor_name": doctor_name,
        "provider": doctor_name or rows.NO_DOCTOR_YET,
        "hospital_id": appointment.hospital_id,
        "hospital": appointment.hospital_id,
        "hospital_name": appointment.hospital.name,
        "location": appointment.hospital.name,
        "department_id": appointment.department_id,
        "department_name": appointment.department.name,
        "specialty": appointment.department.name,
        "chief_complaint": appointment.chief_complaint,
        "reason": appointment.chief_complaint,
        "symptoms_data": appointment.symptoms_data,
        "fee_amount": _money(appointment.fee_amount),
        "currency": appointment.currency,
        "payment_status": appointment.payment_status,
        "reschedule_count": appointment.reschedule_count,
        "cancellation_reason": appointment.cancellation_reason,
        "created_at": iso(appointment.created_at),
        "updated_at": iso(appointment.updated_at),
    }


def appointment_detail_payload(appointment: Appointment, prescriptions: list[Prescription]) -> dict:
    summary = dict(appointment.medical_summary or {})
    medications = [summary_medication(medication_payload(p, m, appointment=appointment))
                   for p in prescriptions for m in p.medications]
    return {
        **appointment_payload(appointment),
        "medical_history": appointment.medical_history,
        "allergies": appointment.allergies,
        "current_medications": appointment.current_medications,
        "medical_summary": {
            "diagnosis": summary.get("diagnosis", ""),
            "treatment": summary.get("treatment", ""),
            "follow_up": summary.get("follow_up", ""),
            "notes": summary.get("notes", ""),
            "prescriptions": medications,
            "vital_signs": summary.get("vital_signs") or {},
        },
        "referral": referral_payload(appointment),
    }


def summary_medication(item: dict) -> dict:
    """A medication of the appointment's summary, also under the names the summary lists it by
    (``name (dosage) - instructions``)."""
    return {**item, "name": item["medication_name"], "instructions": item["patient_instructions"]}


def referral_payload(appointment: Appointment) -> dict | None:
    if appointment.referred_at is None:
        return None
    return {
        "referred_to_hospital": appointment.referred_to_hospital_id,
        "referred_to_department": appointment.referred_to_department_id,
        "referral_reason": appointment.referral_reason,
        "referred_at": iso(appointment.referred_at),
    }


def doctor_appointment_payload(appointment: Appointment) -> dict:
    """The doctor's view: the patient item plus who the patient is and the clinical notes."""
    patient = appointment.patient
    return {
        **appointment_payload(appointment),
        "patient_id": str(patient.id),
        "patient_name": patient.full_name,
        "patient_full_name": patient.full_name,
        "patient_hpn": patient.hpn,
        "patient_gender": patient.gender,
        "patient_date_of_birth": patient.date_of_birth.isoformat() if patient.date_of_birth else None,
        "medical_history": appointment.medical_history,
        "allergies": appointment.allergies,
        "current_medications": appointment.current_medications,
        "general_notes": appointment.general_notes,
        "doctor_notes": appointment.doctor_notes,
        "medical_summary": appointment.medical_summary,
        "referral": referral_payload(appointment),
        "accepted_at": iso(appointment.accepted_at),
        "started_at": iso(appointment.started_at),
        "completed_at": iso(appointment.completed_at),
    }


def doctor_contact_payload(appointment: Appointment) -> dict:
    """D3 alone: how the patient is reached about the appointment (the detail page shows the
    address and warns where it is unverified, as notifications may not arrive). The lists leave
    it out."""
    return {"patient_email": appointment.patient.email, "email_verified": appointment.patient.email_verified}


def doctor_detail_nested(payload: dict) -> dict:
    """D3 also gives the appointment and the patient nested (what the reschedule page reads)."""
    return {
        "appointment_details": {
            key: payload[key]
            for key in ("appointment_id", "appointment_date", "formatted_date", "formatted_time",
                        "formatted_date_time", "hospital_name", "department_name", "status")
        },
        "patient_details": {"name": payload["patient_name"], "chief_complaint": payload["chief_complaint"]},
    }


def admin_appointment_payload(appointment: Appointment) -> dict:
    """O1 item."""
    local = appointment.start.astimezone(_zone(appointment))
    return {
        "id": str(appointment.id),
        "appointment_id": appointment.appointment_id,
        "patient_name": appointment.patient.full_name,
        "patient_full_name": appointment.patient.full_name,
        "doctor_name": _doctor_name(appointment),
        "doctor_full_name": _doctor_name(appointment),
        "doctor_id": str(appointment.doctor_id) if appointment.doctor_id else None,
        "department_name": appointment.department.name,
        "department_id": appointment.department_id,
        "appointment_date": local.date().isoformat(),
        "appointment_time": local.strftime("%H:%M"),
        "status": appointment.status,
        "priority": appointment.priority,
        "created_at": iso(appointment.created_at),
        "updated_at": iso(appointment.updated_at),
    }


def symptoms_text(symptoms: list) -> str:
    """The reported symptoms as one line of text, e.g. "Chest - Chest pain (since Monday); Head - Headache"."""
    parts = []
    for item in symptoms or []:
        if not isinstance(item, dict):
            continue
        name = str(item.get("symptom_name") or "").strip()
        if not name:
            continue
        place = str(item.get("body_part_name") or "").strip()
        text = f"{place} - {name}" if place else name
        description = str(item.get("description") or "").strip()
        parts.append(f"{text} ({description})" if description else text)
    return "; ".join(parts)


def summary_payload(appointment: Appointment) -> dict:
    """M6."""
    base = appointment_payload(appointment)
    return {
        "appointment_details": {
            "appointment_id": appointment.appointment_id,
            "doctor": base["doctor_full_name"],
            "date": base["date"],
            "time": base["time"],
            "formatted_date_time": base["formatted_date_time"],
            "hospital": base["hospital_name"],
            "department": base["department_name"],
            "type": base["formatted_appointment_type"],
            "priority": appointment.priority,
            "duration": base["duration"],
            "status": appointment.status,
        },
        "patient_details": {
            "name": appointment.patient.full_name,
            "chief_complaint": appointment.chief_complaint,
            "symptoms": symptoms_text(appointment.symptoms_data),
            "symptoms_data": appointment.symptoms_data,
            "medical_history": appointment.medical_history,
            "allergies": appointment.allergies,
            "current_medications": appointment.current_medications,
        },
        "important_notes": [
            "Please arrive 15 minutes before your appointment time.",
            "Bring a valid ID and your Health Personal Number (HPN).",
            "Cancelling at least 24 hours ahead gives a full refund of a paid fee; "
            "if the hospital cancels, the fee is always refunded in full.",
        ],
        "payment_info": {
            "payment_required": appointment.fee_amount > 0 and appointment.payment_status != "waived",
            "payment_status": appointment.payment_status,
            "amount": _money(appointment.fee_amount),
            "currency": appointment.currency,
            "is_insurance_based": appointment.is_insurance_based,
            "insurance_details": appointment.insurance_details,
        },
        "additional_info": {
            "notes": appointment.general_notes,
            "created_at": iso(appointment.created_at),
            "updated_at": iso(appointment.updated_at),
        },
    }


def medication_payload(prescription: Prescription, medication: dict, *, appointment: Appointment | None = None) -> dict:
    """One ``ApiMedication`` (contract §6.3)."""
    prescriber = prescription.prescriber
    prescriber_name = ""
    if prescriber is not None:
        prescriber_name = prescriber.full_name or "Doctor"
        if not prescriber_name.lower().startswith("dr"):
            prescriber_name = f"Dr. {prescriber_name}"
    appointment = appointment or prescription.appointment
    expired = prescription.expires_at <= timezone.now()
    return {
        "id": medication.get("id") or f"{prescription.id}",
        "prescription_id": str(prescription.id),
        "medication_name": medication.get("medication_name", ""),
        "generic_name": medication.get("generic_name", ""),
        "strength": medication.get("strength", ""),
        "form": medication.get("form", ""),
        "route": medication.get("route", ""),
        "dosage": medication.get("dosage", ""),
        "frequency": medication.get("frequency", ""),
        "duration": medication.get("duration", ""),
        "patient_instructions": medication.get("patient_instructions", ""),
        "indication": medication.get("indication", ""),
        "created_at": iso(prescription.issued_at),
        "updated_at": iso(prescription.issued_at),
        "expires_at": iso(prescription.expires_at),
        "prescriber_name": prescriber_name,
        "doctor_name": prescriber_name,
        "appointment_id": appointment.appointment_id if appointment else None,
        "appointment_date": appointment.start.astimezone(_zone(appointment)).isoformat() if appointment else None,
        "status": "expired" if expired and prescription.status == "active" else prescription.status,
    }


def prescription_payload(prescription: Prescription) -> dict:
    return {
        "id": str(prescription.id),
        "appointment_id": prescription.appointment.appointment_id if prescription.appointment_id else None,
        "issued_at": iso(prescription.issued_at),
        "expires_at": iso(prescription.expires_at),
        "status": prescription.status,
        "medications": [medication_payload(prescription, m) for m in prescription.medications],
    }
