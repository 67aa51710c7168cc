"""The stand-in counts its background deliveries until they finish, and a reset cancels those
still to come, so that no delivery of one test reaches the API during the next."""

from __future__ import annotations

import threading
import time

from payments.standin import StandinState, deliver_webhook


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_background_work_is_pending_until_it_returns_or_raises():
    state = StandinState(secret_key="sk_test")
    release = threading.Event()
    done = []

    def work(tag, *, cancelled):
        release.wait(5)
        done.append((tag, cancelled.is_set()))

    def broken(*, cancelled):
        release.wait(5)
        raise RuntimeError("delivery failed")

    state.background(work, "a")
    state.background(broken)
    assert state.pending == 2
    release.set()
    _wait_for(lambda: state.pending == 0)
    assert done == [("a", False)]


def test_a_reset_cancels_waiting_work_and_its_deliveries():
    state = StandinState(secret_key="sk_test", webhook_url="http://127.0.0.1:9/never")
    woke = []

    def settle(*, cancelled):
        woke.append(cancelled.wait(60))
        deliver_webhook(state, "refund.processed", {"reference": "R1"}, cancelled=cancelled)

    state.background(settle)
    started = time.monotonic()
    state.reset()
    _wait_for(lambda: state.pending == 0)
    assert woke == [True] and time.monotonic() - started < 5
    assert state.deliveries == []  # nothing was sent, not even an attempt

    state.background(settle)  # work started after the reset is not cancelled by it
    assert state.pending == 1 and not state._cancel.is_set()
    state.reset()
    _wait_for(lambda: state.pending == 0)
