"""Notification emails that survive a mail server's outage: written with the change they report,
sent after it commits, retried until the server takes them.

- :func:`enqueue` writes an :class:`~phb.models.OutgoingEmail` row in the caller's transaction
  (a rolled-back change sends nothing) and asks for one delivery attempt once it commits.
- :func:`deliver_due` (``manage.py send_queued_emails``, a systemd timer every minute) sends the
  rows whose time has come.
- Each attempt claims its row (a conditional update of ``claim_token`` and a lease,
  ``claimed_until``) and commits, talks to the mail server with no transaction open, then records
  the outcome for the row still under that claim. Two senders never send one row both: the second
  finds it claimed. A sender that dies mid-send leaves a claim that lapses after
  ``EMAIL_OUTBOX_CLAIM_SECONDS`` (longer than the mail server's ``EMAIL_TIMEOUT`` over a whole
  conversation), and the row is sent again: a crash between the server's acceptance and the record
  can repeat an email, never lose one.
- A failed attempt waits ``RETRY_WAITS`` before the next; after the last the row is given up
  (``failed``, ``email_abandoned`` logged). Sent and given-up rows lose their body at once and are
  deleted ``EMAIL_OUTBOX_KEEP_DAYS`` later.
- Every failed attempt counts ``EmailDeliveryFailure`` (``PHB/Notifications``, by ``Kind``), which
  the EmailDeliveryFailures alarm watches. Log lines name the row and its kind, never an address,
  a subject or a body.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from phb import metrics
from phb.models import EmailStatus, OutgoingEmail
from phb.netguard import check_outbound

logger = logging.getLogger("phb.notify")

# Waits after the 1st, 2nd, ... failed attempt; after the last one the email is given up (about a day).
RETRY_WAITS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
               timedelta(hours=3), timedelta(hours=6), timedelta(hours=12))


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    given_up: int = 0
    purged: int = 0


def enqueue(*, to: str, subject: str, body: str, kind: str) -> OutgoingEmail:
    email = OutgoingEmail.objects.create(to=to, subject=subject[:200], body=body, kind=kind[:40])
    # robust: an attempt that fails for any reason (the database gone after the commit) is logged,
    # never the request's error; the row waits for the timer.
    transaction.on_commit(lambda: deliver(email_id=email.pk), robust=True)
    return email


def _due(now) -> Q:
    return Q(status=EmailStatus.PENDING, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def _claim(*, email_id: int) -> tuple[OutgoingEmail, uuid.UUID] | None:
    """Claim one due row and commit; None when it is not due or another sender has it."""
    now = timezone.now()
    token = uuid.uuid4()
    lease = now + timedelta(seconds=settings.EMAIL_OUTBOX_CLAIM_SECONDS)
    with transaction.atomic():
        claimed = OutgoingEmail.objects.filter(_due(now), pk=email_id).update(claim_token=token, claimed_until=lease)
        if not claimed:
            return None
        return OutgoingEmail.objects.get(pk=email_id), token


def _record(email: OutgoingEmail, token: uuid.UUID, *, error: Exception | None, report: Report) -> None:
    now = timezone.now()
    attempts = email.attempts + 1
    mine = OutgoingEmail.objects.filter(pk=email.pk, claim_token=token)
    if error is None:
        updated = mine.update(status=EmailStatus.SENT, attempts=attempts, body="", last_error="", settled_at=now,
                              claim_token=None, claimed_until=None)
        if updated:
            report.sent += 1
            logger.info("email sent", extra={"event": "email_sent", "kind": email.kind, "email_id": email.pk,
                                             "attempts": attempts})
        return
    metrics.record("EmailDeliveryFailure", area="Notifications", dimensions={"Kind": email.kind})
    reason = type(error).__name__[:80]
    if attempts > len(RETRY_WAITS):
        if mine.update(status=EmailStatus.FAILED, attempts=attempts, body="", last_error=reason, settled_at=now,
                       claim_token=None, claimed_until=None):
            report.given_up += 1
            logger.error("email given up", extra={"event": "email_abandoned", "kind": email.kind,
                                                  "email_id": email.pk, "attempts": attempts, "error": reason})
        return
    if mine.update(attempts=attempts, last_error=reason, next_attempt_at=now + RETRY_WAITS[attempts - 1],
                   claim_token=None, claimed_until=None):
        report.retrying += 1
        logger.warning("email delivery failed", extra={"event": "email_failed", "kind": email.kind,
                                                       "email_id": email.pk, "attempts": attempts, "error": reason})


def _send(email: OutgoingEmail, *, connection=None) -> Exception | None:
    check_outbound("email")
    try:
        EmailMessage(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [email.to],
                     connection=connection).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - any failure of the mail server is retried
        if connection is not None:  # the next email opens a fresh conversation
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - a broken connection cannot be closed politely
                pass
        return exc
    return None


def deliver(*, email_id: int, connection=None, report: Report | None = None) -> Report:
    """One attempt at one email, if it is due and nobody else is sending it."""
    report = report if report is not None else Report()
    claimed = _claim(email_id=email_id)
    if claimed is None:
        return report
    email, token = claimed
    _record(email, token, error=_send(email, connection=connection), report=report)
    return report


def deliver_due(*, limit: int = 200, keep_days: int | None = None) -> Report:
    """Send up to ``limit`` due emails, oldest first, over one connection; delete settled rows past
    ``keep_days`` (``EMAIL_OUTBOX_KEEP_DAYS``; 0 keeps them)."""
    report = Report()
    now = timezone.now()
    due = list(OutgoingEmail.objects.filter(_due(now)).order_by("next_attempt_at", "pk")
               .values_list("pk", flat=True)[:limit])
    if due:
        connection = get_connection()
        try:
            for email_id in due:
                deliver(email_id=email_id, connection=connection, report=report)
        finally:
            connection.close()
    keep_days = settings.EMAIL_OUTBOX_KEEP_DAYS if keep_days is None else keep_days
    if keep_days:
        report.purged, _ = OutgoingEmail.objects.exclude(status=EmailStatus.PENDING).filter(
            settled_at__lt=now - timedelta(days=keep_days)).delete()
    return report


def send_at_next_round(*, email_ids: list[int]) -> int:
    """Pending emails waiting out a retry go at the next round (the admin's action, once the mail
    server is back). Sent and given-up emails have no body left and stay as they are."""
    return OutgoingEmail.objects.filter(pk__in=email_ids, status=EmailStatus.PENDING).update(
        next_attempt_at=timezone.now())
