"""Charges that arrive late: after the appointment's time, or on a checkout already replaced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from appointments.models import Appointment, BookingHold, Slot
from payments.models import Payment, PaymentStatus
from payments.reconcile import payments_reconcile
from tests.payments.conftest import api_client, history_status, initialize, slot_start

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_charge_after_the_appointment_time_is_refunded_not_booked(api_server, standin, clinic):
    patient = clinic["patient"]
    http = api_client(api_server, patient)
    started = initialize(http, clinic["general"], when=slot_start(days=3))
    payment = Payment.objects.get(reference=started["reference"])
    hold = BookingHold.objects.get(pk=payment.hold_id)
    # The checkout stayed open past the appointment's time (the booking moved 4 days back).
    shift = timedelta(days=4)
    Slot.objects.filter(pk=hold.slot_id).update(start=hold.start - shift, end=hold.end - shift)
    BookingHold.objects.filter(pk=hold.pk).update(start=hold.start - shift, end=hold.end - shift,
                                                  expires_at=timezone.now() - timedelta(days=1))
    standin.pay(started["payment_url"], webhook="sync")

    body = http.get(f"/api/payments/verify/{started['reference']}/").json()
    assert body["status"] in ("refund_pending", "refunded") and not body["appointment_id"], body
    assert "already passed" in body["message"] and "refunded" in body["message"]
    item = history_status(http, started["reference"], "refunded")
    assert "already passed" in item["status_reason"]
    assert not Appointment.objects.filter(patient=patient).exists()
    assert standin.calls()["refund"] == 1
    payment.refresh_from_db()
    assert payment.refund_amount_minor == payment.amount_minor
    assert payment.events.filter(kind="confirm_refused").exists()
    assert any(started["reference"] in m.body and "already passed" in m.body for m in mail.outbox)


def _replaced_checkout_paid(api_server, standin, clinic) -> tuple[Payment, Payment]:
    """The patient pressed Proceed again with another priority, then paid the first checkout's
    tab, and its webhook never came."""
    http = api_client(api_server, clinic["patient"])
    when = slot_start(days=3)
    old = initialize(http, clinic["general"], when=when)
    new = initialize(http, clinic["general"], when=when, priority="urgent")
    assert Payment.objects.get(reference=old["reference"]).status == PaymentStatus.EXPIRED
    standin.pay(old["payment_url"], webhook="none")
    return Payment.objects.get(reference=old["reference"]), Payment.objects.get(reference=new["reference"])


def _an_hour_passes(payment: Payment, **more) -> None:
    """As if the expired payment was last looked at over an hour ago."""
    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(minutes=61), **more)


def test_a_charge_on_an_expired_checkout_is_found_by_reconciliation(api_server, standin, clinic):
    old, new = _replaced_checkout_paid(api_server, standin, clinic)
    assert payments_reconcile().checked == 0, "an expired payment is asked about once an hour"

    _an_hour_passes(old)
    report = payments_reconcile()
    assert (report.checked, report.completed) == (1, 1), report.line()
    old.refresh_from_db()
    # Her new booking holds that time, so the old charge cannot book it: it is refunded in full.
    assert old.status in (PaymentStatus.REFUND_PENDING, PaymentStatus.REFUNDED) and not old.appointment_id
    assert old.paid_amount_minor == old.amount_minor == old.refund_amount_minor
    assert old.events.filter(source="reconcile", kind="confirm_refused").exists()
    history_status(api_client(api_server, clinic["patient"]), old.reference, "refunded")
    assert standin.calls()["refund"] == 1
    assert Payment.objects.get(pk=new.pk).status == PaymentStatus.PENDING


def test_an_unpaid_expired_checkout_is_asked_about_hourly_for_a_bounded_time(api_server, standin, clinic):
    http = api_client(api_server, clinic["patient"])
    when = slot_start(days=3)
    old = initialize(http, clinic["general"], when=when)
    initialize(http, clinic["general"], when=when, priority="urgent")
    payment = Payment.objects.get(reference=old["reference"])
    _an_hour_passes(payment)
    assert payments_reconcile().checked == 1 and standin.calls()["verify"] == 1
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED, "nothing changes while it is unpaid"
    assert payments_reconcile().checked == 0, "asked once per hour"

    _an_hour_passes(payment, created_at=timezone.now() - timedelta(hours=73))
    assert payments_reconcile().checked == 0
    assert standin.calls()["verify"] == 1, "not asked about once its checkout cannot be paid"


@pytest.mark.parametrize("answer", ["abandoned", "failed"])
def test_verifying_an_expired_checkout_that_was_not_paid_leaves_it_expired(api_server, standin, clinic, answer):
    """Paystack answers ``abandoned`` (or ``failed``) for a checkout whose booking window closed:
    the payment stays expired, for the patient's verify call and for reconciliation alike."""
    http = api_client(api_server, clinic["patient"])
    when = slot_start(days=3)
    old = initialize(http, clinic["general"], when=when)
    initialize(http, clinic["general"], when=when, priority="urgent")
    if answer == "failed":
        standin.pay(old["payment_url"], outcome="failed", webhook="none")
    payment = Payment.objects.get(reference=old["reference"])
    assert payment.status == PaymentStatus.EXPIRED
    events_before = payment.events.count()

    body = http.get(f"/api/payments/verify/{old['reference']}/").json()
    assert body["status"] == "expired", body
    assert standin.transaction(old["reference"])["status"] == answer
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.EXPIRED
    assert payment.status_reason == "Replaced by a new checkout for the same time."
    assert payment.events.count() == events_before
    _an_hour_passes(payment)
    assert payments_reconcile().expired == 0
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED


def test_a_charge_on_an_expired_checkout_with_room_books_it(api_server, standin, clinic):
    """Her hold lapsed unpaid and nothing else took the time: a charge made afterwards on the same
    checkout still books it, through the verify call."""
    patient = clinic["patient"]
    http = api_client(api_server, patient)
    started = initialize(http, clinic["general"], when=slot_start(days=3))
    payment = Payment.objects.get(reference=started["reference"])
    BookingHold.objects.filter(pk=payment.hold_id).update(expires_at=timezone.now() - timedelta(minutes=30))
    Payment.objects.filter(pk=payment.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=30))
    assert payments_reconcile().expired == 1
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.EXPIRED
    standin.pay(started["payment_url"], webhook="none")

    body = http.get(f"/api/payments/verify/{started['reference']}/").json()
    assert body["status"] == "completed" and body["appointment_id"], body
    assert Appointment.objects.filter(patient=patient).count() == 1
    assert Slot.objects.get(department=clinic["general"]).in_use == 1
    assert standin.calls().get("refund", 0) == 0
