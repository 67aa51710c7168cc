"""Who counts as staff: one rule for every decision that depends on it.

Staff (doctors, hospital admins and every other clinical or hospital role added to
``STAFF_ROLES``) always sign in with the emailed code, whatever their ``otp_required_for_login``
says, and may not turn it off. A new staff role joins by being added to ``STAFF_ROLES``.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Role

STAFF_ROLES: frozenset[str] = frozenset({Role.DOCTOR, Role.HOSPITAL_ADMIN, Role.PHARMACIST})


def is_staff_member(user: Any) -> bool:
    """Clinical and hospital staff, and platform operators (Django ``is_staff``)."""
    return getattr(user, "role", None) in STAFF_ROLES or bool(getattr(user, "is_staff", False))


def login_code_required(user: Any) -> bool:
    """Whether signing in as ``user`` needs the emailed one-time code after the password."""
    return is_staff_member(user) or bool(user.otp_required_for_login)
