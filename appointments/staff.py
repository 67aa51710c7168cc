"""Hospital staff as the roster page sees them, doctors' own availability, and roster changes.

Selectors take the caller and scope inside: a hospital admin sees and changes the staff and
rosters of her hospital; a doctor sees her hospital's staff and switches only her own
availability; anybody else sees nothing.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from appointments import rosters, slot_grid
from appointments.models import RosterException, RosterExceptionKind, RosterSession, StaffAvailability
from hospitals.models import Department, Hospital, StaffMember
from hospitals.selectors import admin_hospital_of, staff_of
from phb.api.errors import ApiError
from phb.api.pagination import PageSpec
from phb.numbers import whole_number

NEXT_SLOT_DAYS = 14
CREATABLE_ROLES = {"doctor": Role.DOCTOR}

# The lists' pages (README.md, "Lists and pagination"). The staff's ordering names the annotation
# of the selector below: ``name_key`` (the member's full name).
STAFF = PageSpec(ordering=("name_key", "id"), default=500, maximum=500)
ROSTER_SESSIONS = PageSpec(ordering=("department_id", "weekday", "start_time", "id"), default=500, maximum=500)
ROSTER_EXCEPTIONS = PageSpec(ordering=("-date", "-id"), default=500, maximum=500)


def _hospital_of(user: User) -> Hospital | None:
    if not user.is_authenticated or user.is_patient:
        return None
    staff = staff_of(user=user)
    return staff.hospital if staff else None


def staff_list(*, fetched_by: User) -> QuerySet[StaffMember]:
    """The active staff of the caller's hospital by full name (``name_key``), then id."""
    hospital = _hospital_of(fetched_by)
    members = (StaffMember.objects.select_related("user", "hospital", "department", "user__availability")
               .annotate(name_key=F("user__full_name")).order_by("name_key", "pk"))
    if hospital is None:
        return members.none()
    return members.filter(hospital=hospital, user__is_active=True)


def sessions_list(*, fetched_by: User) -> QuerySet[RosterSession]:
    """The weekly sessions of the hospital the caller administers."""
    hospital = admin_hospital_of(user=fetched_by)
    sessions = RosterSession.objects.select_related("department")
    if hospital is None:
        return sessions.none()
    return sessions.filter(department__hospital=hospital)


def exceptions_list(*, fetched_by: User) -> QuerySet[RosterException]:
    """The roster exceptions recorded for the hospital the caller administers (its own index)."""
    hospital = admin_hospital_of(user=fetched_by)
    if hospital is None:
        return RosterException.objects.none()
    return RosterException.objects.filter(hospital=hospital)


# --- What the roster page shows ---------------------------------------------------------------------
def consultation_hours(*, sessions: list[RosterSession], weekday: int) -> tuple[str | None, str | None]:
    today = [s for s in sessions if s.weekday == weekday and s.is_active]
    if not today:
        return None, None
    return min(s.start_time for s in today).strftime("%H:%M:%S"), max(s.end_time for s in today).strftime("%H:%M:%S")


def next_free_slots(*, department: Department, doctor_ids: list[uuid.UUID], now: datetime | None = None
                    ) -> dict[uuid.UUID, datetime]:
    """The first slot (hospital wall clock) in which each doctor still has a place, within two weeks.

    The two weeks are read at once (the roster in four queries, the doctors' bookings in one), so
    the cost does not grow with how far ahead a doctor's next place is."""
    now = now or timezone.now()
    zone = slot_grid.hospital_zone(department.hospital)
    local_now = now.astimezone(zone).replace(tzinfo=None)
    starts = [start for offset in range(NEXT_SLOT_DAYS)
              for start in slot_grid.slot_starts_of_day(local_now.date() + timedelta(days=offset)) if start > local_now]
    wanted = set(doctor_ids)
    if not starts or not wanted:
        return {}
    seats = rosters.seats_of_days(department=department, starts=starts)
    aware = {s: slot_grid.local_to_aware(s, zone) for s in starts}
    loads = rosters.doctor_loads_between(doctor_ids=sorted(wanted, key=str), first=aware[starts[0]],
                                         last=aware[starts[-1]])
    found: dict[uuid.UUID, datetime] = {}
    for start in starts:
        for seat in seats[start]:
            if seat.doctor_id in wanted and seat.doctor_id not in found \
                    and seat.patients_per_slot > loads.get((seat.doctor_id, aware[start]), 0):
                found[seat.doctor_id] = start
        if len(found) == len(wanted):
            break
    return found


