"""Reads of the pharmacy directory and of the caller's own nominations."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from rest_framework.exceptions import NotFound

from accounts.models import User
from pharmacies.geo import bounding_box, haversine_km
from pharmacies.models import Nomination, Pharmacist, Pharmacy

MAX_RESULTS = 100


def directory() -> QuerySet[Pharmacy]:
    return Pharmacy.objects.select_related("hospital").filter(is_active=True)


def pharmacy_search(*, search: str = "", city: str = "", state: str = "",
                    electronic_prescriptions: bool | None = None) -> QuerySet[Pharmacy]:
    qs = directory()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(code__iexact=search) | Q(postcode__iexact=search)
                       | Q(address_line_1__icontains=search) | Q(city__icontains=search))
    if city:
        qs = qs.filter(city__iexact=city)
    if state:
        qs = qs.filter(state__iexact=state)
    if electronic_prescriptions is not None:
        qs = qs.filter(electronic_prescriptions_enabled=electronic_prescriptions)
    return qs.order_by("name", "id")


def pharmacies_near(*, latitude: float, longitude: float, radius_km: float, limit: int,
                    base: QuerySet[Pharmacy] | None = None) -> list[tuple[Pharmacy, float]]:
    """Pharmacies within ``radius_km``, nearest first: one query (the bounding box), then
    exact distances in Python over the candidates."""
    box = bounding_box(latitude, longitude, radius_km)
    candidates = (base if base is not None else directory()).filter(box.q())
    found = []
    for pharmacy in candidates:
        distance = haversine_km(latitude, longitude, pharmacy.latitude, pharmacy.longitude)
        if distance <= radius_km:
            found.append((pharmacy, distance))
    found.sort(key=lambda pair: (pair[1], pair[0].pk))
    return found[:limit]


def pharmacy_detail(*, pharmacy_id: object) -> Pharmacy:
    try:
        return directory().get(pk=int(str(pharmacy_id)))
    except (Pharmacy.DoesNotExist, ValueError):
        raise NotFound("Pharmacy not found.") from None


def nominatable(*, search: str = "", city: str = "", state: str = "") -> QuerySet[Pharmacy]:
    return pharmacy_search(search=search, city=city, state=state, electronic_prescriptions=True)


def current_nomination(*, patient: User) -> Nomination | None:
    return (Nomination.objects.select_related("pharmacy", "pharmacy__hospital", "patient")
            .filter(patient=patient, is_current=True).first())


def nominations_of(*, fetched_by: User) -> QuerySet[Nomination]:
    return Nomination.objects.select_related("pharmacy").filter(patient=fetched_by).order_by("-nominated_at", "-id")


def pharmacy_of(*, user: User) -> Pharmacy | None:
    """The pharmacy a pharmacist works at (None for anyone else, or an unverified pharmacist)."""
    if not user.is_authenticated or not user.is_pharmacist:
        return None
    staff = Pharmacist.objects.select_related("pharmacy").filter(user=user, pharmacy__is_active=True).first()
    return staff.pharmacy if staff else None
