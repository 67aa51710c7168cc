"""A hospital's administrators, managed by its general administrators (the organisation's user
management page, ``/organization/settings/users``).

- A **general administrator** has no department; an administrator with a department is that
  department's **head**. Both have the hospital administrator's rights; only a general
  administrator adds, edits or deactivates administrators.
- **Invited** administrators start without a password (status ``pending``): the invitation email
  sends them to the hospital administrators' password reset, which proves they hold the mailbox
  with an emailed code before they choose one. Sign-in then takes the hospital code and an emailed
  code, as for every administrator.
- Nobody is deleted: "delete" deactivates (the audit trail names the account), and deactivation
  ends every session at once. A general administrator cannot deactivate herself, and the hospital
  always keeps one active general administrator.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from rest_framework.exceptions import ValidationError

from accounts.models import Role, User
from accounts.services import sessions_end
from hospitals.models import Department, Hospital, StaffMember
from hospitals.selectors import INACTIVE_STATUSES, admins_of, staff_of
from phb.api.errors import ApiError, Conflict
from phb.notify import send_email_after_commit

logger = logging.getLogger(__name__)

ROLES = [{"id": Role.HOSPITAL_ADMIN.value, "name": "Organization Administrator",
          "description": "Runs the hospital on PHB: departments, staff, registrations and admissions. An "
                         "administrator with a department heads it.",
          "is_system_role": True}]


def status_of(user: User) -> str:
    if not user.is_active:
        return "inactive"
    return "active" if user.has_usable_password() else "pending"


def _general_admin_hospital(user: User) -> Hospital:
    """The hospital ``user`` runs as a general administrator; 404 for anyone who is not a hospital
    administrator, 403 for a department head."""
    staff = staff_of(user=user) if user.is_hospital_admin else None
    if staff is None:
        raise ApiError("Not found.", status_code=404, code="not_found")
    if staff.department_id is not None:
        raise ApiError("Only a general administrator manages the hospital's administrators.", status_code=403,
                       code="not_general_admin")
    return staff.hospital


def _department(hospital: Hospital, value: Any) -> Department | None:
    if value in (None, ""):
        return None
    try:
        return Department.objects.get(pk=int(value), hospital=hospital, is_active=True)
    except (Department.DoesNotExist, TypeError, ValueError, OverflowError) as exc:
        raise ApiError("Department not found in your hospital.", status_code=404, code="department_not_found") from exc


def admin_of_hospital(*, fetched_by: User, staff_id: int) -> StaffMember:
    """One administrator of the caller's hospital (a general administrator's), else 404."""
    found = admins_of(hospital=_general_admin_hospital(fetched_by)).filter(pk=staff_id).first()
    if found is None:
        raise ApiError("Not found.", status_code=404, code="not_found")
    return found


def admin_invite(*, invited_by: User, data: dict[str, Any]) -> StaffMember:
    hospital = _general_admin_hospital(invited_by)
    department = _department(hospital, data.get("department"))
    try:
        with transaction.atomic():
            user = User.objects.create_user(data["email"], None, full_name=data["full_name"], role=Role.HOSPITAL_ADMIN,
                                            phone=data.get("phone") or "", otp_required_for_login=True)
            staff = StaffMember.objects.create(user=user, hospital=hospital, department=department,
                                               position=data["position"], verified=True)
            send_email_after_commit(to=user.email, subject=f"You are an administrator of {hospital.name} on PHB",
                                    body=_invitation(hospital), kind="admin_invitation")
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists.", code="email_taken") from exc
    logger.info("hospital admin invited", extra={"event": "admin_invited", "staff_id": staff.pk})
    return staff


def _invitation(hospital: Hospital) -> str:
    base = settings.FRONTEND_URL.rstrip("/")
    return (f"You have been added as an administrator of {hospital.name} on PHB.\n\n"
            f"To choose your password, open {base}/hospital-admin/reset-password/request and give this email "
            f"address and the hospital code {hospital.code}; we will email you a code to confirm it is you.\n\n"
            f"Then sign in at {base}/organization/login with the same hospital code.\n\n"
            "If you did not expect this, ignore this email.")


def admin_update(*, updated_by: User, staff: StaffMember, data: dict[str, Any]) -> StaffMember:
    """The edit form: name, phone, position, department, status (active, inactive or suspended).

    ``pending`` (the status the list shows an invited administrator, which the form sends back
    as it was) leaves the status as it is; only an account that is pending may send it, since
    nobody is set back to pending (400 otherwise)."""
    hospital = _general_admin_hospital(updated_by)
    department = _department(hospital, data["department"]) if "department" in data else staff.department
    with transaction.atomic():
        locked = _lock_admins(hospital, [staff.pk])[0]
        user = locked.user
        wanted = data.get("status")
        if wanted == "pending" and status_of(user) != "pending":
            raise ValidationError({"status": ["An account that is not pending cannot be set back to pending; "
                                              "choose active or inactive."]})
        activate = None if wanted in (None, "pending") else wanted not in INACTIVE_STATUSES
        _check_change(by=updated_by, hospital=hospital, staff=[locked], activate=activate,
                      becomes_general=department is None)
        for name in ("full_name", "phone"):
            if name in data:
                setattr(user, name, data[name] or "")
        if activate is not None:
            user.is_active = activate
        user.save(update_fields=["full_name", "phone", "is_active"])
        locked.department = department
        if "position" in data:
            locked.position = data["position"]
        locked.save(update_fields=["department", "position"])
        if activate is False:
            sessions_end(user=user)
    logger.info("hospital admin updated", extra={"event": "admin_updated", "staff_id": staff.pk})
    return admins_of(hospital=hospital).get(pk=staff.pk)


def admins_bulk(*, acted_by: User, action: str, staff_ids: Iterable[int]) -> int:
    """Activate or deactivate ("delete" deactivates) these administrators of the caller's hospital,
    all or none; 404 when one of them is not one."""
    hospital = _general_admin_hospital(acted_by)
    ids = sorted(set(staff_ids))
    activate = action == "activate"
    with transaction.atomic():
        locked = _lock_admins(hospital, ids)
        if len(locked) != len(ids):
            raise ApiError("Not found.", status_code=404, code="not_found")
        _check_change(by=acted_by, hospital=hospital, staff=locked, activate=activate, becomes_general=None)
        changed = [s.user for s in locked if s.user.is_active != activate]
        User.objects.filter(pk__in=[u.pk for u in changed]).update(is_active=activate)
        if not activate:
            for user in changed:
                sessions_end(user=user)
    logger.info("hospital admins changed", extra={"event": "admins_bulk", "action": action, "count": len(changed)})
    return len(changed)


def _lock_admins(hospital: Hospital, ids: list[int]) -> list[StaffMember]:
    """These administrators' rows, locked in id order, with every active general administrator's
    (so that two changes cannot each leave the other one as the last)."""
    rows = list(admins_of(hospital=hospital).select_for_update(of=("self", "user")).filter(
        Q(pk__in=ids) | Q(department__isnull=True, user__is_active=True)).order_by("pk"))
    return [s for s in rows if s.pk in set(ids)]


def _check_change(*, by: User, hospital: Hospital, staff: list[StaffMember], activate: bool | None,
                  becomes_general: bool | None) -> None:
    if activate is False and any(s.user_id == by.pk for s in staff):
        raise Conflict("You cannot deactivate your own account.", code="own_account")
    leaving = {s.pk for s in staff if s.department_id is None and s.user.is_active
               and (activate is False or becomes_general is False)}
    if leaving:
        remaining = admins_of(hospital=hospital).filter(department__isnull=True, user__is_active=True).exclude(pk__in=leaving)
        if not remaining.exists():
            raise Conflict("The hospital must keep an active general administrator.", code="last_general_admin")
