"""Twenty pharmacists of two pharmacies dispense one signed prescription at the same moment:
exactly one succeeds; the items of one prescription dispensed at the same moment close its
request (PostgreSQL; SQLite serializes writers and proves nothing)."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from prescriptions import dispensing
from prescriptions.models import ItemState, RequestStatus, SignedItem
from records.models import AuditEvent
from tests.concurrency import race
from tests.helpers import client_for
from tests.pharmacies.factories import make_pharmacist
from tests.prescriptions.conftest import make_request


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_twenty_parallel_dispenses_one_winner(patient, doctor, pharmacy, other_pharmacy, nominated):
    pharmacies = [pharmacy, other_pharmacy]
    rx = make_request(patient)
    assert client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {}, format="json"
                                   ).status_code == 200
    item = SignedItem.objects.get(prescription__request=rx)
    assert item.state == ItemState.ISSUED
    racers = [(client_for(make_pharmacist(pharmacy=pharmacies[i % 2])), pharmacies[i % 2]) for i in range(20)]

    def attempt(racer):
        client, pharmacy = racer
        response = client.post("/api/prescriptions/dispense/", {
            "prescription_id": item.payload["id"], "nonce": item.nonce, "pharmacy_code": pharmacy.code,
            "pharmacist_name": "racer"}, format="json")
        return (response.status_code, response.json().get("code"))

    outcomes = race(attempt, racers)
    assert len(outcomes) == 20, outcomes
    winners = [o for o in outcomes if o == (200, None)]
    assert len(winners) == 1, outcomes
    assert all(o == (409, "already_dispensed") for o in outcomes if o != (200, None)), outcomes
    item.refresh_from_db()
    assert item.state == ItemState.DISPENSED
    assert AuditEvent.objects.filter(action="prescription_dispensed", object_id=str(item.pk)).count() == 1
    rx.refresh_from_db()
    assert rx.status == "DISPENSED"


TWO_ITEMS = [{"medication_name": "Metformin", "strength": "500mg", "form": "tablet", "quantity": 56,
              "dosage": "1 tablet twice daily", "is_repeat": True},
             {"medication_name": "Amlodipine", "strength": "5mg", "form": "tablet", "quantity": 28,
              "dosage": "1 tablet daily", "is_repeat": True}]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_two_items_dispensed_at_once_close_the_request_exactly_once(patient, doctor, pharmacy, other_pharmacy,
                                                                    nominated, monkeypatch):
    """Each item of a two-item prescription is dispensed by another pharmacy at the same moment.
    Each dispense is held for a moment after its own UPDATE (the real audit write, then a wait for
    the other dispense to get as far), the widest window for each to miss the other's item: the
    request still ends ``DISPENSED``, and the pharmacy can no longer reject it."""
    rx = make_request(patient, medications=TWO_ITEMS)
    assert client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {}, format="json"
                                   ).status_code == 200
    items = list(SignedItem.objects.filter(prescription__request=rx))
    assert len(items) == 2 and all(i.state == ItemState.ISSUED for i in items)
    both_updated = threading.Barrier(2)
    recorded = dispensing.audit_record

    def record_then_hold(**kwargs):
        recorded(**kwargs)
        try:  # with the request locked, the other dispense cannot get here before this one commits
            both_updated.wait(timeout=3)
        except threading.BrokenBarrierError:
            pass

    monkeypatch.setattr(dispensing, "audit_record", record_then_hold)
    racers = [(client_for(make_pharmacist(pharmacy=pharmacy)), items[0]),
              (client_for(make_pharmacist(pharmacy=other_pharmacy)), items[1])]

    def attempt(racer):
        client, item = racer
        response = client.post("/api/prescriptions/dispense/", {"prescription_id": item.payload["id"],
                                                               "nonce": item.nonce}, format="json")
        return (response.status_code, response.json().get("code"))

    outcomes = race(attempt, racers)
    monkeypatch.setattr(dispensing, "audit_record", recorded)
    assert outcomes == [(200, None), (200, None)], outcomes
    assert list(SignedItem.objects.filter(prescription__request=rx).values_list("state", flat=True)) == [
        ItemState.DISPENSED, ItemState.DISPENSED]
    assert AuditEvent.objects.filter(action="prescription_dispensed",
                                     object_id__in=[str(i.pk) for i in items]).count() == 2
    rx.refresh_from_db()
    assert rx.status == RequestStatus.DISPENSED
    late = client_for(make_pharmacist(pharmacy=pharmacy)).post(
        f"/api/provider/prescriptions/triage/{rx.pk}/reject/", {"rejection_reason": "duplicate",
                                                               "pharmacist_notes": "n"}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
    assert not any("not approved" in m.subject or "cancelled" in m.subject for m in mail.outbox)