def staff_rows(*, members: list[StaffMember], now: datetime | None = None) -> list[dict]:
    now = now or timezone.now()
    doctors = [m.user_id for m in members if m.user.role == Role.DOCTOR]
    sessions: dict[uuid.UUID, list[RosterSession]] = {}
    for session in RosterSession.objects.filter(doctor_id__in=doctors, is_active=True):
        sessions.setdefault(session.doctor_id, []).append(session)
    next_slot: dict[uuid.UUID, datetime] = {}
    by_department: dict[int, list[uuid.UUID]] = {}
    for doctor_sessions in sessions.values():
        for s in doctor_sessions:
            by_department.setdefault(s.department_id, []).append(s.doctor_id)
    for department in Department.objects.select_related("hospital").filter(pk__in=list(by_department)):
        for doctor, start in next_free_slots(department=department, doctor_ids=sorted(set(by_department[department.pk]),
                                                                                   key=str), now=now).items():
            if doctor not in next_slot or start < next_slot[doctor]:
                next_slot[doctor] = start
    rows = []
    for member in members:
        user = member.user
        availability = getattr(user, "availability", None)
        available = availability.is_available if availability is not None else True
        zone = slot_grid.hospital_zone(member.hospital)
        weekday = now.astimezone(zone).weekday()
        start, end = consultation_hours(sessions=sessions.get(user.pk, []), weekday=weekday)
        nxt = next_slot.get(user.pk)
        rows.append({
            "id": member.pk,
            "user_id": str(user.pk),
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role,
            "role_display": user.get_role_display(),
            "department_id": member.department_id,
            "department_name": member.department.name if member.department else None,
            "specialization": member.specialization or None,
            "is_available": available,
            "availability_status": {
                "is_available": available,
                "consultation_hours_start": start,
                "consultation_hours_end": end,
                "next_available_slot": nxt.replace(tzinfo=zone).isoformat() if nxt and available else None,
            },
            "phone": user.phone or None,
            "last_login": user.last_login.isoformat() if user.last_login else None,
            "date_joined": user.date_joined.isoformat(),
            "roster": [session_row(s) for s in sorted(sessions.get(user.pk, []), key=lambda s: (s.weekday, s.start_time))],
        })
    return rows


def session_row(session: RosterSession) -> dict:
    return {
        "id": session.pk, "doctor_id": str(session.doctor_id), "department_id": session.department_id,
        "weekday": session.weekday, "start_time": session.start_time.strftime("%H:%M:%S"),
        "end_time": session.end_time.strftime("%H:%M:%S"), "patients_per_slot": session.patients_per_slot,
        "is_active": session.is_active,
    }


def exception_row(row: RosterException) -> dict:
    return {
        "id": row.pk, "doctor_id": str(row.doctor_id), "kind": row.kind, "date": row.date.isoformat(),
        "start_time": row.start_time.strftime("%H:%M:%S") if row.start_time else None,
        "end_time": row.end_time.strftime("%H:%M:%S") if row.end_time else None,
        "department_id": row.department_id, "patients_per_slot": row.patients_per_slot,
    }


# --- Services ---------------------------------------------------------------------------------------
def availability_set(*, user: User, is_available: bool) -> StaffAvailability:
    if not user.is_doctor:
        raise ApiError("Only doctors have an availability to switch.", status_code=403, code="not_a_doctor")
    row, _ = StaffAvailability.objects.update_or_create(user=user, defaults={"is_available": is_available})
    return row


def admin_hospital(user: User) -> Hospital:
    hospital = admin_hospital_of(user=user)
    if hospital is None:
        raise ApiError("Only a hospital's administrator can manage its staff and rosters.", status_code=403,
                       code="not_hospital_admin")
    return hospital


def _department(hospital: Hospital, department_id) -> Department:
    """The active department of ``hospital`` with this id: a JSON whole number or its digits (not
    ``true``, ``1.9`` or a number too large for an integer, which ``int()`` would turn or refuse)."""
    number = department_id if type(department_id) is int else whole_number(department_id)
    try:
        return Department.objects.get(pk=number, hospital=hospital, is_active=True)
    except (Department.DoesNotExist, TypeError, ValueError) as exc:
        raise ApiError("Department not found in your hospital.", status_code=404, code="department_not_found") from exc


def _doctor(hospital: Hospital, doctor_id) -> User:
    try:
        key = uuid.UUID(str(doctor_id))
    except ValueError:
        key = None
    qs = User.objects.filter(role=Role.DOCTOR, staff__hospital=hospital, is_active=True)
    doctor = qs.filter(pk=key).first() if key else None
    if doctor is None:
        number = whole_number(str(doctor_id))
        doctor = qs.filter(staff__pk=number).first() if number is not None else None
    if doctor is None:
        raise ApiError("Doctor not found in your hospital.", status_code=404, code="doctor_not_found")
    return doctor


