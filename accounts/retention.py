"""Sign-in material kept no longer than it is of use: expired one-time codes and password-reset
tokens, and expired admin sessions.

A code or token is of no use once it has expired; its row is kept ``CREDENTIALS_RETENTION_DAYS``
more (30 by default) so that the admin still shows recent attempts (how many wrong codes, when),
then deleted. The rows go in batches of ``batch``, each its own short transaction, so a backlog
never holds a long lock on the tables that every sign-in writes. Run daily by
``phb-purge-expired-credentials.timer``.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import OneTimeCode, PasswordResetToken

BATCH = 5_000


def _delete_in_batches(model: type[models.Model], *, expired_before, batch: int) -> int:
    deleted = 0
    while True:
        keys = list(model.objects.filter(expires_at__lt=expired_before).values_list("pk", flat=True)[:batch])
        if not keys:
            return deleted
        deleted += model.objects.filter(pk__in=keys).delete()[0]


def purge_expired_credentials(*, retention: timedelta | None = None, batch: int = BATCH) -> dict[str, int]:
    """Delete the codes and tokens that expired more than ``retention`` ago, and the expired
    sessions; return how many of each went (counts only, no ids)."""
    if retention is None:
        retention = timedelta(days=settings.CREDENTIALS_RETENTION_DAYS)
    cutoff = timezone.now() - retention
    counts = {
        "one_time_codes": _delete_in_batches(OneTimeCode, expired_before=cutoff, batch=batch),
        "password_reset_tokens": _delete_in_batches(PasswordResetToken, expired_before=cutoff, batch=batch),
    }
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return counts
