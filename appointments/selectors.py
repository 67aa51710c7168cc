"""Reads about appointments and prescriptions, always scoped to the caller."""

from __future__ import annotations

import operator
import uuid
from datetime import datetime
from functools import reduce

from django.db.models import Q, QuerySet

from accounts.models import User
from appointments.models import Appointment, AppointmentStatus, Prescription
from hospitals.models import StaffMember
from hospitals.selectors import admin_hospital_of, staff_of
from phb.zones import day_bounds, today_in

_RELATED = ("patient", "hospital", "department", "doctor")
_READ_IT = object()  # ``staff`` not given: the selector reads the caller's staff record itself


def _staff_of_caller(fetched_by: User, staff: object) -> StaffMember | None:
    """The caller's staff record: the one a view already read for the same request, or read now.
    A record of anyone else is refused, so passing one can never widen the caller's scope."""
    if staff is _READ_IT:
        return staff_of(user=fetched_by)
    if staff is not None and staff.user_id != fetched_by.pk:
        raise ValueError("staff must be the caller's own staff record")
    return staff


def _doctor_scope_pieces(staff: StaffMember | None, user: User) -> tuple[Q, ...]:
    """Appointments a doctor may act on, whose union is the scope: those assigned to them, and
    their hospital department's (where they have one)."""
    own = Q(doctor=user)
    if staff is None or staff.department_id is None:
        return (own,)
    return (own, Q(hospital_id=staff.hospital_id, department_id=staff.department_id))


def _doctor_scope_q(staff: StaffMember | None, user: User) -> Q:
    """Appointments a doctor may act on: their hospital and department, or assigned to them."""
    return reduce(operator.or_, _doctor_scope_pieces(staff, user))


def clinician_has_appointment_with(*, clinician: User, patient: User) -> bool:
    """True when ``patient`` has a non-cancelled appointment at the clinician's hospital and
    department, or one assigned to the clinician."""
    if clinician is None or not clinician.is_authenticated or not clinician.is_doctor:
        return False
    staff = staff_of(user=clinician)
    return (
        Appointment.objects.filter(patient=patient)
        .exclude(status=AppointmentStatus.CANCELLED)
        .filter(_doctor_scope_q(staff, clinician))
        .exists()
    )


def appointments_of_patient(*, fetched_by: User) -> QuerySet[Appointment]:
    return Appointment.objects.select_related(*_RELATED).filter(patient=fetched_by)


def appointments_for_doctor(*, fetched_by: User, staff: StaffMember | None | object = _READ_IT) -> QuerySet[Appointment]:
    """What a doctor may see and act on; nothing for anyone else. ``staff``: the caller's staff
    record where the view has read it already (``staff_of``), so a request reads it once."""
    if not fetched_by.is_doctor:
        return Appointment.objects.none()
    staff = _staff_of_caller(fetched_by, staff)
    return Appointment.objects.select_related(*_RELATED).filter(_doctor_scope_q(staff, fetched_by))


def doctor_partition(*, fetched_by: User, staff: StaffMember | None) -> tuple[Q, ...]:
    """``appointments_for_doctor`` in disjoint parts, each of which an index reads in a list's order
    (for ``pagination.paginate``'s ``partition``: no one index holds their union in order): each
    piece of the scope less the pieces before it. Empty where the scope is one piece (a doctor
    without a department)."""
    if not fetched_by.is_doctor:
        return ()
    pieces = _doctor_scope_pieces(staff, fetched_by)
    if len(pieces) == 1:
        return ()
    return tuple(piece & ~reduce(operator.or_, pieces[:i]) if i else piece for i, piece in enumerate(pieces))


def appointments_for_hospital_admin(*, fetched_by: User) -> QuerySet[Appointment]:
    hospital = admin_hospital_of(user=fetched_by)
    if hospital is None:
        return Appointment.objects.none()
    return Appointment.objects.select_related(*_RELATED).filter(hospital=hospital)


def appointments_visible_to(*, fetched_by: User) -> QuerySet[Appointment]:
    """Patients see their own, doctors their department's, hospital admins their hospital's."""
    if fetched_by.is_doctor:
        return appointments_for_doctor(fetched_by=fetched_by)
    if fetched_by.is_hospital_admin:
        return appointments_for_hospital_admin(fetched_by=fetched_by)
    return appointments_of_patient(fetched_by=fetched_by)


