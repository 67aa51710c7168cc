"""Starting a payment-first booking: take the slot hold and write the payment in one transaction,
then open the provider's checkout (claim, commit, call, record). With payments off or a zero fee
the booking is confirmed at once (``waived``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from appointments.booking import hold_confirm, hold_create, hold_release
from appointments.models import Appointment
from appointments.scheduler.memory import remembered
from hospitals.models import Department
from payments.checkout_retry import Reused, with_own_checkout
from payments.gateway import GatewayError, get_gateway
from payments.models import (
    EventSource,
    Payment,
    PaymentStatus,
    Provider,
)
from payments.services import PaymentProviderError, failure_metric, record_event, to_minor
from phb.zones import zone_of

logger = logging.getLogger(__name__)


# --- initialize ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BookingRequest:
    hospital_id: int
    department_id: int
    start_local: datetime  # naive, the hospital's wall clock
    priority: str
    appointment_type: str
    details: dict[str, Any]


@dataclass(frozen=True)
class InitializeOutcome:
    payment: Payment
    appointment: Appointment | None = None

    @property
    def waived(self) -> bool:
        return self.payment.status == PaymentStatus.WAIVED


def _booking_summary(hold: Any) -> dict[str, Any]:
    """What the payment history shows about the booking: nothing clinical."""
    department = Department.objects.select_related("hospital").only(
        "name", "hospital__name", "hospital__time_zone"
    ).get(pk=hold.department_id)
    local = hold.start.astimezone(zone_of(department.hospital))
    return {
        "type": hold.appointment_type,
        "date": local.strftime("%Y-%m-%d"),
        "time": local.strftime("%H:%M"),
        "department": department.name,
        "department_id": hold.department_id,
        "hospital": department.hospital.name,
        "hospital_id": hold.hospital_id,
        "priority": hold.priority,
    }


def payments_enabled() -> bool:
    return bool(settings.PAYMENTS_ENABLED)


def payment_initialize(*, patient: User, booking: BookingRequest) -> InitializeOutcome:
    """Hold the slot, price it on the server, then start the provider checkout (or waive).

    Pressing Pay again for a time the patient already holds reopens or replaces her own
    checkout (``payments.checkout_retry``): never a conflict with herself, never two holds."""
    # Read from the cache before the patient's row is locked (a waived booking is confirmed under it).
    recommendation = remembered(patient_id=patient.pk, department_id=booking.department_id)
    started = with_own_checkout(
        patient=patient, department_id=booking.department_id, start_local=booking.start_local,
        priority=booking.priority, appointment_type=booking.appointment_type, details=booking.details,
        start_new=lambda: _hold_and_record(patient=patient, booking=booking, recommendation=recommendation),
    )
    if isinstance(started, Reused):
        return InitializeOutcome(payment=started.payment)
    if isinstance(started, InitializeOutcome):
        return started
    payment, hold, summary = started
    return _open_checkout(patient=patient, payment=payment, hold=hold, summary=summary)


def _hold_and_record(*, patient: User, booking: BookingRequest, recommendation: dict | None
                     ) -> InitializeOutcome | tuple[Payment, Any, dict]:
    """Inside the caller's transaction: the hold and its payment row (or the waived booking)."""
    with transaction.atomic():
        hold = hold_create(
            patient=patient,
            hospital_id=booking.hospital_id,
            department_id=booking.department_id,
            start_local=booking.start_local,
            priority=booking.priority,
            appointment_type=booking.appointment_type,
            details=booking.details,
        )
        fee = Decimal(hold.fee_amount)
        summary = _booking_summary(hold)
        if not payments_enabled() or fee <= 0:
            appointment = hold_confirm(hold_id=hold.id, payment_reference=None, recommendation=recommendation)
            reason = "Payments are turned off: the appointment is free." if not payments_enabled() else \
                "This appointment has no fee."
            payment = Payment.objects.create(
                patient=patient, provider=Provider.NONE, status=PaymentStatus.WAIVED, status_reason=reason,
                amount=Decimal("0"), amount_minor=0, currency=hold.currency, hold_id=hold.id,
                hold_expires_at=hold.expires_at, appointment=appointment, booking_summary=summary,
                completed_at=timezone.now(),
            )
            record_event(payment, kind="waived", source=EventSource.API, to_status=PaymentStatus.WAIVED, message=reason)
            logger.info("booking confirmed without payment",
                        extra={"event": "payment_waived", "payment_id": str(payment.pk)})
            return InitializeOutcome(payment=payment, appointment=appointment)
        payment = Payment.objects.create(
            patient=patient, provider=Provider.PAYSTACK, status=PaymentStatus.INITIALIZED,
            amount=fee, amount_minor=to_minor(fee), currency=hold.currency, hold_id=hold.id,
            hold_expires_at=hold.expires_at, booking_summary=summary,
        )
        record_event(payment, kind="initialized", source=EventSource.API, to_status=PaymentStatus.INITIALIZED,
               amount_minor=payment.amount_minor, currency=payment.currency)
    return payment, hold, summary


def _open_checkout(*, patient: User, payment: Payment, hold: Any, summary: dict) -> InitializeOutcome:
    """Outside any transaction: ask the provider for the checkout and record its answer."""
    metadata = {
        "payment_id": str(payment.pk),
        "hold_id": str(hold.id),
        "booking": {key: summary[key] for key in ("type", "date", "time", "department_id", "hospital_id", "priority")},
        "custom_fields": [
            {"display_name": "Appointment type", "variable_name": "appointment_type", "value": summary["type"]},
            {"display_name": "Department", "variable_name": "department", "value": summary["department"]},
            {"display_name": "Date", "variable_name": "appointment_date", "value": summary["date"]},
            {"display_name": "Time", "variable_name": "appointment_time", "value": summary["time"]},
        ],
    }
    try:
        checkout = get_gateway().initialize(
            email=patient.email, amount=payment.amount_minor, currency=payment.currency,
            reference=payment.reference, callback_url=settings.PAYSTACK_CALLBACK_URL, metadata=metadata,
        )
    except GatewayError as exc:
        hold_release(hold_id=hold.id)
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(
                status=PaymentStatus.FAILED, status_reason=f"The payment provider refused or failed: {exc.message}"[:255],
                updated_at=timezone.now(),
            )
            record_event(payment, kind="initialize_failed", source=EventSource.API, from_status=PaymentStatus.INITIALIZED,
                   to_status=PaymentStatus.FAILED, message=exc.message)
        failure_metric("provider_error")
        logger.warning("payment initialize failed at the provider",
                       extra={"event": "payment_initialize_failed", "payment_id": str(payment.pk),
                              "provider_status": exc.status_code, "provider_code": exc.provider_code})
        raise PaymentProviderError() from exc

    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.INITIALIZED).update(
            status=PaymentStatus.PENDING, access_code=checkout.access_code,
            authorization_url=checkout.authorization_url[:500], updated_at=timezone.now(),
        )
        record_event(payment, kind="checkout_created", source=EventSource.API, from_status=PaymentStatus.INITIALIZED,
               to_status=PaymentStatus.PENDING)
    payment.refresh_from_db()
    logger.info("payment initialized", extra={"event": "payment_initialized", "payment_id": str(payment.pk)})
    return InitializeOutcome(payment=payment)
