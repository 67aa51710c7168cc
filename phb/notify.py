"""Email notifications, sent only after the surrounding transaction commits.

A message the mail server does not take is not retried: the failure is logged (``email_failed``,
with the kind of message and the error's type) and counted (``PHB/Notifications``
``EmailDeliveryFailure`` by ``Kind``), which the EmailDeliveryFailures alarm watches: sign-in codes
travel by email, so a mail server that stops taking messages stops sign-ins."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from phb import metrics
from phb.netguard import check_outbound

logger = logging.getLogger("phb.notify")


def send_email_after_commit(*, to: str, subject: str, body: str, kind: str) -> None:
    """Queue an email for after commit. ``kind`` names the message in logs (never its content)."""

    def deliver() -> None:
        check_outbound("email")
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
            logger.info("email sent", extra={"event": "email_sent", "kind": kind})
        except Exception as exc:
            metrics.record("EmailDeliveryFailure", area="Notifications", dimensions={"Kind": kind})
            logger.warning("email delivery failed",
                           extra={"event": "email_failed", "kind": kind, "error": type(exc).__name__})

    transaction.on_commit(deliver)
