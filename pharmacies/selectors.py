"""Reads of the pharmacy directory and of the caller's own nominations."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from rest_framework.exceptions import NotFound

from accounts.models import User
from pharmacies.models import Nomination, Pharmacist, Pharmacy
from phb.geo import bounding_box, distance_km
from phb.related import related_once


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


def pharmacies_near(*, latitude: float, longitude: float, radius_km: float,
                    base: QuerySet[Pharmacy] | None = None) -> QuerySet[Pharmacy]:
    """Pharmacies of ``base`` (the directory) within ``radius_km``, each with ``distance_km``,
    nearest first (ties by id). The bounding box narrows the rows on the ``latitude``/``longitude``
    index; the database measures the candidates and keeps those within the radius, so a page of
    them (``pagination.PHARMACIES_NEARBY``, ``PHARMACIES_BY_DISTANCE``) is cut there."""
    box = bounding_box(latitude, longitude, radius_km)
    candidates = (base if base is not None else directory()).filter(box.q())
    return (candidates.annotate(distance_km=distance_km(latitude, longitude))
            .filter(distance_km__lte=radius_km).order_by("distance_km", "id"))


def pharmacy_detail(*, pharmacy_id: object) -> Pharmacy:
    try:
        return directory().get(pk=int(str(pharmacy_id)))
    except (Pharmacy.DoesNotExist, ValueError):
        raise NotFound("Pharmacy not found.") from None


def nominatable(*, search: str = "", city: str = "", state: str = "", own_city: str = "") -> QuerySet[Pharmacy]:
    """Pharmacies taking electronic prescriptions, those in ``own_city`` (the caller's, any case)
    first, then by name: ``own_city`` is 0 for them and 1 for the others (0 for all without one)."""
    first = (Case(When(city__iexact=own_city, then=Value(0)), default=Value(1), output_field=IntegerField())
             if own_city else Value(0, output_field=IntegerField()))
    return (pharmacy_search(search=search, city=city, state=state, electronic_prescriptions=True)
            .annotate(own_city=first).order_by("own_city", "name", "id"))


def current_nomination(*, patient: User) -> Nomination | None:
    return (Nomination.objects.select_related("pharmacy", "pharmacy__hospital", "patient")
            .filter(patient=patient, is_current=True).first())


def routable_nomination(*, patient: User) -> Pharmacy | None:
    """The pharmacy the patient's prescriptions go to by nomination: the current nomination's
    pharmacy while it is open (``is_active``) and takes electronic prescriptions. None otherwise,
    exactly as when the patient nominated none."""
    nomination = current_nomination(patient=patient)
    if nomination is None:
        return None
    pharmacy = nomination.pharmacy
    return pharmacy if pharmacy.is_active and pharmacy.electronic_prescriptions_enabled else None


def nominations_of(*, fetched_by: User) -> QuerySet[Nomination]:
    return Nomination.objects.select_related("pharmacy").filter(patient=fetched_by).order_by("-nominated_at", "-id")


def pharmacist_of(*, user: User) -> Pharmacist | None:
    """A pharmacist's record with its pharmacy (None for anyone else), read once per user instance,
    which is once per request (``phb.related``)."""
    if not user.is_authenticated or not user.is_pharmacist:
        return None
    return related_once(user, "pharmacist",
                        lambda: Pharmacist.objects.select_related("pharmacy").filter(user=user).first())


def pharmacy_of(*, user: User) -> Pharmacy | None:
    """The active pharmacy a pharmacist works at (None for anyone else)."""
    staff = pharmacist_of(user=user)
    return staff.pharmacy if staff is not None and staff.pharmacy.is_active else None
