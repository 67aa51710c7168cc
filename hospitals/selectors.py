"""Reads about hospitals, scoped to the caller."""

from __future__ import annotations

import uuid

from django.db.models import FilteredRelation, Q, QuerySet

from accounts.models import Role, User
from hospitals.models import (
    HOSPITAL_PROFILE_FIELDS,
    Department,
    Hospital,
    HospitalRegistration,
    RegistrationStatus,
    StaffMember,
)
from phb.db import PrecompiledLookup
from phb.geo import bounding_box, distance_km
from phb.related import related_once


def users_with_primary_registration() -> QuerySet[User]:
    return User.objects.annotate(
        primary_reg=FilteredRelation("hospital_registrations", condition=Q(hospital_registrations__is_primary=True))
    ).select_related("primary_reg__hospital").defer(*(f"primary_reg__hospital__{name}"
                                                      for name in HOSPITAL_PROFILE_FIELDS))


# Runs on every authenticated request: compiled once per connection (see phb.db).
_user_with_primary_registration = PrecompiledLookup(
    lambda user_id: users_with_primary_registration().filter(pk=user_id),
    key_field="id",
    sentinel=uuid.UUID(int=0),
)


def user_with_primary_registration(*, user_id: object) -> User | None:
    """The user with their primary registration (and its hospital) joined in: one query.

    Authentication loads the caller this way, so :func:`primary_registration_of` costs nothing
    more on the request path.
    """
    try:
        key = user_id if isinstance(user_id, uuid.UUID) else uuid.UUID(str(user_id))
    except ValueError:
        return None
    user = _user_with_primary_registration.get(key)
    if user is not None:
        user._primary_registration = getattr(user, "primary_reg", None)
        user._primary_registration_loaded = True
    return user


def primary_registration_of(*, user: User) -> HospitalRegistration | None:
    if getattr(user, "_primary_registration_loaded", False):
        return user._primary_registration
    return (
        HospitalRegistration.objects.select_related("hospital")
        .filter(user=user, is_primary=True)
        .first()
    )


def registrations_of(*, user: User) -> QuerySet[HospitalRegistration]:
    return HospitalRegistration.objects.select_related("hospital").filter(user=user).order_by("-created_at")


def active_hospitals() -> QuerySet[Hospital]:
    return Hospital.objects.filter(is_active=True)


def hospital_list(*, q: str = "", state: str = "", city: str = "") -> QuerySet[Hospital]:
    """Active hospitals matching the search (name, city or state containing ``q``, or the code), by name."""
    qs = Hospital.objects.filter(is_active=True)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(city__icontains=q) | Q(state__icontains=q) | Q(code__iexact=q))
    if state:
        qs = qs.filter(state__iexact=state)
    if city:
        qs = qs.filter(city__iexact=city)
    return qs.order_by("name", "id")


def hospitals_near(*, latitude: float, longitude: float, radius_km: float) -> QuerySet[Hospital]:
    """Active hospitals within ``radius_km`` of the point, nearest first, each with ``distance`` (km,
    haversine). The database computes the distance: a bounding box narrows the rows, the distance
    keeps those inside the radius and orders them, so a page of them is cut there."""
    return (
        Hospital.objects.filter(bounding_box(latitude, longitude, radius_km).q(), is_active=True)
        .annotate(distance=distance_km(latitude, longitude))
        .filter(distance__lte=radius_km)
        .order_by("distance", "id")
    )


EMERGENCY_DEPARTMENT = "emergency"


def facilities_of(*, hospital_ids: list[int]) -> dict[int, dict[str, object]]:
    """Hospital id -> what the hospital has, from its own records: ``bed_capacity`` (its in-service
    beds in active wards), ``icu_unit`` (an ICU or HDU bed among them) and ``emergency_unit`` (an
    active emergency department). Two queries, whatever the number of hospitals."""
    from admissions.selectors import bed_counts_by_hospital

    beds = bed_counts_by_hospital(hospital_ids=hospital_ids)
    emergency = set(Department.objects.filter(hospital_id__in=hospital_ids, is_active=True,
                                              department_type=EMERGENCY_DEPARTMENT)
                    .values_list("hospital_id", flat=True).distinct())
    return {
        hospital_id: {
            "bed_capacity": beds.get(hospital_id, {}).get("total", 0),
            "icu_unit": beds.get(hospital_id, {}).get("icu_total", 0) > 0,
            "emergency_unit": hospital_id in emergency,
        }
        for hospital_id in hospital_ids
    }


def departments_of_hospital(*, hospital_id: int) -> QuerySet[Department]:
    """The active departments of an active hospital, by name (``pagination.DEPARTMENTS``)."""
    return Department.objects.filter(hospital_id=hospital_id, is_active=True, hospital__is_active=True).order_by(
        "name", "id")


