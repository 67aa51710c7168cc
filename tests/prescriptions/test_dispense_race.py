"""Twenty pharmacists of two pharmacies dispense one signed prescription at the same moment:
exactly one succeeds (PostgreSQL; SQLite serializes writers and proves nothing)."""

from __future__ import annotations

import pytest
from django.db import connection

from prescriptions.models import ItemState, SignedItem
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
