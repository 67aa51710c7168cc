"""Response shapes of the medical record, built from already-fetched rows (no queries here
beyond what the caller passed in). Entry ids stay ``UUID`` objects, which the JSON renderer
writes as ``str()`` does."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from phb.api.timestamps import iso
from records.models import ClinicalEntry, EntryKind, MedicalProfile

KIND_LABELS = dict(EntryKind.choices)
_UNSET: Any = object()


def _joined(values: Any) -> str:
    if isinstance(values, (list, tuple)):
        return ", ".join(str(v) for v in values if str(v).strip())
    return str(values or "")


def _list(values: Any) -> list[str]:
    if isinstance(values, (list, tuple)):
        return [str(v) for v in values if str(v).strip()]
    return [values] if values else []


def entry_list_item(entry: ClinicalEntry, notes: str, date: Any = _UNSET) -> dict[str, Any]:
    """The list form the records page reads: ``{id, date, title, type, provider, description, attachments}``.
    ``date``: ``iso(entry.occurred_on)`` where the caller already wrote it."""
    hospital = entry.hospital.name if entry.hospital_id else ""
    return {
        "id": entry.id,
        "date": iso(entry.occurred_on) if date is _UNSET else date,
        "title": entry.title,
        "type": KIND_LABELS.get(entry.kind, entry.kind),
        "kind": entry.kind,
        "provider": entry.provider_name or hospital,
        "hospital": hospital,
        "status": entry.status,
        "description": notes,
        "details": entry.details,
        "attachments": [],
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
    }


# Each section's item, from the entry, its notes and its date (``iso(entry.occurred_on)``, written once
# per entry for the section and the list alike).
def _diagnosis(entry: ClinicalEntry, notes: str, date: str | None) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.title, "date": date,
            "diagnosis_date": date, "doctor": entry.provider_name,
            "status": entry.status or "active", "notes": notes}


def _treatment(entry: ClinicalEntry, notes: str, date: str | None) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.title, "date": date,
            "provider": entry.provider_name, "details": notes, "status": entry.status}


def _medication(entry: ClinicalEntry, notes: str, date: str | None) -> dict[str, Any]:
    d = entry.details or {}
    return {"id": entry.id, "name": entry.title, "dosage": d.get("dosage", ""),
            "frequency": d.get("frequency", ""), "start_date": date,
            "end_date": iso(entry.end_on), "prescribed_by": entry.provider_name,
            "status": entry.status or "active", "notes": notes}


def _lab(entry: ClinicalEntry, notes: str, date: str | None) -> dict[str, Any]:
    d = entry.details or {}
    return {"id": entry.id, "test_name": entry.title, "test_date": date,
            "result": d.get("result", ""), "unit": d.get("unit", ""),
            "reference_range": d.get("reference_range", ""), "status": entry.status or "normal",
            "notes": notes}


def _generic(entry: ClinicalEntry, notes: str, date: str | None) -> dict[str, Any]:
    return {"id": entry.id, "name": entry.title, "date": date,
            "provider": entry.provider_name, "status": entry.status, "details": entry.details, "notes": notes}


_SECTION = {
    EntryKind.DIAGNOSIS: ("diagnoses", _diagnosis),
    EntryKind.TREATMENT: ("treatments", _treatment),
    EntryKind.MEDICATION: ("medications", _medication),
    EntryKind.LAB_RESULT: ("lab_results", _lab),
    EntryKind.IMMUNIZATION: ("immunizations", _generic),
    EntryKind.PROCEDURE: ("procedures", _generic),
    EntryKind.VITAL: ("vitals", _generic),
    EntryKind.ENCOUNTER: ("encounters", _generic),
}


def sections_and_list(
    entries: list[tuple[ClinicalEntry, str]],
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Every section's items and the list form's items, in one pass over the entries."""
    out: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in _SECTION.values()}
    items: list[dict[str, Any]] = []
    for entry, notes in entries:
        name, build = _SECTION[entry.kind]  # a kind's value finds its member (``TextChoices`` are strings)
        date = iso(entry.occurred_on)
        out[name].append(build(entry, notes, date))
        items.append(entry_list_item(entry, notes, date))
    return out, items


def patient_profile_form(
    *, patient: User, profile: MedicalProfile | None, entries: list[tuple[ClinicalEntry, str]]
) -> dict[str, Any]:
    """The profile form (it has ``hpn`` and no ``id``) plus every section and the list form."""
    data: dict[str, Any] = {
        "hpn": patient.hpn,
        "blood_type": profile.blood_type if profile else None,
        "genotype": profile.genotype if profile else None,
        "height_cm": str(profile.height_cm) if profile and profile.height_cm is not None else None,
        "weight_kg": str(profile.weight_kg) if profile and profile.weight_kg is not None else None,
        "allergies": _joined(profile.allergies) if profile else None,
        "allergy_list": _list(profile.allergies) if profile else [],
        "chronic_conditions": _joined(profile.chronic_conditions) if profile else None,
        "chronic_condition_list": _list(profile.chronic_conditions) if profile else [],
        "emergency_contact_name": profile.emergency_contact_name if profile else None,
        "emergency_contact_phone": profile.emergency_contact_phone if profile else None,
        "last_visit_date": iso(profile.last_visit_date) if profile else None,
        "updated_at": iso(profile.updated_at) if profile else None,
    }
    parts, records = sections_and_list(entries)
    data.update(parts)
    data["records"] = records
    return data


def clinician_record(
    *, patient: User, profile: MedicalProfile | None, entries: list[tuple[ClinicalEntry, str]]
) -> dict[str, Any]:
    """The record shape the doctor-side screens read (``MedicalRecord``); ``id`` is the patient's id."""
    parts, records = sections_and_list(entries)
    created = min((e.created_at for e, _ in entries), default=profile.created_at if profile else None)
    updated = max((e.updated_at for e, _ in entries), default=None)
    if profile and (updated is None or profile.updated_at > updated):
        updated = profile.updated_at
    return {
        "id": str(patient.pk),
        "patient_id": str(patient.pk),
        "patient_name": patient.full_name,
        "hpn": patient.hpn,
        "date_of_birth": iso(patient.date_of_birth),
        "gender": patient.gender,
        "blood_type": profile.blood_type if profile else None,
        "height": str(profile.height_cm) if profile and profile.height_cm is not None else None,
        "weight": str(profile.weight_kg) if profile and profile.weight_kg is not None else None,
        "allergies": _list(profile.allergies) if profile else [],
        "conditions": parts["diagnoses"],
        "medications": parts["medications"],
        "lab_results": parts["lab_results"],
        "procedures": parts["procedures"],
        "immunizations": parts["immunizations"],
        "treatments": parts["treatments"],
        "vitals": parts["vitals"],
        "encounters": parts["encounters"],
        "chronic_conditions": _list(profile.chronic_conditions) if profile else [],
        "emergency_contact_name": profile.emergency_contact_name if profile else None,
        "emergency_contact_phone": profile.emergency_contact_phone if profile else None,
        "last_visit_date": iso(profile.last_visit_date) if profile else None,
        "notes": "",
        "records": records,
        "created_at": iso(created),
        "updated_at": iso(updated),
    }


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
