"""``POST /api/prescriptions/{id}/order/``: one open repeat request per medication, and the
``ordered`` status the patient's page reads after a reload (``Prescriptions.tsx`` shows
``dispensed`` and ``ordered`` as collected)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from prescriptions.models import ItemState, PrescriptionRequest, SignedItem
from tests.concurrency import race
from tests.helpers import assert_private, client_for
from tests.prescriptions.conftest import approve

pytestmark = pytest.mark.django_db


def _med(patient) -> dict:
    return client_for(patient).get("/api/prescriptions/").json()["medications"][0]


def _order(patient, med_id: str):
    return client_for(patient).post(f"/api/prescriptions/{med_id}/order/")


def _orders_of(med_id: str) -> list[PrescriptionRequest]:
    return [rx for rx in PrescriptionRequest.objects.filter(request_type="repeat")
            if any(m.get("medication_id") == med_id for m in rx.medications)]


def _detail_status(patient, med_id: str) -> str:
    return client_for(patient).get(f"/api/prescriptions/{med_id}/").json()["status"]


def test_a_second_order_answers_the_open_request(issued, patient):
    med = _med(patient)
    first = _order(patient, med["id"])
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == "REQUESTED"
    assert first.json()["medications"][0]["medication_id"] == med["id"]
    second = _order(patient, med["id"])
    assert second.status_code == 200, second.json()
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["request_reference"] == first.json()["request_reference"]
    assert set(second.json()) == set(first.json())
    assert len(_orders_of(med["id"])) == 1


def test_ordered_in_list_and_detail_while_the_repeat_is_open(issued, patient, doctor,
                                                             django_capture_on_commit_callbacks):
    med = _med(patient)
    assert med["status"] == "active" and _detail_status(patient, med["id"]) == "active"
    rx_id = _order(patient, med["id"]).json()["id"]
    listed = _med(patient)
    assert listed["status"] == "ordered" and _detail_status(patient, med["id"]) == "ordered"
    assert listed["signed_prescription_data"] is not None  # the issued item can still be dispensed

    approve(doctor, PrescriptionRequest.objects.get(pk=rx_id), django_capture_on_commit_callbacks)
    meds = {m["id"]: m for m in client_for(patient).get("/api/prescriptions/").json()["medications"]}
    assert meds[med["id"]]["status"] == "ordered"  # approved, not yet dispensed: still open
    assert [m["status"] for i, m in meds.items() if i != med["id"]] == ["active"]  # the new prescription
    again = _order(patient, med["id"])
    assert again.status_code == 200 and again.json()["id"] == rx_id and again.json()["status"] == "APPROVED"


def test_a_request_from_the_form_naming_the_medication_counts(issued, patient):
    med = _med(patient)
    body = {"medications": [{"medication_id": med["id"], "medication_name": med["medication_name"],
                             "quantity": 0, "is_repeat": True}], "request_type": "repeat", "urgency": "routine"}
    made = client_for(patient).post("/api/prescriptions/requests/", body, format="json")
    assert made.status_code == 201
    assert _med(patient)["status"] == "ordered"
    ordered = _order(patient, med["id"])
    assert ordered.status_code == 200 and ordered.json()["id"] == made.json()["id"]


def test_a_new_order_after_the_repeat_is_rejected(issued, patient, doctor):
    med = _med(patient)
    first = _order(patient, med["id"]).json()
    rejected = client_for(doctor).post(f"/api/provider/prescriptions/{first['id']}/reject",
                                       {"reason": "Book a review"}, format="json")
    assert rejected.status_code == 200
    assert _med(patient)["status"] == "active"
    second = _order(patient, med["id"])
    assert second.status_code == 201 and second.json()["id"] != first["id"]
    assert len(_orders_of(med["id"])) == 2


def test_a_new_order_after_the_repeat_is_cancelled(issued, patient, doctor, pharmacist,
                                                   django_capture_on_commit_callbacks):
    med = _med(patient)
    first = _order(patient, med["id"]).json()
    approve(doctor, PrescriptionRequest.objects.get(pk=first["id"]), django_capture_on_commit_callbacks)
    cancelled = client_for(pharmacist).post(f"/api/provider/prescriptions/triage/{first['id']}/reject/",
                                            {"rejection_reason": "Out of stock"}, format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert PrescriptionRequest.objects.get(pk=first["id"]).status == "CANCELLED"
    assert _detail_status(patient, med["id"]) == "active"
    second = _order(patient, med["id"])
    assert second.status_code == 201 and second.json()["id"] != first["id"]


def test_a_new_order_after_the_repeat_is_dispensed(issued, patient, doctor, pharmacist, pharmacy,
                                                   django_capture_on_commit_callbacks):
    med = _med(patient)
    first = _order(patient, med["id"]).json()
    repeat = PrescriptionRequest.objects.get(pk=first["id"])
    approve(doctor, repeat, django_capture_on_commit_callbacks)
    item = SignedItem.objects.get(prescription_id=repeat.prescription_id)
    assert client_for(pharmacist).post("/api/prescriptions/dispense/", {
        "prescription_id": item.payload["id"], "nonce": item.nonce, "pharmacy_code": pharmacy.code,
        "pharmacist_name": "P"}, format="json").status_code == 200
    assert PrescriptionRequest.objects.get(pk=first["id"]).status == "DISPENSED"
    assert _detail_status(patient, med["id"]) == "active"
    assert _order(patient, med["id"]).status_code == 201


@pytest.mark.parametrize(("change", "status"), [
    ({"completed_at": timezone.now()}, "completed"),
    ({"state": ItemState.DISPENSED, "dispensed_at": timezone.now()}, "dispensed"),
    ({"state": ItemState.CANCELLED}, "cancelled"),
    ({"expires_at": timezone.now() - timedelta(days=1)}, "expired"),
])
def test_other_states_take_precedence_over_ordered(issued, patient, change, status):
    med = _med(patient)
    assert _order(patient, med["id"]).status_code == 201
    SignedItem.objects.filter(medication_id=med["id"]).update(**change)
    assert _med(patient)["status"] == status


def test_order_is_the_patients_own(issued, patient, other_patient):
    med = _med(patient)
    assert_private(f"/api/prescriptions/{med['id']}/order/", owner=patient, stranger=other_patient,
                   method="post", owner_status=201)
    assert len(_orders_of(med["id"])) == 1
    assert not PrescriptionRequest.objects.filter(patient=other_patient).exists()


def test_the_list_reads_the_ordered_flags_in_one_query(issued, patient, doctor, nominated,
                                                       django_capture_on_commit_callbacks):
    from tests.prescriptions.conftest import make_request

    for _ in range(3):
        approve(doctor, make_request(patient), django_capture_on_commit_callbacks)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client_for(patient).get("/api/prescriptions/").status_code == 200
        return len(ctx.captured_queries)

    before = count()
    meds = client_for(patient).get("/api/prescriptions/").json()["medications"]
    assert len(meds) == 4
    for med in meds:
        assert _order(patient, med["id"]).status_code == 201
    assert {m["status"] for m in client_for(patient).get("/api/prescriptions/").json()["medications"]} == {
        "ordered"}
    assert count() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_parallel_orders_create_one_request(issued, patient):
    med = _med(patient)

    def attempt(_):
        response = _order(patient, med["id"])
        return response.status_code, response.json().get("id")

    outcomes = race(attempt, range(12))
    assert all(o != "unfinished" and not str(o).startswith("error") for o in outcomes), outcomes
    assert sorted(status for status, _ in outcomes) == [200] * 11 + [201], outcomes
    assert len({rx_id for _, rx_id in outcomes}) == 1, outcomes
    orders = _orders_of(med["id"])
    assert len(orders) == 1 and str(orders[0].pk) == outcomes[0][1]
