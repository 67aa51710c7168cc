"""Email notifications, sent only after the surrounding transaction commits."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from phb.netguard import check_outbound

logger = logging.getLogger("phb.notify")


def send_email_after_commit(*, to: str, subject: str, body: str, kind: str) -> None:
    """Queue an email for after commit. ``kind`` names the message in logs (never its content)."""

    def deliver() -> None:
        check_outbound("email")
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
            logger.info("email sent", extra={"event": "email_sent", "kind": kind})
        except Exception:
            logger.warning("email delivery failed", extra={"event": "email_failed", "kind": kind})

    transaction.on_commit(deliver)
