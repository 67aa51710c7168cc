"""Clinician access with the patient's consent (M11–M18)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from phb import metrics
from records.models import AccessConsent, AuditEvent, ClinicalEntry
from tests.helpers import client_for
from tests.records.conftest import (
    MED_HEADER,
    RECORD_URL,
    REQUEST_OTP_URL,
    VERIFY_OTP_URL,
    last_code,
    make_appointment,
    session_store_refuses,
)

pytestmark = pytest.mark.django_db


def _request(send, doctor, patient, appointment=None):
    body = {"access_reason": "Medical consultation", "access_type": "medical_records"}
    if appointment is not None:
        body["appointment_id"] = appointment.appointment_id
    return send(client_for(doctor), "post", f"/api/professional/patient/{patient.pk}/request-access/", body)


def _grant(send, doctor, patient, appointment):
    assert _request(send, doctor, patient, appointment).status_code == 201
    code = last_code(to=patient.email)
    client = client_for(doctor)
    verified = client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
    assert verified.status_code == 200, verified.content
    return client, verified.json()["med_access_token"]


def test_without_consent_refused_with_consent_allowed_after_revocation_refused(send, doctor, patient, appointment):
    records_url = f"/api/professional/patients/{patient.pk}/medical-records/"
    status_url = f"/api/professional/patient/{patient.pk}/medical-access/{appointment.appointment_id}/"
    doctor_client = client_for(doctor)

    with metrics.capture() as seen:
        refused = doctor_client.get(records_url)
    assert refused.status_code == 403
    assert refused.json()["requires_otp"] is True
    assert [d.dimensions for d in seen if d.name == "MedicalRecordAccessError"] == [{"Reason": "no_consent"}]
    assert doctor_client.get(status_url).json()["has_access"] is False

    requested = _request(send, doctor, patient, appointment)
    assert requested.status_code == 201
    assert requested.json()["requires_otp"] is True
    assert doctor_client.get(records_url).status_code == 403, "a pending request grants nothing"

    # The doctor types in the code the patient received (M2 screen from the doctor's session).
    code = last_code(to=patient.email)
    verified = doctor_client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
    assert verified.status_code == 200, verified.content
    token = verified.json()["med_access_token"]
    assert verified.json()["expires_in"] == 3600
    assert verified.json()["patient_id"] == str(patient.pk)

    allowed = doctor_client.get(records_url)
    assert allowed.status_code == 200
    assert allowed.json()["patient_id"] == str(patient.pk)
    via_gate = doctor_client.get(RECORD_URL, **{MED_HEADER: token})
    assert via_gate.status_code == 200
    assert via_gate.json()["id"] == str(patient.pk)
    assert doctor_client.get(status_url).json()["has_access"] is True
    reads = AuditEvent.objects.filter(patient_id=patient.pk, actor_id=doctor.pk, action="read")
    assert reads.count() == 2

    consents = doctor_client.get(f"/api/professional/patient/{patient.pk}/consents/").json()["consents"]
    assert [c["status"] for c in consents] == ["granted"]
    logs = doctor_client.get(f"/api/professional/patient/{patient.pk}/access-logs/").json()["access_logs"]
    assert {e["action"] for e in logs} >= {"read", "access_granted", "access_requested"}

    # The patient sees who has access and revokes it: access ends at once.
    patient_client = client_for(patient)
    mine = patient_client.get("/api/patient/medical-record/consents/").json()["consents"]
    assert mine[0]["is_active"] is True and mine[0]["clinician_name"] == doctor.full_name
    revoked = patient_client.post(f"/api/patient/medical-record/consents/{mine[0]['id']}/revoke/")
    assert revoked.status_code == 200

    assert doctor_client.get(records_url).status_code == 403
    after = doctor_client.get(RECORD_URL, **{MED_HEADER: token})
    assert after.status_code == 403
    assert after.json()["code"] == "INVALID_MED_ACCESS"
    assert doctor_client.get(status_url).json()["has_access"] is False


def test_clinician_without_appointment_cannot_request(send, other_doctor, patient, appointment):
    response = _request(send, other_doctor, patient)
    assert response.status_code == 404
    assert not AccessConsent.objects.filter(clinician=other_doctor).exists()


def test_cancelled_appointment_is_no_relationship(send, doctor, patient, department):
    make_appointment(patient=patient, doctor=doctor, department=department, status="cancelled")
    assert _request(send, doctor, patient).status_code == 404


def test_consent_is_for_one_patient_only(send, doctor, patient, other_patient, department, appointment):
    make_appointment(patient=other_patient, doctor=doctor, department=department, days=2)
    client, token = _grant(send, doctor, patient, appointment)
    assert client.get(f"/api/professional/patients/{other_patient.pk}/medical-records/").status_code == 403
    assert client.get(f"/api/medical-records/{other_patient.pk}/", HTTP_X_MEDICAL_RECORD_TOKEN=token).status_code == 404


def test_legacy_doctor_flow_m11_m12_m13(send, doctor, patient, appointment):
    client = client_for(doctor)
    body = {"patient_id": str(patient.pk), "reason": "Medical consultation", "access_duration": "1h"}
    first = send(client, "post", "/api/medical-records/request-access/", body)
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "pending" and first.json()["requires_otp"] is True

    again = send(client, "post", "/api/medical-records/request-access/", body)
    assert again.status_code == 400
    assert "already requested" in again.json()["detail"]

    code = last_code(to=patient.email)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    refused = client.post("/api/medical-records/verify-access/", {"patient_id": str(patient.pk), "otp": wrong},
                          format="json")
    assert refused.status_code == 400
    assert "incorrect" in refused.json()["detail"].lower() or "invalid" in refused.json()["detail"].lower()

    verified = client.post("/api/medical-records/verify-access/", {"patient_id": str(patient.pk), "otp": f" {code} "},
                           format="json")
    assert verified.status_code == 200, verified.content
    token = verified.json()["access_token"]
    assert verified.json()["expires_in"] == 3600

    record = client.get(f"/api/medical-records/{patient.pk}/", HTTP_X_MEDICAL_RECORD_TOKEN=token)
    assert record.status_code == 200
    assert record.json()["patient_id"] == str(patient.pk)
    assert client.get(f"/api/medical-records/{patient.pk}/").status_code == 403


def test_clinician_code_cannot_open_patients_own_gate(send, doctor, patient, appointment):
    assert _request(send, doctor, patient, appointment).status_code == 201
    code = last_code(to=patient.email)
    response = client_for(patient).post(VERIFY_OTP_URL, {"otp": code}, format="json")
    assert response.status_code == 400


def test_clinician_writes_entries_patient_reads_them(send, open_record, doctor, patient, appointment):
    url = f"/api/professional/patients/{patient.pk}/medical-records/"
    created = client_for(doctor).post(url, {
        "kind": "diagnosis", "title": "Type 2 diabetes", "date": "2025-01-10", "status": "chronic",
        "notes": "HbA1c 8.1%, start metformin", "appointment_id": appointment.appointment_id,
    }, format="json")
    assert created.status_code == 201, created.content
    entry = ClinicalEntry.objects.get()
    assert entry.created_by_id == doctor.pk and entry.appointment_ref == appointment.pk
    assert AuditEvent.objects.filter(action="write", object_id=str(entry.pk), actor_id=doctor.pk).exists()

    medication = client_for(doctor).post(url, {
        "kind": "medication", "title": "Metformin", "date": "2025-01-10",
        "details": {"dosage": "500 mg", "frequency": "twice daily"},
    }, format="json")
    assert medication.status_code == 201

    client, token = open_record(patient)
    data = client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]
    assert data["diagnoses"][0]["name"] == "Type 2 diabetes"
    assert data["diagnoses"][0]["doctor"] == doctor.full_name
    assert data["diagnoses"][0]["notes"] == "HbA1c 8.1%, start metformin"
    assert data["medications"][0]["dosage"] == "500 mg"
    assert {r["title"] for r in data["records"]} == {"Type 2 diabetes", "Metformin"}


@pytest.mark.parametrize("details", [
    b'{"reading": 1e400}',  # infinity: no JSON writer takes it
    b'{"reading": "\\ud83d"}',  # a lone surrogate: stored, then every read of the record failed
    b'{"\\udc00": "high"}',
    b'{"reading": "12\\u0000"}',  # PostgreSQL's jsonb refuses a null character
    b'{"reading": 123456789012345678901234567890}',
])
def test_details_a_record_could_not_store_or_show_are_refused_and_the_record_still_reads(
        send, open_record, doctor, patient, appointment, details):
    url = f"/api/professional/patients/{patient.pk}/medical-records/"
    body = b'{"kind": "vital", "title": "Blood pressure", "date": "2025-01-10", "details": ' + details + b"}"
    doctor_client = client_for(doctor)
    doctor_client.raise_request_exception = False

    refused = doctor_client.post(url, body, content_type="application/json")

    assert refused.status_code == 400, refused.content
    assert refused.json()["message"].startswith("details:")
    assert not ClinicalEntry.objects.exists()
    client, token = open_record(patient)
    assert client.get(RECORD_URL, **{MED_HEADER: token}).status_code == 200
    fine = doctor_client.post(url, {"kind": "vital", "title": "Blood pressure", "date": "2025-01-10",
                                    "details": {"systolic": 120, "reading": "120/80 mmHg", "ratio": 1.5}},
                              format="json")
    assert fine.status_code == 201, fine.content
    assert client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]["vitals"][0]["details"]["reading"] == \
        "120/80 mmHg"


def test_an_entry_ending_before_it_starts_is_refused(doctor, patient, appointment):
    url = f"/api/professional/patients/{patient.pk}/medical-records/"
    body = {"kind": "medication", "title": "Metformin", "date": "2025-01-10", "end_date": "2024-12-31"}
    refused = client_for(doctor).post(url, body, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["message"].startswith("end_date:")
    assert not ClinicalEntry.objects.exists()
    assert client_for(doctor).post(url, {**body, "end_date": "2025-01-10"}, format="json").status_code == 201


def test_a_note_or_consent_links_only_an_appointment_the_clinician_may_see(send, doctor, patient, appointment):
    """Another hospital's visit of the same patient is not the doctor's to link: the same 404 as an
    appointment that does not exist."""
    from tests.factories import DepartmentFactory, HospitalFactory

    elsewhere = make_appointment(patient=patient, department=DepartmentFactory(hospital=HospitalFactory()), days=2)
    url = f"/api/professional/patients/{patient.pk}/medical-records/"
    body = {"kind": "diagnosis", "title": "Asthma", "date": "2025-01-10", "appointment_id": elsewhere.appointment_id}
    refused = client_for(doctor).post(url, body, format="json")
    assert refused.status_code == 404, refused.content
    assert not ClinicalEntry.objects.exists()
    refused = _request(send, doctor, patient, elsewhere)
    assert refused.status_code == 404 and not AccessConsent.objects.exists()
    assert client_for(doctor).post(url, {**body, "appointment_id": appointment.appointment_id},
                                   format="json").status_code == 201


def test_patients_and_strangers_cannot_write(doctor, other_doctor, patient, other_patient, appointment):
    url = f"/api/professional/patients/{patient.pk}/medical-records/"
    body = {"kind": "diagnosis", "title": "x", "date": "2025-01-10"}
    assert client_for(patient).post(url, body, format="json").status_code == 404
    assert client_for(other_patient).post(url, body, format="json").status_code == 404
    assert client_for(other_doctor).post(url, body, format="json").status_code == 404
    assert client_for(None).post(url, body, format="json").status_code == 401
    assert not ClinicalEntry.objects.exists()


def test_profile_update_by_clinician(send, open_record, doctor, patient, appointment):
    _grant(send, doctor, patient, appointment)
    response = client_for(doctor).patch(
        f"/api/professional/patients/{patient.pk}/medical-profile/",
        {"blood_type": "O+", "allergies": ["Penicillin", "Peanuts"]}, format="json",
    )
    assert response.status_code == 200, response.content
    client, token = open_record(patient)
    data = client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]
    assert data["blood_type"] == "O+"
    assert data["allergies"] == "Penicillin, Peanuts"


def test_a_last_visit_in_the_future_is_refused_so_encounters_keep_moving_it(send, doctor, patient, appointment):
    from records.models import MedicalProfile

    _grant(send, doctor, patient, appointment)
    profile_url = f"/api/professional/patients/{patient.pk}/medical-profile/"
    refused = client_for(doctor).patch(profile_url, {"last_visit_date": "2999-01-01"}, format="json")
    assert refused.status_code == 400, refused.content
    assert refused.json()["message"].startswith("last_visit_date:")
    assert client_for(doctor).patch(profile_url, {"last_visit_date": "2025-01-01"}, format="json").status_code == 200

    encounter = client_for(doctor).post(f"/api/professional/patients/{patient.pk}/medical-records/", {
        "kind": "encounter", "title": "Review", "date": "2025-02-03"}, format="json")
    assert encounter.status_code == 201, encounter.content
    assert str(MedicalProfile.objects.get(patient=patient).last_visit_date) == "2025-02-03"


@pytest.mark.parametrize("body", [{}, {"allergies": ["Latex"]}, {"blood_type": "A+"}])
def test_a_profile_change_takes_the_patients_consent_as_reading_does(send, doctor, patient, appointment, body):
    """An appointment lets a doctor add entries, not replace the profile's facts or read them back:
    without a live consent the change is refused like the read, and nothing is stored or shown."""
    from records.models import MedicalProfile

    MedicalProfile.objects.create(patient=patient, blood_type="AB-", genotype="SS", allergies=["Penicillin"],
                                  chronic_conditions=["Sickle cell disease"])
    url = f"/api/professional/patients/{patient.pk}/medical-profile/"

    with metrics.capture() as seen:
        refused = client_for(doctor).patch(url, body, format="json")

    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "MED_ACCESS_REQUIRED" and refused.json()["requires_otp"] is True
    assert "Penicillin" not in refused.content.decode() and "Sickle" not in refused.content.decode()
    assert [d.dimensions for d in seen if d.name == "MedicalRecordAccessError"] == [{"Reason": "no_consent"}]
    profile = MedicalProfile.objects.get(patient=patient)
    assert (profile.blood_type, profile.allergies, profile.updated_by_id) == ("AB-", ["Penicillin"], None)
    assert not AuditEvent.objects.filter(patient_id=patient.pk, object_type="medical_profile").exists()

    _grant(send, doctor, patient, appointment)
    assert client_for(doctor).patch(url, body, format="json").status_code == 200


def test_a_revocation_holds_and_is_audited_when_the_session_store_is_down(send, doctor, patient, appointment):
    """The patient's revocation is the consent row: with DynamoDB unreachable, deleting the
    doctor's sessions fails, yet the revocation is answered, audited, and the doctor's token
    refused (the gate checks the consent). It was a 500 with no audit row."""
    from django.conf import settings

    from phb.aws.clients import dynamodb_table
    from tests.aws_faults import unreachable

    doctor_client, token = _grant(send, doctor, patient, appointment)
    consent = AccessConsent.objects.get()
    with unreachable(dynamodb_table(settings.USER_SESSIONS_TABLE).meta.client, "Query"):
        revoked = client_for(patient).post(f"/api/patient/medical-record/consents/{consent.pk}/revoke/")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["consent"]["status"] == "revoked"
    assert AuditEvent.objects.filter(action="access_revoked", object_id=str(consent.pk)).count() == 1
    after = doctor_client.get(RECORD_URL, **{MED_HEADER: token})
    assert after.status_code == 403 and after.json()["code"] == "INVALID_MED_ACCESS"
    assert doctor_client.get(f"/api/professional/patients/{patient.pk}/medical-records/").status_code == 403


def test_a_grant_while_the_session_store_is_down_is_a_503_and_the_granted_consent_is_audited(
        send, doctor, patient, appointment):
    """The patient's code is spent and the consent granted before the session is stored: with
    DynamoDB down that is a 503 saying so (it was a 500), the grant is audited, and the record
    opens from the doctor's page, which takes the consent and no token."""
    assert _request(send, doctor, patient, appointment).status_code == 201
    code = last_code(to=patient.email)
    restore = session_store_refuses("PutItem")
    try:
        response = client_for(doctor).post(VERIFY_OTP_URL, {"otp": code}, format="json")
    finally:
        restore()
    assert response.status_code == 503, response.content
    assert response.json()["message"] == (
        "Medical records are temporarily unavailable. Access was granted: open the patient's record shortly.")
    consent = AccessConsent.objects.get()
    assert consent.status == "granted"
    assert AuditEvent.objects.filter(action="access_granted", object_id=str(consent.pk)).count() == 1
    assert client_for(doctor).get(f"/api/professional/patients/{patient.pk}/medical-records/").status_code == 200


@override_settings(CODE_FAILURES_PER_ACCOUNT="3/3600")
def test_a_clinicians_wrong_codes_do_not_lock_the_patient_out_of_her_own_record(send, doctor, patient, appointment):
    """Consent codes have their own wrong-code budget on the patient's account: a clinician who
    spends it stops consent codes being checked, not the patient's own."""
    assert _request(send, doctor, patient, appointment).status_code == 201
    wrong = f"{(int(last_code(to=patient.email)) + 1) % 10**6:06d}"
    statuses = [client_for(doctor).post(VERIFY_OTP_URL, {"otp": wrong, "patient_id": str(patient.pk)},
                                        format="json").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]  # the consent family's budget is spent
    assert send(client_for(patient), "post", REQUEST_OTP_URL, {}).status_code == 200
    opened = client_for(patient).post(VERIFY_OTP_URL, {"otp": last_code(to=patient.email)}, format="json")
    assert opened.status_code == 200, opened.json()