def appointments_with_clinical_detail_for(*, fetched_by: User) -> QuerySet[Appointment]:
    """Whose clinical detail (complaint, history, allergies, notes, summary, prescriptions) the
    caller may read: a patient her own, a doctor her department's. A hospital admin reads the
    hospital's list (O1), not the clinical content behind it."""
    if fetched_by.is_doctor:
        return appointments_for_doctor(fetched_by=fetched_by)
    if fetched_by.is_patient:
        return appointments_of_patient(fetched_by=fetched_by)
    return Appointment.objects.none()


def appointments_actionable_by(*, fetched_by: User) -> QuerySet[Appointment]:
    """Patients act on their own; doctors on their department's. Hospital admins only read."""
    if fetched_by.is_doctor:
        return appointments_for_doctor(fetched_by=fetched_by)
    if fetched_by.is_patient:
        return appointments_of_patient(fetched_by=fetched_by)
    return Appointment.objects.none()


def ref_lookup(ref: str) -> dict:
    """Lookup kwargs for either the UUID ``id`` or the human ``appointment_id``."""
    try:
        return {"pk": uuid.UUID(str(ref))}
    except ValueError:
        return {"appointment_id": str(ref).strip().upper()}


def appointment_filter(
    qs: QuerySet[Appointment],
    *,
    status: str = "",
    priority: str = "",
    department_id: int | None = None,
    doctor_id: uuid.UUID | None = None,
    start_from: datetime | None = None,
    start_before: datetime | None = None,
) -> QuerySet[Appointment]:
    if status:
        qs = qs.filter(status__in=[s.strip() for s in status.split(",") if s.strip()])
    if priority:
        qs = qs.filter(priority=priority)
    if department_id:
        qs = qs.filter(department_id=department_id)
    if doctor_id:
        qs = qs.filter(doctor_id=doctor_id)
    if start_from:
        qs = qs.filter(start__gte=start_from)
    if start_before:
        qs = qs.filter(start__lt=start_before)
    return qs


def prescriptions_of_patient(*, fetched_by: User) -> QuerySet[Prescription]:
    return (
        Prescription.objects.select_related("prescriber", "appointment", "appointment__hospital")
        .filter(patient=fetched_by)
        .order_by("-issued_at")
    )


def prescriptions_of_appointment(*, appointment: Appointment) -> QuerySet[Prescription]:
    return Prescription.objects.select_related("prescriber").filter(appointment=appointment).order_by("issued_at")


# Statuses the doctor dashboard counts one by one (``summary.my_appointments_count``).
DASHBOARD_STATUSES = ("confirmed", "in_progress", "completed", "cancelled", "no_show", "rescheduled")
_NOT_HAPPENING = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, AppointmentStatus.RESCHEDULED)


def department_pending(*, fetched_by: User, staff: StaffMember) -> QuerySet[Appointment] | None:
    """The pending appointments of the doctor's department (None: the doctor has no department)."""
    if staff.department_id is None:
        return None
    return appointments_for_doctor(fetched_by=fetched_by, staff=staff).filter(
        hospital_id=staff.hospital_id, department_id=staff.department_id, status=AppointmentStatus.PENDING)


def doctor_dashboard_summary(*, fetched_by: User, staff: StaffMember, now: datetime, zone,
                             pending_department: int | None = None) -> dict:
    """The doctor dashboard's counters, over the doctor's whole workload (not one page of it):
    pending appointments in the doctor's department (``pending_department``, counted here unless
    the caller counted :func:`department_pending` already), the doctor's own appointments by status,
    today's (hospital local day, not cancelled, no-show or rescheduled) and upcoming ones
    (pending or confirmed, starting from now on). One or two queries."""
    from django.db.models import Count

    if pending_department is None:
        pending = department_pending(fetched_by=fetched_by, staff=staff)
        pending_department = pending.count() if pending is not None else 0
    today_start, today_end = day_bounds(today_in(zone, now=now), zone)
    counts = Appointment.objects.filter(doctor=fetched_by).aggregate(
        total=Count("id"),
        today=Count("id", filter=Q(start__gte=today_start, start__lt=today_end) & ~Q(status__in=_NOT_HAPPENING)),
        upcoming=Count("id", filter=Q(start__gte=now,
                                      status__in=(AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED))),
        **{key: Count("id", filter=Q(status=key)) for key in DASHBOARD_STATUSES},
    )
    return {
        "pending_department_count": pending_department,
        "my_appointments_count": {**{key: counts[key] for key in DASHBOARD_STATUSES}, "total": counts["total"]},
        "today_appointments": counts["today"],
        "upcoming_appointments": counts["upcoming"],
    }
