"""Reads about payments, always scoped to the caller."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from payments.models import Payment


def payment_list(*, fetched_by: User) -> QuerySet[Payment]:
    """The caller's own payments, newest first (patients see only theirs; nobody sees others')."""
    if not getattr(fetched_by, "is_authenticated", False):
        return Payment.objects.none()
    return Payment.objects.filter(patient=fetched_by).select_related("appointment").order_by("-created_at")


def payment_for_appointment(*, appointment) -> Payment | None:
    """The live (completed or refunding) payment of an appointment, for the refund policy."""
    return Payment.objects.filter(appointment=appointment).order_by("-created_at").first()
