"""Triage is for verified pharmacists (``Pharmacist.verified``, the ``verified`` the frontend reads
from ``/api/registry/my-info/`` and hides the triage page on): an unverified pharmacist is refused
every triage call, 403 ``pharmacist_not_verified``, and nothing is changed."""

from __future__ import annotations

import pytest

from pharmacies.models import Pharmacist
from prescriptions.models import PrescriptionRequest
from tests.helpers import assert_private, client_for
from tests.pharmacies.factories import make_pharmacist

from .conftest import make_request

pytestmark = pytest.mark.django_db

T = "/api/provider/prescriptions/triage/"
NOT_VERIFIED = "pharmacist_not_verified"


def _calls(rx: PrescriptionRequest) -> list[tuple[str, str, dict | None]]:
    one = f"{T}{rx.pk}/"
    return [
        ("get", T, None),
        ("get", T + "stats/", None),
        ("get", one, None),
        ("post", one + "approve/", {"pharmacist_notes": "fine"}),
        ("post", one + "escalate/", {"escalation_reason": "dose", "pharmacist_notes": "check"}),
        ("post", one + "reject/", {"rejection_reason": "not safe", "pharmacist_notes": "no"}),
    ]


def _unverified(pharmacist) -> None:
    Pharmacist.objects.filter(user=pharmacist).update(verified=False)


def test_an_unverified_pharmacist_is_refused_every_triage_call(patient, nominated, pharmacist):
    rx = make_request(patient)
    _unverified(pharmacist)
    assert client_for(pharmacist).get("/api/registry/my-info/").json()["verified"] is False
    client = client_for(pharmacist)
    for method, url, body in _calls(rx):
        response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)
        assert response.status_code == 403, (url, response.status_code, response.content[:200])
        answer = response.json()
        assert answer["code"] == NOT_VERIFIED and "verified" in answer["message"], answer
    rx.refresh_from_db()
    assert rx.pharmacist_action == "" and rx.pharmacist_reviewed_by is None and rx.status == "REQUESTED"


def test_once_verified_the_same_pharmacist_triages(patient, nominated, pharmacist):
    rx = make_request(patient)
    _unverified(pharmacist)
    assert client_for(pharmacist).get(T).status_code == 403
    Pharmacist.objects.filter(user=pharmacist).update(verified=True)
    client = client_for(pharmacist)
    assert client.get(T).json()["total_count"] == 1
    assert client.get(T + "stats/").status_code == 200
    assert client.get(f"{T}{rx.pk}/").status_code == 200
    approved = client.post(f"{T}{rx.pk}/approve/", {"pharmacist_notes": "fine"}, format="json")
    assert approved.status_code == 200, approved.json()


def test_an_unverified_pharmacist_is_refused_whatever_the_request(patient, nominated, other_pharmacy):
    """The refusal comes before the lookup: another pharmacy's request is answered alike."""
    rx = make_request(patient)
    stranger = make_pharmacist(pharmacy=other_pharmacy)
    _unverified(stranger)
    response = client_for(stranger).get(f"{T}{rx.pk}/")
    assert response.status_code == 403 and response.json()["code"] == NOT_VERIFIED


def test_a_request_stays_private_to_its_pharmacy(patient, nominated, pharmacist, other_pharmacist):
    rx = make_request(patient)
    assert_private(f"{T}{rx.pk}/", owner=pharmacist, stranger=other_pharmacist, owner_status=200)


def test_other_roles_are_answered_as_before(patient, nominated, doctor):
    rx = make_request(patient)
    assert client_for(doctor).get(T).json()["code"] == "pharmacists_only"
    assert client_for(patient).get(f"{T}{rx.pk}/").status_code == 404


def test_an_unverified_pharmacist_can_neither_search_nor_dispense(issued, patient, pharmacist, pharmacy):
    """Dispensing gives out the medicine, and the search shows the patient's prescriptions with her
    allergies: both are for verified pharmacists, as triage is. Once verified, both work."""
    from prescriptions.models import ItemState, SignedItem

    item = SignedItem.objects.get(prescription_id=issued.prescription_id)
    _unverified(pharmacist)
    client = client_for(pharmacist)
    dispense = {"prescription_id": item.payload["id"], "nonce": item.nonce, "pharmacy_code": pharmacy.code,
                "pharmacist_name": "P"}
    for response in (client.get("/api/pharmacy/prescriptions/search/", {"hpn": patient.hpn}),
                     client.post("/api/prescriptions/dispense/", dispense, format="json")):
        assert response.status_code == 403, response.content[:200]
        assert response.json()["code"] == NOT_VERIFIED and "verified" in response.json()["message"]
    item.refresh_from_db()
    assert item.state == ItemState.ISSUED and item.dispensed_by_id is None

    Pharmacist.objects.filter(user=pharmacist).update(verified=True)
    assert client.get("/api/pharmacy/prescriptions/search/", {"hpn": patient.hpn}).status_code == 200
    assert client.post("/api/prescriptions/dispense/", dispense, format="json").status_code == 200
