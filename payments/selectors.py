"""Reads about payments, always scoped to the caller."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from hospitals.selectors import admin_hospital_of
from payments.models import Payment


def payment_list(*, fetched_by: User) -> QuerySet[Payment]:
    """The caller's own payments, newest first (patients see only theirs; nobody sees others')."""
    if not getattr(fetched_by, "is_authenticated", False):
        return Payment.objects.none()
    return Payment.objects.filter(patient=fetched_by).select_related("appointment").order_by("-created_at")


def payment_scope(*, fetched_by: User) -> QuerySet[Payment]:
    """The payments the caller may read one by one: her own, and for a hospital administrator
    those for appointments at her hospital."""
    return payment_list(fetched_by=fetched_by) | payments_refundable_by(fetched_by=fetched_by)


def payments_refundable_by(*, fetched_by: User) -> QuerySet[Payment]:
    """The payments a hospital administrator may refund: those for appointments at her hospital
    (none for anyone else)."""
    hospital = admin_hospital_of(user=fetched_by) if getattr(fetched_by, "is_authenticated", False) else None
    if hospital is None:
        return Payment.objects.none()
    return Payment.objects.filter(appointment__hospital=hospital).select_related("appointment")


def payment_for_appointment(*, appointment) -> Payment | None:
    """The live (completed or refunding) payment of an appointment, for the refund policy."""
    return Payment.objects.filter(appointment=appointment).order_by("-created_at").first()
