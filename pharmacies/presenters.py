"""The JSON shapes the frontend reads (``services/pharmacyService.ts``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from pharmacies.models import Nomination, Pharmacy
from phb.api.timestamps import iso_z

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def is_open(pharmacy: Pharmacy, *, now: datetime | None = None) -> bool:
    try:
        local = (now or timezone.now()).astimezone(ZoneInfo(pharmacy.time_zone))
    except Exception:  # an unknown zone: say closed rather than guess
        return False
    hours = (pharmacy.opening_hours or {}).get(DAYS[local.weekday()]) or {}
    if not hours or hours.get("closed") or not hours.get("open") or not hours.get("close"):
        return False
    return str(hours["open"]) <= local.strftime("%H:%M") <= str(hours["close"])


def pharmacy_summary(pharmacy: Pharmacy | None) -> dict | None:
    """``ApiPharmacy`` of the prescription screens."""
    if pharmacy is None:
        return None
    return {
        "id": pharmacy.pk,
        "phb_pharmacy_code": pharmacy.code,
        "name": pharmacy.name,
        "address_line_1": pharmacy.address_line_1,
        "city": pharmacy.city,
        "postcode": pharmacy.postcode,
        "phone": pharmacy.phone,
        "electronic_prescriptions_enabled": pharmacy.electronic_prescriptions_enabled,
    }


def pharmacy_payload(pharmacy: Pharmacy, *, distance_km: float | None = None) -> dict:
    """``Pharmacy`` of the directory screens."""
    parts = [pharmacy.address_line_1, pharmacy.address_line_2, pharmacy.city, pharmacy.state, pharmacy.postcode]
    return {
        **pharmacy_summary(pharmacy),
        "description": pharmacy.description,
        "address_line_2": pharmacy.address_line_2,
        "state": pharmacy.state,
        "country": pharmacy.country,
        "email": pharmacy.email,
        "website": pharmacy.website,
        "opening_hours": pharmacy.opening_hours or {},
        "services_offered": pharmacy.services_offered or [],
        "latitude": pharmacy.latitude,
        "longitude": pharmacy.longitude,
        "hospital": pharmacy.hospital_id,
        "hospital_name": pharmacy.hospital.name if pharmacy.hospital_id else None,
        "is_active": pharmacy.is_active,
        "verified": pharmacy.verified,
        "is_open": is_open(pharmacy),
        "distance": round(distance_km, 2) if distance_km is not None else None,
        "full_address": ", ".join(p for p in parts if p),
        "created_at": iso_z(pharmacy.created_at),
        "updated_at": iso_z(pharmacy.updated_at),
        "source": "admin_pharmacy",
        "pharmacy_id": pharmacy.pk,
    }


def nomination_payload(nomination: Nomination) -> dict:
    return {
        "id": nomination.pk,
        "user": str(nomination.patient_id),
        "user_email": nomination.patient.email,
        "user_hpn": nomination.patient.hpn,
        "pharmacy": pharmacy_payload(nomination.pharmacy),
        "nomination_type": nomination.nomination_type,
        "is_current": nomination.is_current,
        "nominated_at": iso_z(nomination.nominated_at),
        "ended_at": iso_z(nomination.ended_at),
        "notes": nomination.notes,
    }


def nomination_history_item(nomination: Nomination) -> dict:
    return {
        "id": nomination.pk,
        "pharmacy_name": nomination.pharmacy.name,
        "pharmacy_code": nomination.pharmacy.code,
        "nomination_type": nomination.nomination_type,
        "is_current": nomination.is_current,
        "nominated_at": iso_z(nomination.nominated_at),
        "ended_at": iso_z(nomination.ended_at),
    }
