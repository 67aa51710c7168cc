"""A booking paid through Paystack, or waived, gets the doctor the scheduler recommended for its
slot, and the recommendation (kept in the cache) is read before any transaction or row lock: the
cache is a network call (``phb.netguard``; the autouse check in ``tests/conftest.py`` fails a test
during which one was made inside a transaction)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appointments.models import Appointment, SchedulingEvent
from appointments.scheduler import memory, registry
from payments.models import Payment, PaymentStatus
from phb.netguard import check_outbound
from tests.appointments.helpers import local_today
from tests.payments.conftest import api_client, booking_body
from tests.scheduler.helpers import roster

pytestmark = pytest.mark.django_db(transaction=True)


class _GuardedCache:
    """The configured cache, checked as the Redis backend checks every call (whatever the backend
    of this run: without REDIS_URL it is the database cache, which the guard does not cover)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        attribute = getattr(self._real, name)
        if not callable(attribute):
            return attribute

        def guarded(*args, **kwargs):
            check_outbound("cache")
            return attribute(*args, **kwargs)

        return guarded


@pytest.fixture
def guarded_cache(monkeypatch):
    monkeypatch.setattr(memory, "cache", _GuardedCache(memory.cache))
    registry.forget_cached_state()
    yield
    registry.forget_cached_state()


def _recommended(http, department) -> dict:
    response = http.post("/api/ml/optimize-appointment", json={
        "hospital_id": department.hospital_id, "department_id": department.pk, "priority": "normal",
        "preferred_dates": [(local_today(department.hospital) + timedelta(days=2)).isoformat()]})
    assert response.status_code == 200, response.text
    return response.json()


def _assert_recommended_doctor(appointment: Appointment, recommendation: dict) -> None:
    assert str(appointment.doctor_id) == recommendation["recommended_doctor"]["id"]
    event = SchedulingEvent.objects.get(appointment=appointment)
    assert event.followed_recommendation is True and event.policy_version == recommendation["policy_version"]


def _book_the_recommended_slot(api_server, clinic) -> tuple:
    """Four rostered doctors; the patient asks for a recommendation and starts booking its slot."""
    general = clinic["general"]
    roster(general, doctors=4)
    http = api_client(api_server, clinic["patient"])
    recommendation = _recommended(http, general)
    started = http.post("/api/payments/initialize/",
                        json=booking_body(general, when=recommendation["recommended_time"])).json()
    return http, recommendation, started


@pytest.mark.parametrize("webhook", ["sync", "none"])
def test_a_paid_booking_of_the_recommended_slot_gets_the_recommended_doctor(api_server, standin, clinic,
                                                                            guarded_cache, webhook):
    http, recommendation, started = _book_the_recommended_slot(api_server, clinic)
    standin.pay(started["payment_url"], webhook=webhook)
    if webhook == "none":  # the patient's return to the site verifies it
        assert http.get(f"/api/payments/verify/{started['reference']}/").json()["status"] == "completed"
    payment = Payment.objects.get(reference=started["reference"])
    assert payment.status == PaymentStatus.COMPLETED
    _assert_recommended_doctor(payment.appointment, recommendation)


def test_a_waived_booking_of_the_recommended_slot_gets_the_recommended_doctor(api_server, standin, clinic,
                                                                              guarded_cache, settings):
    settings.PAYMENTS_ENABLED = False
    _, recommendation, body = _book_the_recommended_slot(api_server, clinic)
    assert body["payment_status"] == "waived"
    _assert_recommended_doctor(Appointment.objects.get(appointment_id=body["appointment_id"]), recommendation)
