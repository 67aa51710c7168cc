"""Who sees what: another patient, another pharmacy and a doctor of another hospital get 404 for
every object outside their scope (anonymous callers 401), and lists hold only their own."""

from __future__ import annotations

import pytest

from tests.helpers import assert_private, client_for
from tests.prescriptions.conftest import make_request

pytestmark = pytest.mark.django_db


def _item_url(patient) -> str:
    med = client_for(patient).get("/api/prescriptions/").json()["medications"][0]
    return f"/api/prescriptions/{med['id']}/"


def test_a_patients_prescription_is_private(issued, patient, other_patient):
    url = _item_url(patient)
    assert_private(url, owner=patient, stranger=other_patient, owner_status=200)
    assert_private(url + "complete/", stranger=other_patient, method="post")
    assert_private(url + "order/", stranger=other_patient, method="post")
    assert_private(url + "update-status/", stranger=other_patient, method="post", data={"status": "collected"})
    assert client_for(other_patient).get("/api/prescriptions/").json()["medications"] == []
    assert client_for(other_patient).get("/api/prescriptions/requests/").json()["total_count"] == 0


def test_prescriber_endpoints_are_scoped_to_the_patients_hospital(patient, doctor, foreign_doctor, nominated,
                                                                  other_patient, pharmacist):
    rx = make_request(patient)
    base = f"/api/provider/prescriptions/{rx.pk}/"
    assert_private(base, owner=doctor, stranger=foreign_doctor, owner_status=200)
    for stranger in (other_patient, pharmacist):
        assert client_for(stranger).get(base).status_code == 404
    assert_private(base + "approve", stranger=foreign_doctor, method="post", data={})
    assert_private(base + "reject", stranger=foreign_doctor, method="post", data={"reason": "no"})
    assert client_for(foreign_doctor).get("/api/provider/prescriptions/").json()["total_count"] == 0
    assert client_for(patient).get("/api/provider/prescriptions/").status_code == 403
    rx.refresh_from_db()
    assert rx.status == "REQUESTED"


def test_a_pharmacy_sees_only_what_is_routed_to_it(patient, nominated, pharmacist, other_pharmacist, doctor):
    rx = make_request(patient)
    base = f"/api/provider/prescriptions/triage/{rx.pk}/"
    assert_private(base, owner=pharmacist, stranger=other_pharmacist, owner_status=200)
    assert client_for(doctor).get(base).status_code == 404
    for action, body in (("approve/", {"pharmacist_notes": "x"}),
                         ("escalate/", {"escalation_reason": "x", "pharmacist_notes": "x"}),
                         ("reject/", {"rejection_reason": "x", "pharmacist_notes": "x"})):
        assert_private(base + action, stranger=other_pharmacist, method="post", data=body)
    listed = client_for(other_pharmacist).get("/api/provider/prescriptions/triage/").json()
    assert listed["total_count"] == 0 and listed["stats"]["awaiting_review"] == 0
    assert client_for(pharmacist).get("/api/provider/prescriptions/triage/").json()["total_count"] == 1
    rx.refresh_from_db()
    assert rx.pharmacist_action == ""


def test_nominations_are_the_callers_own(patient, other_patient, nominated):
    assert client_for(None).get("/api/pharmacies/nominated/").status_code == 401
    assert client_for(None).get("/api/pharmacies/nomination-history/").status_code == 401
    assert client_for(other_patient).get("/api/pharmacies/nominated/").json()["has_nomination"] is False
    assert client_for(other_patient).get("/api/pharmacies/nomination-history/").json()["count"] == 0
    assert client_for(patient).get("/api/pharmacies/nominated/").json()["has_nomination"] is True


def test_unknown_ids_are_json_404s(patient, doctor, pharmacist):
    for user, url in ((patient, "/api/prescriptions/not-a-real-id/"),
                      (doctor, "/api/provider/prescriptions/not-a-uuid/"),
                      (doctor, "/api/provider/prescriptions/00000000-0000-0000-0000-000000000000/"),
                      (pharmacist, "/api/provider/prescriptions/triage/00000000-0000-0000-0000-000000000000/")):
        response = client_for(user).get(url)
        assert response.status_code == 404 and "message" in response.json()


def test_the_rejection_email_carries_no_clinical_text(patient, doctor, nominated, django_capture_on_commit_callbacks):
    """The prescriber's reason may name the medicine: the patient reads it in her account, not in the email."""
    from django.core import mail

    rx = make_request(patient)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/reject",
                                           {"reason": "Stop metformin: kidney function", "requires_follow_up": True},
                                           format="json")
    assert response.status_code == 200
    (email,) = [m for m in mail.outbox if "not approved" in m.subject]
    assert "metformin" not in email.body.lower() and "kidney" not in email.body.lower()
    assert "reason" in email.body.lower() and rx.reference in email.body
    history = client_for(patient).get("/api/prescriptions/requests/", {"status": "REJECTED"}).json()["requests"]
    assert history[0]["rejection_reason"] == "Stop metformin: kidney function"
