"""A pharmacist finds a patient's prescriptions by HPN (``PharmacyPrescriptionsPage``): only what
is routed to her own pharmacy, with the nonce dispensing takes while it can be dispensed, and the
same 404 for an unknown HPN and for a patient with nothing routed there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prescriptions.models import PharmacistAction, SignedItem
from records.models import AuditEvent, MedicalProfile
from tests.factories import make_patient
from tests.helpers import assert_private, client_for
from tests.prescriptions.conftest import REPEAT, approve, make_request

pytestmark = pytest.mark.django_db
URL = "/api/pharmacy/prescriptions/search/"


def _grouped(hpn: str) -> str:
    return f"{hpn[:3]} {hpn[3:6]} {hpn[6:9]} {hpn[9:]}"


def _search(user, hpn, **params):
    return client_for(user).get(URL, {"hpn": hpn, **params})


def test_the_pharmacy_finds_the_prescription_routed_to_it_and_dispenses_it(issued, patient, pharmacist, pharmacy):
    MedicalProfile.objects.create(patient=patient, allergies=["Penicillin"], blood_type="O+",
                                  chronic_conditions=["HIV"])
    response = _search(pharmacist, _grouped(patient.hpn))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["success"] is True
    assert body["patient"] == {"hpn": patient.hpn, "name": patient.full_name, "blood_type": None,
                               "allergies": "Penicillin", "chronic_conditions": None, "is_high_risk": False}
    (item,) = body["prescriptions"]
    assert item["medication_name"] == "Metformin" and item["strength"] == "500mg" and item["status"] == "active"
    assert item["nominated_pharmacy"] == {"name": pharmacy.name, "code": pharmacy.code}
    assert item["dispensed"] is False and item["nonce"] and item["signature"] and item["drug_info"] is None
    assert body["summary"] == {"total_prescriptions": 1, "controlled_substances": 0,
                               "requires_enhanced_verification": False}
    assert body["accessed_by"]["pharmacy"] == f"{pharmacy.name} ({pharmacy.code})"
    assert AuditEvent.objects.filter(action="prescription_search", actor_id=pharmacist.pk,
                                     patient_id=patient.pk).count() == 1
    # What the page does next: dispense with the item's id and nonce and the code it reads from
    # ``accessed_by.pharmacy``.
    dispensed = client_for(pharmacist).post("/api/prescriptions/dispense/", {
        "prescription_id": item["id"], "nonce": item["nonce"], "pharmacy_code": pharmacy.code,
        "pharmacist_name": body["accessed_by"]["pharmacist"], "verification_notes": "Dispensed via PHB system",
    }, format="json")
    assert dispensed.status_code == 200, dispensed.json()

    assert _search(pharmacist, patient.hpn).status_code == 404  # nothing active any more
    done = _search(pharmacist, patient.hpn, status="completed").json()["prescriptions"]
    assert [(p["status"], p["dispensed"], p["nonce"]) for p in done] == [("completed", True, None)]
    assert done[0]["dispensed_by_pharmacy"] == {"name": pharmacy.name}


def test_another_pharmacy_an_unknown_hpn_and_a_patient_without_prescriptions_get_the_same_404(
        issued, patient, pharmacist, other_pharmacist):
    answers = [_search(other_pharmacist, patient.hpn), _search(pharmacist, "9" * 13),
               _search(pharmacist, make_patient().hpn)]
    assert {r.status_code for r in answers} == {404}
    assert len({r.content for r in answers}) == 1
    assert answers[0].json()["message"] and answers[0].json()["suggestions"]
    assert not AuditEvent.objects.filter(action="prescription_search").exists()


def test_only_pharmacists_search_and_anonymous_callers_get_401(issued, patient, pharmacist, other_pharmacist,
                                                               doctor):
    assert_private(f"{URL}?hpn={patient.hpn}", owner=pharmacist, stranger=other_pharmacist, owner_status=200)
    for caller in (patient, doctor):
        refused = _search(caller, patient.hpn)
        assert refused.status_code == 403 and refused.json()["code"] == "pharmacists_only"


@pytest.mark.parametrize("params", [{"hpn": ""}, {"hpn": "12"}, {"hpn": "123-456"}, {},
                                    {"hpn": "1234567890123", "status": "everything"}])
def test_bad_input_is_a_400_naming_the_field(pharmacist, params):
    response = client_for(pharmacist).get(URL, params)
    assert response.status_code == 400, response.content
    assert response.json()["message"]


def test_nonces_only_for_what_can_be_dispensed(issued, patient, pharmacist):
    item = SignedItem.objects.get(prescription__patient=patient)
    issued.pharmacist_action = PharmacistAction.ESCALATED
    issued.save(update_fields=["pharmacist_action"])
    held = _search(pharmacist, patient.hpn, status="all").json()["prescriptions"]
    assert [(p["status"], p["nonce"]) for p in held] == [("on_hold", None)]

    issued.pharmacist_action = PharmacistAction.APPROVED
    issued.save(update_fields=["pharmacist_action"])
    SignedItem.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = _search(pharmacist, patient.hpn, status="discontinued").json()["prescriptions"]
    assert [(p["status"], p["nonce"]) for p in expired] == [("discontinued", None)]
    assert _search(pharmacist, patient.hpn).status_code == 404


def test_a_controlled_drug_is_marked_for_the_pages_badge_and_photo_id(patient, doctor, second_doctor, nominated,
                                                                       pharmacist, django_capture_on_commit_callbacks):
    rx = make_request(patient, medications=[{**REPEAT, "medication_name": "Tramadol", "strength": "50mg",
                                             "is_repeat": False}])
    approve(doctor, rx, django_capture_on_commit_callbacks)
    approve(second_doctor, rx, django_capture_on_commit_callbacks)
    body = _search(pharmacist, patient.hpn).json()
    (item,) = body["prescriptions"]
    assert item["pharmacy_instructions"].startswith("CONTROLLED SUBSTANCE")
    assert body["summary"]["controlled_substances"] == 1 and body["verification_required"]["level_2_government_id"]
    assert body["patient"]["is_high_risk"] is True
