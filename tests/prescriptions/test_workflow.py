"""A repeat request from the patient through prescriber approval, pharmacist triage, signing and
dispensing, each endpoint checked against the fields the frontend reads."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail

from phb.aws.clients import aws_client
from prescriptions.models import ItemState, PrescriptionRequest, SignedItem
from records.models import AuditEvent
from storage.models import PrescriptionDocument
from tests.helpers import client_for
from tests.prescriptions.conftest import REPEAT, approve, make_request
from tests.storage.files import pdf_text

pytestmark = pytest.mark.django_db

PHARMACY_KEYS = {"id", "phb_pharmacy_code", "name", "address_line_1", "city", "postcode", "phone",
                 "electronic_prescriptions_enabled"}


def test_patient_request_answers_the_shape_the_form_reads(patient, nominated, pharmacy):
    response = client_for(patient).post("/api/prescriptions/requests/", {
        "medications": [REPEAT], "request_type": "repeat", "urgency": "urgent", "additional_notes": "running low",
    }, format="json")
    assert response.status_code == 201
    body = response.json()
    assert {"id", "request_reference", "status", "request_date", "medications", "pharmacy", "message"} <= set(body)
    assert body["status"] == "REQUESTED"
    assert body["request_reference"].startswith("REQ-")
    assert body["medications"][0]["medication_name"] == "Metformin"
    assert set(body["pharmacy"]) == PHARMACY_KEYS and body["pharmacy"]["id"] == pharmacy.pk
    assert body["message"].endswith(f"for review. It will go to {pharmacy.name} once approved.")
    assert AuditEvent.objects.filter(action="prescription_requested", object_id=body["id"]).exists()

    listed = client_for(patient).get("/api/prescriptions/requests/", {"status": "REQUESTED"}).json()
    assert listed["status"] == "success" and listed["total_count"] == 1
    item = listed["requests"][0]
    assert {"id", "request_reference", "status", "request_date", "medications", "urgency", "pharmacy"} <= set(item)
    assert client_for(patient).get("/api/prescriptions/requests/", {"status": "APPROVED"}).json()["total_count"] == 0


def test_a_request_without_a_quantity_leaves_it_to_the_prescriber(patient, nominated, doctor):
    """The request form sends ``quantity: 0`` for every medication ("determined by your doctor")."""
    new = {"medication_name": "Metformin", "strength": "500mg", "form": "tablet", "quantity": 0,
           "is_repeat": False, "reason": "supply runs out next week"}
    response = client_for(patient).post("/api/prescriptions/requests/", {
        "medications": [new], "request_type": "repeat", "urgency": "routine", "additional_notes": "",
    }, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["medications"][0]["quantity"] == 0
    shown = client_for(doctor).get(f"/api/provider/prescriptions/{response.json()['id']}/").json()
    assert "Metformin" in str(shown)
    negative = {**new, "quantity": -1}
    refused = client_for(patient).post("/api/prescriptions/requests/", {
        "medications": [negative], "request_type": "repeat"}, format="json")
    assert refused.status_code == 400 and "message" in refused.json()


@pytest.mark.parametrize(("medications", "code"), [
    ([], "medications_required"),
    ([REPEAT] * 11, "too_many_medications"),
    ([{**REPEAT, "medication_name": n} for n in ("Codeine phosphate", "Tramadol", "Diazepam")],
     "too_many_controlled"),
])
def test_request_limits_are_enforced_by_the_server(patient, medications, code):
    response = client_for(patient).post("/api/prescriptions/requests/", {
        "medications": medications, "request_type": "repeat"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]
    assert not PrescriptionRequest.objects.exists()


def test_bad_input_is_a_json_400_never_a_500(patient):
    for body in ({"medications": "x", "request_type": "repeat"}, {"medications": [REPEAT], "request_type": "x"},
                 {"medications": [{"quantity": 2}], "request_type": "new"}):
        response = client_for(patient).post("/api/prescriptions/requests/", body, format="json")
        assert response.status_code == 400 and "message" in response.json()
    assert client_for(patient).get("/api/prescriptions/requests/", {"status": "nope"}).status_code == 400


def test_only_patients_request(doctor):
    response = client_for(doctor).post("/api/prescriptions/requests/", {
        "medications": [REPEAT], "request_type": "repeat"}, format="json")
    assert response.status_code == 403


def test_prescriber_list_and_detail_shapes(patient, doctor, nominated):
    rx = make_request(patient)
    body = client_for(doctor).get("/api/provider/prescriptions/", {"status": "REQUESTED"}).json()
    assert {"status", "requests", "total_count", "pending_count", "urgent_count"} <= set(body)
    item = body["requests"][0]
    for key in ("id", "request_reference", "patient_name", "patient_hpn", "patient_dob", "patient_age", "status",
                "urgency", "request_date", "medications", "pharmacy"):
        assert key in item
    assert item["patient_hpn"] == patient.hpn
    detail = client_for(doctor).get(f"/api/provider/prescriptions/{rx.pk}/").json()
    assert {"name", "hpn", "dob", "age", "allergies", "current_medications"} <= set(detail["patient"])
    assert detail["medications"][0]["is_controlled"] is False
    assert AuditEvent.objects.filter(action="prescription_request_read", actor_id=doctor.pk).exists()


def test_approval_issues_signs_routes_and_emails(patient, doctor, pharmacy, nominated,
                                                 django_capture_on_commit_callbacks):
    rx = make_request(patient)
    mail.outbox.clear()
    answer = approve(doctor, rx, django_capture_on_commit_callbacks, {
        "medications": [{"medication_name": "Metformin", "strength": "500mg", "form": "tablet", "quantity": 56,
                         "dosage_instructions": "1 tablet twice daily", "refills_allowed": 2}],
        "clinical_notes": "stable"})
    assert answer["success"] is True and answer["request_reference"] == rx.reference
    assert rx.status == "APPROVED" and rx.prescription is not None
    document = PrescriptionDocument.objects.get(prescription=rx.prescription)  # the PDF, as before
    body = aws_client("s3").get_object(Bucket=settings.PRESCRIPTIONS_BUCKET, Key=document.key)["Body"].read()
    assert all(text in pdf_text(body) for text in ("Metformin", rx.hospital.name, patient.full_name))
    item = SignedItem.objects.get(prescription=rx.prescription)
    assert item.state == ItemState.ISSUED and item.pharmacy == pharmacy and item.signature
    assert any("approved" in m.subject for m in mail.outbox)
    assert all("Metformin" not in m.body for m in mail.outbox)

    meds = client_for(patient).get("/api/prescriptions/").json()["medications"]
    med = meds[0]
    assert med["status"] == "active" and med["dispensed"] is False and med["appointment_id"] is None
    payload = med["signed_prescription_data"]["payload"]
    assert set(payload) == {"type", "id", "nonce", "hpn", "medication", "strength", "patient", "prescriber",
                            "dosage", "frequency", "pharmacy", "issued", "expiry"}
    assert payload["id"] == str(rx.prescription_id) and payload["hpn"] == patient.hpn
    assert payload["pharmacy"]["code"] == pharmacy.code
    assert med["nominated_pharmacy"]["id"] == pharmacy.pk

    history = client_for(patient).get("/api/prescriptions/requests/").json()["requests"][0]
    assert history["status"] == "APPROVED" and history["approval_date"]


def test_approve_accepts_both_slash_forms_and_refuses_twice(patient, doctor, nominated,
                                                            django_capture_on_commit_callbacks):
    rx = make_request(patient)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve/", {}, format="json"
                                       ).status_code == 200
    again = client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_rejection_records_reason_and_emails(patient, doctor, nominated, django_capture_on_commit_callbacks):
    rx = make_request(patient)
    assert client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/reject", {}, format="json"
                                   ).status_code == 400
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/reject",
                                           {"reason": "Needs a review appointment", "requires_follow_up": True},
                                           format="json")
    assert response.status_code == 200 and response.json()["success"] is True
    rx.refresh_from_db()
    assert rx.status == "REJECTED" and rx.rejection_reason == "Needs a review appointment"
    assert any("not approved" in m.subject for m in mail.outbox)
    history = client_for(patient).get("/api/prescriptions/requests/", {"status": "REJECTED"}).json()["requests"]
    assert history[0]["rejection_reason"] == "Needs a review appointment"


def test_patient_detail_collect_complete_and_order(issued, patient, pharmacist, pharmacy):
    med = client_for(patient).get("/api/prescriptions/").json()["medications"][0]
    detail = client_for(patient).get(f"/api/prescriptions/{med['id']}/").json()
    for key in ("id", "prescription_id", "medication_name", "strength", "form", "route", "dosage", "frequency",
                "patient_instructions", "indication", "created_at", "prescriber_name", "status"):
        assert key in detail
    early = client_for(patient).post(f"/api/prescriptions/{med['id']}/update-status/", {"status": "collected"},
                                     format="json")
    assert early.status_code == 409 and early.json()["code"] == "not_dispensed"
    data = med["signed_prescription_data"]
    assert client_for(pharmacist).post("/api/prescriptions/dispense/", {
        "prescription_id": data["payload"]["id"], "nonce": data["payload"]["nonce"],
        "pharmacy_code": pharmacy.code, "pharmacist_name": "P", "verification_notes": "ID checked"},
        format="json").status_code == 200
    collected = client_for(patient).post(f"/api/prescriptions/{med['id']}/update-status/", {"status": "collected"},
                                         format="json")
    assert collected.status_code == 200 and collected.json()["status"] == "collected"
    assert client_for(patient).get("/api/prescriptions/").json()["medications"][0]["status"] == "dispensed"
    done = client_for(patient).post(f"/api/prescriptions/{med['id']}/complete/")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    ordered = client_for(patient).post(f"/api/prescriptions/{med['id']}/order/")
    assert ordered.status_code == 201 and ordered.json()["status"] == "REQUESTED"
    assert PrescriptionRequest.objects.filter(patient=patient, status="REQUESTED").count() == 1


def test_a_closed_nominated_pharmacy_is_routed_like_no_nomination(patient, doctor, pharmacy, nominated,
                                                                  django_capture_on_commit_callbacks):
    """A closed pharmacy's queue is seen by nobody: a request is then sent to no pharmacy, as without
    a nomination, and the patient is told so; the signed token names no pharmacy."""
    pharmacy.is_active = False
    pharmacy.save(update_fields=["is_active"])
    response = client_for(patient).post("/api/prescriptions/requests/", {
        "medications": [REPEAT], "request_type": "repeat", "urgency": "routine"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["pharmacy"] is None
    assert f"Your nominated pharmacy, {pharmacy.name}, is closed" in body["message"]
    assert "any pharmacy can dispense it" in body["message"]
    rx = PrescriptionRequest.objects.get(pk=body["id"])
    assert rx.pharmacy_id is None
    approve(doctor, rx, django_capture_on_commit_callbacks)
    item = SignedItem.objects.get(prescription__request=rx)
    assert item.state == ItemState.ISSUED and item.pharmacy_id is None and item.payload["pharmacy"] is None
    named = client_for(patient).post("/api/prescriptions/requests/", {
        "medications": [REPEAT], "request_type": "repeat", "nominated_pharmacy_id": pharmacy.pk}, format="json")
    assert named.status_code == 400 and named.json()["code"] == "invalid_pharmacy"


def test_a_consultation_prescription_is_not_routed_to_a_closed_nominated_pharmacy(
        patient, doctor, pharmacy, nominated, django_capture_on_commit_callbacks):
    from appointments.models import Appointment, AppointmentStatus
    from appointments.services import prescription_issue
    from tests.appointments.helpers import book, future_slot

    appointment = book(patient, doctor.staff.department, future_slot(doctor.staff.hospital))
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CONFIRMED, doctor=doctor)
    appointment.refresh_from_db()
    pharmacy.is_active = False
    pharmacy.save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        prescription_issue(appointment=appointment, prescriber=doctor,
                           medications=[{"medication_name": "Amoxicillin", "strength": "500mg"}])
    item = SignedItem.objects.get(prescription__appointment=appointment)
    assert item.state == ItemState.ISSUED and item.pharmacy_id is None and item.payload["pharmacy"] is None



def test_a_request_whose_pharmacy_closed_before_approval_is_not_routed_there(patient, doctor, pharmacy, nominated,
                                                                             django_capture_on_commit_callbacks):
    """Nor is the patient told it was sent there: the approval email says what the token says."""
    rx = make_request(patient)
    assert rx.pharmacy_id == pharmacy.pk
    pharmacy.is_active = False
    pharmacy.save(update_fields=["is_active"])
    mail.outbox.clear()
    approve(doctor, rx, django_capture_on_commit_callbacks)
    item = SignedItem.objects.get(prescription=rx.prescription)
    assert item.state == ItemState.ISSUED and item.pharmacy_id is None and item.payload["pharmacy"] is None
    [email] = [m for m in mail.outbox if "approved" in m.subject]
    assert pharmacy.name not in email.body and "at any pharmacy" in email.body


def test_a_medication_prescribed_at_a_consultation_can_be_repeated_and_approved_whole(
        patient, nominated, doctor, django_capture_on_commit_callbacks):
    """A consultation takes a strength or form of 100 characters and a frequency of 200
    (``appointments.serializers.MedicationInput``): its repeat request and approval take them too."""
    long = {"medication_name": "Insulin glargine", "strength": "100 units/mL " + "x" * 87,
            "form": "solution for injection in a pre-filled pen " + "y" * 57, "quantity": 0, "is_repeat": True}
    assert len(long["strength"]) == len(long["form"]) == 100
    rx = make_request(patient, medications=[long])
    body = {"clinical_notes": "ok", "medications": [{
        "medication_name": long["medication_name"], "strength": long["strength"], "form": long["form"],
        "quantity": 5, "dosage_instructions": "as directed", "frequency": "f" * 200}]}
    issued = approve(doctor, rx, django_capture_on_commit_callbacks, body=body)
    assert issued["status"] == "APPROVED", issued
    assert rx.approved_medications[0]["strength"] == long["strength"]

    too_long = client_for(patient).post("/api/prescriptions/requests/", {
        "medications": [{**long, "strength": long["strength"] + "z"}], "request_type": "repeat"}, format="json")
    assert too_long.status_code == 400 and "message" in too_long.json()
