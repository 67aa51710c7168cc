"""Signed prescriptions: verified with the public key alone, refused when tampered, expired,
cancelled or already dispensed (nothing changes), and signed after commit, never inside a
transaction."""

from __future__ import annotations

import base64
import copy
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection
from django.utils import timezone

from prescriptions import signing, verification
from prescriptions.models import ItemState, SignedItem
from records.models import AuditEvent
from tests.helpers import client_for
from tests.prescriptions.conftest import approve, make_request, signed_of

pytestmark = pytest.mark.django_db


def _dispense(user, data, code, **extra):
    return client_for(user).post("/api/prescriptions/dispense/", {
        "prescription_id": data["payload"]["id"], "nonce": data["payload"]["nonce"], "pharmacy_code": code,
        "pharmacist_name": "Pat Pharmacist", "verification_notes": "Patient ID verified", **extra}, format="json")


def _state(item_id):
    return SignedItem.objects.values_list("state", "dispensed_at").get(pk=item_id)


def test_the_public_key_alone_verifies_the_signature(issued, patient):
    data = signed_of(patient)
    pem = client_for(None).get("/api/prescriptions/signing-key/").json()["public_key_pem"]
    key = serialization.load_pem_public_key(pem.encode())
    key.verify(base64.b64decode(data["signature"]), signing.canonical(data["payload"]), ec.ECDSA(hashes.SHA256()))


def test_verify_then_dispense_once(issued, patient, pharmacist, pharmacy, other_pharmacist, other_pharmacy):
    data = signed_of(patient)
    verified = client_for(None).post("/api/prescriptions/verify/", {
        "payload": data["payload"], "signature": data["signature"], "pharmacy_name": "Test"}, format="json").json()
    assert verified["valid"] is True and verified["reason"]
    details = verified["details"]
    assert details["medication"] == "Metformin" and details["patient_hpn"] == patient.hpn
    assert details["dispensed"] is False and details["nominated_pharmacy"] == pharmacy.name
    assert set(details) <= {"prescription_id", "patient_name", "patient_hpn", "medication", "strength", "dosage",
                            "frequency", "controlled", "dispensed", "nominated_pharmacy", "expiry_date",
                            "dispensed_at", "dispensed_by"}
    first = _dispense(pharmacist, data, pharmacy.code)
    assert first.status_code == 200, first.json()
    assert first.json()["success"] is True and first.json()["details"]["dispensed_at"]
    issued.refresh_from_db()
    assert issued.status == "DISPENSED"
    assert AuditEvent.objects.filter(action="prescription_dispensed", actor_id=pharmacist.pk).count() == 1
    second = _dispense(other_pharmacist, data, other_pharmacy.code)
    assert second.status_code == 409 and second.json()["code"] == "already_dispensed"
    assert pharmacy.name in second.json()["message"]
    again = client_for(None).post("/api/prescriptions/verify/", {
        "payload": data["payload"], "signature": data["signature"]}, format="json").json()
    assert again["valid"] is False and again["details"]["dispensed"] is True


@pytest.mark.parametrize("change", [
    lambda p: p.__setitem__("medication", "Oxycodone"),
    lambda p: p.__setitem__("expiry", "2099-01-01T00:00:00Z"),
    lambda p: p.__setitem__("hpn", "0000000000000"),
    lambda p: p.pop("pharmacy"),
])
def test_a_tampered_payload_is_refused_and_nothing_changes(issued, patient, pharmacist, pharmacy, change):
    data = signed_of(patient)
    item = SignedItem.objects.get(nonce=data["payload"]["nonce"])
    tampered = copy.deepcopy(data["payload"])
    change(tampered)
    answer = client_for(pharmacist).post("/api/prescriptions/verify/", {
        "payload": tampered, "signature": data["signature"]}, format="json").json()
    assert answer["valid"] is False and answer["code"] == "invalid_signature" and "details" not in answer
    refused = _dispense(pharmacist, data, pharmacy.code, payload=tampered, signature=data["signature"])
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_signature"
    assert _state(item.pk) == (ItemState.ISSUED, None)


