"""W1–W3: the women's-health area's own one-time-code check (purpose ``womens_health``).

Built on ``accounts.codes`` like the medical-records gate, but with its own purpose, so a login
or records code cannot open this area and the other way round. A successful check is kept on
the profile for ``WOMENS_HEALTH_VERIFICATION_DAYS``; every data endpoint of the area requires it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.codes import CodeRejected, code_pending, code_verify
from accounts.models import CodePurpose, User
from accounts.services import code_send
from accounts.throttles import throttle_code_request
from phb import metrics
from phb.api.errors import ApiError
from tracking.models import WomensHealthProfile

logger = logging.getLogger("tracking.verification")


def _valid_since() -> datetime:
    return timezone.now() - timedelta(days=settings.WOMENS_HEALTH_VERIFICATION_DAYS)


def still_valid(verified_at: datetime | None) -> bool:
    """Whether a check made at ``verified_at`` still opens the area."""
    return verified_at is not None and verified_at > _valid_since()


def verified_at_of(*, user: User) -> datetime | None:
    found = WomensHealthProfile.objects.filter(user=user).values_list("verified_at", flat=True).first()
    return found if still_valid(found) else None


def is_verified(*, user: User) -> bool:
    return verified_at_of(user=user) is not None


def verification_status(*, user: User) -> dict[str, Any]:
    verified_at = verified_at_of(user=user)
    pending = code_pending(user=user, purpose=CodePurpose.WOMENS_HEALTH)
    return {
        "verified": verified_at is not None,
        "verification_date": verified_at.isoformat() if verified_at else None,
        "expires_at": (verified_at + timedelta(days=settings.WOMENS_HEALTH_VERIFICATION_DAYS)).isoformat()
        if verified_at else None,
        "has_pending_otp": pending is not None,
        "otp_expires_at": pending.expires_at.isoformat() if pending else None,
    }


def verification_send(*, user: User) -> None:
    throttle_code_request(user_id=user.pk, purpose="womens-health")
    code_send(user=user, purpose=CodePurpose.WOMENS_HEALTH,
              note="Enter it on the women's health page to open your tracking data.")


def verification_confirm(*, user: User, code: object) -> datetime:
    try:
        code_verify(user=user, purpose=CodePurpose.WOMENS_HEALTH, code=code)
    except CodeRejected as exc:
        logger.info("women's health code refused", extra={"event": "code_refused", "purpose": "womens_health",
                                                          "reason": exc.reason})
        metrics.record("OTPVerificationFailure", area="Tracking", dimensions={"Purpose": "womens_health"})
        raise ApiError(exc.message, code=f"code_{exc.reason}", success=False, verified=False) from exc
    now = timezone.now()
    profile, _ = WomensHealthProfile.objects.get_or_create(user=user)
    profile.verified_at = now
    profile.save(update_fields=["verified_at", "updated_at"])
    logger.info("women's health verified", extra={"event": "womens_health_verified"})
    return now