def staff_create(*, created_by: User, data: dict) -> StaffMember:
    hospital = admin_hospital(created_by)
    role = CREATABLE_ROLES.get(str(data.get("role", "")).lower())
    if role is None:
        raise ApiError("Only doctors can be added here (role must be 'doctor').", code="unsupported_role")
    email = str(data.get("email") or "").strip().lower()
    if "@" not in email:
        raise ApiError("A valid email is required.", code="invalid_email")
    department = _department(hospital, data.get("department"))
    password = str(data.get("password") or "")
    name = " ".join(str(data.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    if not name:
        raise ApiError("first_name and last_name are required.", code="invalid_name")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise ApiError(" ".join(exc.messages), code="invalid_password") from exc
    profile = data.get("doctor_profile") or {}
    password_hash = make_password(password)  # hashing is slow: never inside the transaction
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email, password_hash=password_hash, full_name=name[:200], role=role, phone=str(data.get("phone") or "")[:32],
                gender=str(data.get("gender") or "")[:32], preferred_language=str(data.get("preferred_language") or "")[:64],
                date_of_birth=data.get("date_of_birth"), otp_required_for_login=True,
            )
            return StaffMember.objects.create(
                user=user, hospital=hospital, department=department, position="Doctor",
                license_number=str(profile.get("medical_license_number") or "").strip()[:64],
                license_expiry_date=profile.get("license_expiry_date"),
                specialization=str(profile.get("specialization") or "").strip()[:120],
                years_of_experience=profile.get("years_of_experience"),
            )
    except IntegrityError as exc:
        raise ApiError("An account with this email already exists.", status_code=409, code="email_taken") from exc


def _clock(value, name: str) -> time:
    """A roster time on the hospital's wall clock: no UTC offset, no fraction of a second."""
    try:
        parsed = time.fromisoformat(str(value))
    except (TypeError, ValueError) as exc:
        raise ApiError(f"{name} must be a time such as 09:00.", code="invalid_time") from exc
    if parsed.tzinfo is not None or parsed.microsecond:
        raise ApiError(f"{name} must be a time such as 09:00 on the hospital's clock, without an offset.",
                       code="invalid_time")
    return parsed


def _on_grid(start: time, end: time) -> None:
    problem = rosters.off_grid(start=start, end=end)
    if problem:
        raise ApiError(problem, code="invalid_time")


def _per_slot(value: object, *, code: str) -> int:
    """``patients_per_slot``: 1 when left out, else a whole number from 1 to 20 (400 otherwise)."""
    if value in (None, ""):
        return 1
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,2}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        raise ApiError("patients_per_slot must be a whole number from 1 to 20.", code=code)
    return value


def session_create(*, created_by: User, data: dict) -> RosterSession:
    hospital = admin_hospital(created_by)
    doctor = _doctor(hospital, data.get("doctor_id"))
    department = _department(hospital, data.get("department_id"))
    try:
        weekday = int(data.get("weekday"))
    except (TypeError, ValueError, OverflowError) as exc:
        raise ApiError("weekday must be a number, 0 (Monday) to 6.", code="invalid_session") from exc
    if not 0 <= weekday <= 6:
        raise ApiError("weekday is 0 (Monday) to 6.", code="invalid_session")
    per_slot = _per_slot(data.get("patients_per_slot"), code="invalid_session")
    start, end = _clock(data.get("start_time"), "start_time"), _clock(data.get("end_time"), "end_time")
    _on_grid(start, end)
    with transaction.atomic():
        rosters.doctor_lock(doctor_id=doctor.pk)
        clash = rosters.session_clash(doctor_id=doctor.pk, department=department, weekday=weekday, start=start,
                                      end=end)
        if clash:
            raise ApiError(clash, status_code=409, code="session_overlap")
        return RosterSession.objects.create(doctor=doctor, department=department, weekday=weekday, start_time=start,
                                            end_time=end, patients_per_slot=per_slot)


def session_delete(*, session: RosterSession) -> None:
    """Future bookings keep their doctor; the slots only lose the places of this session."""
    session.delete()


def exception_create(*, created_by: User, data: dict) -> RosterException:
    hospital = admin_hospital(created_by)
    doctor = _doctor(hospital, data.get("doctor_id"))
    kind = str(data.get("kind", ""))
    if kind not in RosterExceptionKind.values:
        raise ApiError("kind must be 'leave' or 'extra'.", code="invalid_exception")
    try:
        day = datetime.fromisoformat(str(data.get("date"))).date()
    except ValueError as exc:
        raise ApiError("date must be a date such as 2025-01-31.", code="invalid_date") from exc
    start = _clock(data["start_time"], "start_time") if data.get("start_time") else None
    end = _clock(data["end_time"], "end_time") if data.get("end_time") else None
    if (start is None) != (end is None):
        raise ApiError("Give both start_time and end_time, or neither for the whole day.", code="invalid_time")
    if start is not None:
        _on_grid(start, end)
    department = None
    if kind == RosterExceptionKind.EXTRA:
        if start is None:
            raise ApiError("An extra session needs start_time and end_time.", code="invalid_time")
        department = _department(hospital, data.get("department_id"))
    per_slot = _per_slot(data.get("patients_per_slot"), code="invalid_exception")
    with transaction.atomic():
        rosters.doctor_lock(doctor_id=doctor.pk)
        clash = department is not None and rosters.extra_clash(doctor_id=doctor.pk, department_id=department.pk,
                                                               day=day, start=start, end=end)
        if clash:
            raise ApiError(clash, status_code=409, code="session_overlap")
        return RosterException.objects.create(doctor=doctor, kind=kind, date=day, start_time=start, end_time=end,
                                              department=department, patients_per_slot=per_slot, hospital=hospital)