def test_a_forged_signature_is_refused(issued, patient):
    data = signed_of(patient)
    forged = ec.generate_private_key(ec.SECP256R1()).sign(signing.canonical(data["payload"]),
                                                          ec.ECDSA(hashes.SHA256()))
    for signature in (base64.b64encode(forged).decode(), "not base64!", data["signature"][:-8] + "AAAAAAA="):
        answer = client_for(None).post("/api/prescriptions/verify/", {
            "payload": data["payload"], "signature": signature}, format="json").json()
        assert answer["valid"] is False


def test_expired_and_cancelled_are_refused_with_a_reason(issued, patient, pharmacist, pharmacy):
    data = signed_of(patient)
    item = SignedItem.objects.get(nonce=data["payload"]["nonce"])
    SignedItem.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = _dispense(pharmacist, data, pharmacy.code)
    assert expired.status_code == 409 and expired.json()["code"] == "expired"
    SignedItem.objects.filter(pk=item.pk).update(expires_at=timezone.now() + timedelta(days=1),
                                                 state=ItemState.CANCELLED)
    cancelled = _dispense(pharmacist, data, pharmacy.code)
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "cancelled"
    assert _state(item.pk) == (ItemState.CANCELLED, None)


def test_only_a_pharmacist_of_the_named_pharmacy_dispenses(issued, patient, doctor, pharmacist, other_pharmacy):
    data = signed_of(patient)
    assert _dispense(None, data, other_pharmacy.code).status_code == 401
    assert _dispense(patient, data, other_pharmacy.code).status_code == 403
    assert _dispense(doctor, data, other_pharmacy.code).status_code == 403
    mismatch = _dispense(pharmacist, data, other_pharmacy.code)
    assert mismatch.status_code == 403 and mismatch.json()["code"] == "pharmacy_mismatch"
    wrong_nonce = client_for(pharmacist).post("/api/prescriptions/dispense/", {
        "prescription_id": data["payload"]["id"], "nonce": "guess"}, format="json")
    assert wrong_nonce.status_code == 404
    assert SignedItem.objects.get(nonce=data["payload"]["nonce"]).state == ItemState.ISSUED


def test_signing_failure_leaves_the_item_pending_and_the_command_signs_it(
        patient, doctor, nominated, django_capture_on_commit_callbacks, monkeypatch):
    from django.core.management import call_command

    rx = make_request(patient)

    def unavailable(payload):
        raise ConnectionError("KMS unreachable")

    monkeypatch.setattr(signing, "sign", unavailable)
    approve(doctor, rx, django_capture_on_commit_callbacks)
    item = SignedItem.objects.get(prescription=rx.prescription)
    assert item.state == ItemState.PENDING and item.signing_claimed_at is None
    med = client_for(patient).get("/api/prescriptions/").json()["medications"][0]
    assert med["signed_prescription_data"] is None
    monkeypatch.undo()
    call_command("sign_pending_prescriptions", stdout=open("/dev/null", "w"))
    item.refresh_from_db()
    assert item.state == ItemState.ISSUED and verification.verify(item.payload, item.signature)


@pytest.mark.django_db(transaction=True)
def test_kms_is_called_after_commit_outside_any_transaction(monkeypatch, hospital, department):
    from pharmacies.models import Nomination
    from tests.factories import make_doctor, make_patient
    from tests.pharmacies.factories import PharmacyFactory

    patient, doctor = make_patient(hospital=hospital), make_doctor(department=department)
    Nomination.objects.create(patient=patient, pharmacy=PharmacyFactory())
    rx = make_request(patient)
    seen = []
    real = signing.sign

    def spy(payload):
        seen.append(connection.in_atomic_block)
        return real(payload)

    monkeypatch.setattr(signing, "sign", spy)
    assert client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {}, format="json"
                                   ).status_code == 200
    assert seen == [False]
    assert SignedItem.objects.get(prescription__request=rx).state == ItemState.ISSUED


