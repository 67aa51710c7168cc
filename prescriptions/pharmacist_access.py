"""Who may act on prescriptions as a pharmacist: only one whose registration an operator has
verified (``Pharmacist.verified``, the ``verified`` of ``/api/registry/my-info/``)."""

from __future__ import annotations

from accounts.models import User
from pharmacies.selectors import pharmacist_of
from phb.api.errors import ApiError


def verified_pharmacist_check(*, user: User, doing: str) -> None:
    """Refuse (403 ``pharmacist_not_verified``) a pharmacist whose registration is not verified,
    before anything is looked up; ``doing`` says what she tried ("dispense prescriptions"). Other
    roles are answered by each caller's own rule."""
    if not user.is_pharmacist:
        return
    record = pharmacist_of(user=user)
    if record is None or not record.verified:
        raise ApiError(f"Only verified pharmacists can {doing}: your pharmacist registration has not been "
                       "verified yet. Contact your pharmacy's administrator.", status_code=403,
                       code="pharmacist_not_verified")
