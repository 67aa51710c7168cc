"""The platform's own rows: emails waiting for the mail server (``phb.email_outbox``)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class EmailStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Given up"


class OutgoingEmail(models.Model):
    """One notification email, written in the transaction of the change it reports and sent after
    it commits. Kept until the mail server takes it (retried with growing waits), then its body is
    erased; rows are deleted ``EMAIL_OUTBOX_KEEP_DAYS`` after they are settled. Emails that carry a
    sign-in code or a reset link are never written here (``phb.notify``)."""

    kind = models.CharField(max_length=40)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=80, blank=True, help_text="the error's type, never its text")
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_attempt_at"], name="phb_email_due",
                         condition=models.Q(status="pending")),
            models.Index(fields=["settled_at"], name="phb_email_settled",
                         condition=~models.Q(status="pending")),
            models.Index(fields=["to"], name="phb_email_to"),  # the admin's search by address
        ]

    def __str__(self) -> str:
        return f"email {self.pk} ({self.kind}, {self.status})"