def test_a_doctors_consultation_prescription_is_signed_too(patient, doctor, nominated,
                                                           django_capture_on_commit_callbacks):
    from appointments.models import Appointment, AppointmentStatus
    from appointments.services import prescription_issue
    from tests.appointments.helpers import book, future_slot

    appointment = book(patient, doctor.staff.department, future_slot(doctor.staff.hospital))
    Appointment.objects.filter(pk=appointment.pk).update(status=AppointmentStatus.CONFIRMED, doctor=doctor)
    appointment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        prescription_issue(appointment=appointment, prescriber=doctor, medications=[
            {"medication_name": "Amoxicillin", "strength": "500mg"}, {"medication_name": "Paracetamol"}])
    meds = client_for(patient).get("/api/prescriptions/").json()["medications"]
    assert len(meds) == 2 and all(m["signed_prescription_data"] for m in meds)
    assert len({m["signed_prescription_data"]["payload"]["nonce"] for m in meds}) == 2


def test_a_corrected_prescription_cancels_the_old_token(issued, patient, pharmacist, pharmacy,
                                                        django_capture_on_commit_callbacks):
    from appointments.signals import send_prescription_issued_after_commit

    old = signed_of(patient)
    prescription = issued.prescription
    with django_capture_on_commit_callbacks(execute=True):  # a duplicate signal changes nothing
        send_prescription_issued_after_commit(prescription=prescription)
    assert SignedItem.objects.filter(prescription=prescription).count() == 1
    prescription.medications = [{**prescription.medications[0], "strength": "850mg"}]
    prescription.save(update_fields=["medications"])
    with django_capture_on_commit_callbacks(execute=True):
        send_prescription_issued_after_commit(prescription=prescription)
    assert SignedItem.objects.get(nonce=old["payload"]["nonce"]).state == ItemState.CANCELLED
    new = signed_of(patient)
    assert new["payload"]["strength"] == "850mg" and new["payload"]["nonce"] != old["payload"]["nonce"]
    refused = _dispense(pharmacist, old, pharmacy.code)
    assert refused.status_code == 409 and refused.json()["code"] == "cancelled"
    assert _dispense(pharmacist, new, pharmacy.code).status_code == 200


def test_after_a_correction_the_patients_item_pages_act_on_the_live_item(issued, patient, pharmacist, pharmacy,
                                                                          django_capture_on_commit_callbacks):
    """The cancelled item and its successor share the medication id: the detail page and "collected"
    take the live one, as the list does."""
    from appointments.signals import send_prescription_issued_after_commit

    prescription = issued.prescription
    prescription.medications = [{**prescription.medications[0], "strength": "850mg"}]
    prescription.save(update_fields=["medications"])
    with django_capture_on_commit_callbacks(execute=True):
        send_prescription_issued_after_commit(prescription=prescription)
    new = signed_of(patient)
    assert _dispense(pharmacist, new, pharmacy.code).status_code == 200
    medication_id = prescription.medications[0]["id"]

    listed = client_for(patient).get("/api/prescriptions/").json()["medications"][0]
    detail = client_for(patient).get(f"/api/prescriptions/{medication_id}/")
    assert detail.status_code == 200
    assert detail.json()["status"] == listed["status"] == "dispensed"
    collected = client_for(patient).post(f"/api/prescriptions/{medication_id}/update-status/",
                                         {"status": "collected"}, format="json")
    assert collected.status_code == 200, collected.json()