def staff_of(*, user: User) -> StaffMember | None:
    """The place of a doctor or hospital admin (with its hospital and department), read once per
    user instance, which is once per request (``phb.related``)."""
    if user.is_patient:
        return None
    return related_once(user, "staff",
                        lambda: StaffMember.objects.select_related("hospital", "department").filter(user=user).first())


def works_at_inactive_hospital(*, user: User) -> bool:
    """Whether ``user`` is staff of a deactivated hospital: a doctor or hospital admin whose place
    is there, or a pharmacist whose pharmacy belongs to it. Such an account neither signs in nor
    uses a session it holds (``accounts.authentication``) until the hospital is reactivated.

    Patients are never refused here, and the account query authentication runs is left as it is:
    the check reads the staff place the staff views read anyway (``staff_of``, ``pharmacist_of``,
    once per request), plus, for a pharmacist of a hospital's pharmacy, that hospital's state."""
    if user.role in (Role.DOCTOR, Role.HOSPITAL_ADMIN):
        staff = staff_of(user=user)
        return staff is not None and not staff.hospital.is_active
    if user.role == Role.PHARMACIST:
        from pharmacies.selectors import pharmacist_of

        pharmacist = pharmacist_of(user=user)
        hospital_id = pharmacist.pharmacy.hospital_id if pharmacist is not None else None
        return hospital_id is not None and Hospital.objects.filter(pk=hospital_id, is_active=False).exists()
    return False


def admin_hospital_of(*, user: User) -> Hospital | None:
    """The hospital ``user`` administers, or None."""
    if not user.is_hospital_admin:
        return None
    staff = staff_of(user=user)
    return staff.hospital if staff else None


def administers_hospital_code(*, user: User, hospital_code: str) -> bool:
    """Whether ``user`` is the admin of the hospital with this code (case and spaces ignored)."""
    hospital = admin_hospital_of(user=user)
    return hospital is not None and hospital.code.lower() == (hospital_code or "").strip().lower()


def admin_for_reset(*, email: str, hospital_code: str) -> User | None:
    """The active hospital admin with this email at the active hospital with this code, or None
    (a deactivated hospital's admin gets no reset code, as she cannot sign in)."""
    user = User.objects.filter(email=(email or "").strip().lower(), is_active=True).first()
    if user is None or not administers_hospital_code(user=user, hospital_code=hospital_code):
        return None
    if works_at_inactive_hospital(user=user):
        return None
    return user


def registrations_for_admin(*, fetched_by: User, status: str = "") -> QuerySet[HospitalRegistration]:
    hospital = admin_hospital_of(user=fetched_by)
    if hospital is None:
        return HospitalRegistration.objects.none()
    qs = HospitalRegistration.objects.select_related("user", "hospital").filter(hospital=hospital)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


# The edit form's "suspended" is stored as inactive.
INACTIVE_STATUSES = ("inactive", "suspended")


def admins_of(*, hospital: Hospital) -> QuerySet[StaffMember]:
    """The hospital's administrators (active or not)."""
    return StaffMember.objects.select_related("user", "department").filter(
        hospital=hospital, user__role=Role.HOSPITAL_ADMIN)


def admins_of_hospital(*, fetched_by: User, search: str = "", status: str = "",
                       role: str = "") -> QuerySet[StaffMember] | None:
    """The hospital admins of the hospital ``fetched_by`` administers; None for anyone else.
    ``search``: name, email or position; ``status``: active, pending (invited, no password yet),
    inactive or suspended; ``role``: general (no department) or department_head."""
    hospital = admin_hospital_of(user=fetched_by)
    if hospital is None:
        return None
    qs = admins_of(hospital=hospital)
    if search:
        qs = qs.filter(Q(user__full_name__icontains=search) | Q(user__email__icontains=search)
                       | Q(position__icontains=search))
    pending = Q(user__password__startswith="!")
    if status == "active":
        qs = qs.filter(Q(user__is_active=True) & ~pending)
    elif status == "pending":
        qs = qs.filter(pending, user__is_active=True)
    elif status in INACTIVE_STATUSES:
        qs = qs.filter(user__is_active=False)
    if role == "general":
        qs = qs.filter(department__isnull=True)
    elif role == "department_head":
        qs = qs.filter(department__isnull=False)
    return qs


def is_approved_patient(*, user: User, hospital_id: int) -> bool:
    return HospitalRegistration.objects.filter(
        user=user, hospital_id=hospital_id, status=RegistrationStatus.APPROVED
    ).exists()
