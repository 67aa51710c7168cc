"""Pressing Pay again for a time the patient already holds (the booking page does this each time
Proceed is pressed, also after the payment window was closed): her own open checkout is reopened
or replaced, never a 409 against herself and never two holds."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from appointments.booking import release_expired_holds
from appointments.models import Appointment, BookingHold, HoldState, Slot
from payments.models import Payment, PaymentStatus
from tests.payments.conftest import api_client, booking_body, initialize, slot_start

pytestmark = pytest.mark.django_db(transaction=True)


def _live_holds(patient) -> list[BookingHold]:
    return list(BookingHold.objects.filter(patient=patient, state=HoldState.HELD))


def _wait_for_lock_waiters(count: int, timeout: float = 20.0) -> None:
    """Until ``count`` other connections to this database wait on a lock (the statistics snapshot
    is cleared each time: inside a transaction it would be read once)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                           "AND datname = current_database() AND pid <> pg_backend_pid()")
            waiting = cursor.fetchone()[0]
            if waiting >= count:
                return
            assert time.monotonic() < deadline, f"{waiting} connection(s) wait on a lock, expected {count}"
            time.sleep(0.02)


def test_pressing_pay_again_reopens_the_same_checkout(api_server, standin, clinic):
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    again = initialize(http, general, chief_complaint="Cough and fever")
    assert again["reference"] == first["reference"] and again["access_code"] == first["access_code"]
    assert standin.calls()["initialize"] == 1
    [hold] = _live_holds(patient)
    assert hold.details["chief_complaint"] == "Cough and fever"
    assert Slot.objects.get(department=general).in_use == 1
    standin.pay(again["payment_url"], webhook="none")
    assert http.get(f"/api/payments/verify/{again['reference']}/").json()["status"] == "completed"
    [appointment] = Appointment.objects.filter(patient=patient)
    assert appointment.chief_complaint == "Cough and fever"


def test_a_different_booking_at_the_same_time_replaces_her_hold(api_server, standin, clinic):
    patient, general, cardiology = clinic["patient"], clinic["general"], clinic["cardiology"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    second = initialize(http, cardiology)
    assert second["reference"] != first["reference"]
    [hold] = _live_holds(patient)
    assert hold.department_id == cardiology.pk
    old = Payment.objects.get(reference=first["reference"])
    assert old.status == PaymentStatus.EXPIRED and "Replaced" in old.status_reason
    assert Slot.objects.get(department=general).in_use == 0
    assert Slot.objects.get(department=cardiology).in_use == 1
    # Another priority for the same slot is another price: replaced too.
    third = initialize(http, cardiology, priority="urgent")
    assert third["reference"] != second["reference"]
    assert [h.priority for h in _live_holds(patient)] == ["urgent"]
    assert Slot.objects.get(department=cardiology).in_use == 1


def test_a_checkout_about_to_run_out_is_replaced(api_server, standin, clinic):
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    BookingHold.objects.filter(patient=patient).update(expires_at=timezone.now() + timedelta(seconds=30))
    second = initialize(http, general)
    assert second["reference"] != first["reference"]
    assert len(_live_holds(patient)) == 1 and Slot.objects.get(department=general).in_use == 1
    assert Payment.objects.get(reference=first["reference"]).status == PaymentStatus.EXPIRED


def test_another_time_is_another_booking(api_server, standin, clinic):
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)
    first = initialize(http, general, when=slot_start(hour=10))
    second = initialize(http, general, when=slot_start(hour=11))
    assert first["reference"] != second["reference"] and len(_live_holds(patient)) == 2


def test_a_late_charge_on_the_replaced_checkout_is_refunded(api_server, standin, clinic):
    """She paid in the first window after all, then started another booking at that time."""
    patient, general, cardiology = clinic["patient"], clinic["general"], clinic["cardiology"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    second = initialize(http, cardiology)
    standin.pay(second["payment_url"], webhook="none")
    assert http.get(f"/api/payments/verify/{second['reference']}/").json()["status"] == "completed"
    standin.pay(first["payment_url"], webhook="none")
    late = http.get(f"/api/payments/verify/{first['reference']}/").json()
    assert late["status"] in ("refunded", "refund_pending"), late
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_double_clicks_race_to_one_hold_and_one_checkout(api_server, standin, clinic):
    """Concurrent presses: all answered with the same checkout; one hold, one provider call."""
    patient, general = clinic["patient"], clinic["general"]
    standin.fault("initialize", delay=0.5)  # a slow provider keeps the first checkout opening
    clients = [api_client(api_server, patient) for _ in range(6)]
    barrier = threading.Barrier(len(clients))

    def press(http):
        barrier.wait()
        return http.post("/api/payments/initialize/", json=booking_body(general))

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        responses = [f.result(timeout=120) for f in [pool.submit(press, c) for c in clients]]

    assert [r.status_code for r in responses] == [200] * len(clients), [r.text for r in responses]
    assert len({r.json()["reference"] for r in responses}) == 1
    assert len(_live_holds(patient)) == 1
    assert Slot.objects.get(department=general).in_use == 1
    assert Payment.objects.filter(patient=patient).count() == 1
    if connection.vendor == "postgresql":
        assert standin.calls()["initialize"] == 1


def test_pressing_pay_again_while_the_hold_sweep_expires_her_hold_does_not_deadlock(api_server, standin, clinic):
    """Her hold is about to run out, so pressing Pay again replaces it, while the hold sweep (which
    already sees it expired) gives its place back. Both take the slot row before the hold row:
    whichever goes first, the other waits, and neither is aborted as a deadlock (before, the
    press locked the hold first and the slot second, the sweep the other way round, and the
    database killed one of them: the press answered 503, or the sweep failed)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks and deadlock detection are exercised on PostgreSQL")
    patient, general = clinic["patient"], clinic["general"]
    http = api_client(api_server, patient)
    first = initialize(http, general)
    [hold] = _live_holds(patient)
    BookingHold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() + timedelta(seconds=60))
    sweep_clock = timezone.now() + timedelta(seconds=90)  # the sweep's clock: the hold has expired
    outcomes: dict[str, object] = {}

    def press():
        outcomes["press"] = http.post("/api/payments/initialize/", json=booking_body(general))

    def sweep():
        try:
            outcomes["sweep"] = release_expired_holds(now=sweep_clock)
        except Exception as exc:  # asserted below
            outcomes["sweep"] = exc
        finally:
            close_old_connections()
            connection.close()

    # The interleaving is made certain by a third transaction holding the hold's row: the press
    # queues for the hold first, then the sweep starts; both then go on when it ends.
    pressing, sweeping = threading.Thread(target=press), threading.Thread(target=sweep)
    with transaction.atomic():
        BookingHold.objects.select_for_update().filter(pk=hold.pk).values_list("pk", flat=True).first()
        pressing.start()
        _wait_for_lock_waiters(1)
        sweeping.start()
        _wait_for_lock_waiters(2)
    pressing.join(timeout=60)
    sweeping.join(timeout=60)

    response = outcomes["press"]
    assert response.status_code == 200, response.text
    assert not isinstance(outcomes["sweep"], Exception), outcomes["sweep"]
    assert response.json()["reference"] != first["reference"]
    assert Payment.objects.get(reference=first["reference"]).status == PaymentStatus.EXPIRED
    [live] = _live_holds(patient)
    assert live.pk != hold.pk and BookingHold.objects.get(pk=hold.pk).state == HoldState.RELEASED
    assert Slot.objects.get(department=general).in_use == 1