def test_kms_unreachable_for_the_public_key_is_a_503_and_nothing_changes(issued, patient, pharmacist, pharmacy):
    """A process that has not read the public key yet while KMS cannot be reached: verifying,
    dispensing with the payload and the key itself answer a 503 with a message (they were 500s),
    nothing is dispensed, and the next check once KMS answers works."""
    from phb.aws.clients import aws_client
    from tests.aws_faults import unreachable

    data = signed_of(patient)
    item = SignedItem.objects.get(nonce=data["payload"]["nonce"])
    signing.forget_public_key()
    with unreachable(aws_client("kms"), "GetPublicKey"):
        verified = client_for(None).post("/api/prescriptions/verify/", {
            "payload": data["payload"], "signature": data["signature"]}, format="json")
        key = client_for(None).get("/api/prescriptions/signing-key/")
        dispensed = _dispense(pharmacist, data, pharmacy.code, payload=data["payload"], signature=data["signature"])
    for response in (verified, key, dispensed):
        assert response.status_code == 503, response.content
        assert response.json()["code"] == "signing_key_unavailable" and response.json()["message"]
    assert _state(item.pk) == (ItemState.ISSUED, None)
    again = client_for(None).post("/api/prescriptions/verify/", {
        "payload": data["payload"], "signature": data["signature"]}, format="json")
    assert again.status_code == 200 and again.json()["valid"] is True


def test_a_prescription_whose_items_were_never_created_gets_them_from_the_command(
        patient, doctor, nominated, django_capture_on_commit_callbacks):
    """The worker died between the issuing commit and its after-commit step: the prescription has no
    item, so no QR code and nothing to dispense. The timer's command creates and signs them (once),
    and leaves alone a prescription issued a moment ago, whose own step is still to run."""
    from django.core.management import call_command

    from appointments.models import Prescription

    rx = make_request(patient)
    with django_capture_on_commit_callbacks(execute=False):  # committed; the step never runs
        assert client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {}, format="json"
                                       ).status_code == 200
    rx.refresh_from_db()
    assert not SignedItem.objects.filter(prescription=rx.prescription).exists()
    call_command("sign_pending_prescriptions", stdout=open("/dev/null", "w"))
    assert not SignedItem.objects.filter(prescription=rx.prescription).exists()  # too recent
    Prescription.objects.filter(pk=rx.prescription_id).update(issued_at=timezone.now() - timedelta(minutes=5))
    call_command("sign_pending_prescriptions", stdout=open("/dev/null", "w"))
    call_command("sign_pending_prescriptions", stdout=open("/dev/null", "w"))
    item = SignedItem.objects.get(prescription=rx.prescription)
    assert item.state == ItemState.ISSUED and verification.verify(item.payload, item.signature)
    assert signed_of(patient)["payload"]["nonce"] == item.nonce


def test_kms_unreachable_ends_the_signing_run_at_the_first_item_and_the_next_run_signs_all(
        patient, doctor, nominated, django_capture_on_commit_callbacks, caplog):
    """During a KMS outage each call waits out its timeouts: one run of the job does not try every
    pending item (500 of them would outlast its 10 minutes); the next run, KMS back, signs them all."""
    from django.core.management import call_command

    from phb.aws.clients import aws_client
    from tests.aws_faults import unreachable
    from tests.prescriptions.conftest import REPEAT

    medications = [{**REPEAT, "medication_name": name} for name in ("Metformin", "Amlodipine", "Atorvastatin")]
    rx = make_request(patient, medications=medications)
    with unreachable(aws_client("kms"), "Sign"):
        approve(doctor, rx, django_capture_on_commit_callbacks)
        assert SignedItem.objects.filter(prescription=rx.prescription, state=ItemState.PENDING).count() == 3
        caplog.clear()
        call_command("sign_pending_prescriptions", stdout=open("/dev/null", "w"))
    failures = [r for r in caplog.records if getattr(r, "event", "") == "prescription_signing_failed"]
    assert len(failures) == 1
    assert not SignedItem.objects.filter(prescription=rx.prescription, signing_claimed_at__isnull=False,
                                         state=ItemState.PENDING).exists()

    call_command("sign_pending_prescriptions", stdout=open("/dev/null", "w"))
    assert SignedItem.objects.filter(prescription=rx.prescription, state=ItemState.ISSUED).count() == 3
