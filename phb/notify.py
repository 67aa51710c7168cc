"""Email notifications, sent only after the surrounding transaction commits.

A notification is written to the email outbox (``phb.email_outbox``) in the caller's transaction
and retried until the mail server takes it, so a mail outage delays it rather than losing it.

An email that carries a secret (a one-time code, a password-reset link) is never stored: it is
sent once after commit, and a failure is logged and counted like any other (``email_failed``,
``PHB/Notifications`` ``EmailDeliveryFailure`` by ``Kind``, which the EmailDeliveryFailures alarm
watches: sign-in codes travel by email, so a mail server that stops taking messages stops
sign-ins). The person asks for a new one; a code is only good for minutes anyway."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from phb import email_outbox, metrics
from phb.netguard import check_outbound

logger = logging.getLogger("phb.notify")


def send_email_after_commit(*, to: str, subject: str, body: str, kind: str, holds_secret: bool = False) -> None:
    """Send an email once the surrounding transaction commits. ``kind`` names the message in logs
    (never its content). ``holds_secret``: the body holds a code or a link that must not be stored."""
    if not holds_secret:
        email_outbox.enqueue(to=to, subject=subject, body=body, kind=kind)
        return

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
