"""The patient's gate (M1–M3): codes, tokens, refusal codes, export."""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.test import override_settings

from accounts.codes import code_issue
from accounts.models import CodePurpose
from records.models import AuditEvent
from tests.helpers import client_for
from tests.records.conftest import (
    MED_HEADER,
    RECORD_URL,
    REQUEST_OTP_URL,
    VERIFY_OTP_URL,
    last_code,
    session_store_refuses,
)

pytestmark = pytest.mark.django_db


def _code_for(send, client, user) -> str:
    assert send(client, "post", REQUEST_OTP_URL).status_code == 200
    return last_code(to=user.email)


def test_happy_path_returns_token_and_profile_form(send, patient):
    client = client_for(patient)
    response = send(client, "post", REQUEST_OTP_URL)
    assert response.status_code == 200
    assert "message" in response.json()
    assert mail.outbox[-1].to == [patient.email]
    code = last_code(to=patient.email)

    verified = client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
    assert verified.status_code == 200, verified.content
    body = verified.json()
    token = body["med_access_token"]
    assert len(token) == 32 and token.isalnum()
    assert body["expires_in"] == 900

    record = client.get(RECORD_URL, **{MED_HEADER: token})
    assert record.status_code == 200, record.content
    data = record.json()["data"]
    assert data["hpn"] == patient.hpn
    assert "id" not in data, "the profile form must not carry an id (the frontend would wrap it in a list)"
    assert isinstance(data["diagnoses"], list) and isinstance(data["treatments"], list)
    assert AuditEvent.objects.filter(patient_id=patient.pk, action="read", object_type="medical_record").count() == 1


def test_list_view_returns_records_array(open_record, patient):
    client, token = open_record(patient)
    response = client.get(RECORD_URL, {"view": "list"}, **{MED_HEADER: token})
    assert response.status_code == 200
    assert response.json()["records"] == []


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "MED_ACCESS_REQUIRED"),
        ("", "MED_ACCESS_REQUIRED"),
        ("mock-med-access-token-123", "INVALID_MED_ACCESS"),
        ("A" * 32, "INVALID_MED_ACCESS"),
    ],
)
def test_refusal_codes(patient, header, code):
    client = client_for(patient)
    extra = {} if header is None else {MED_HEADER: header}
    response = client.get(RECORD_URL, **extra)
    assert response.status_code == 403
    assert response.json()["code"] == code
    assert not AuditEvent.objects.filter(patient_id=patient.pk, action="read").exists()


def test_anonymous_is_401(open_record, patient):
    _, token = open_record(patient)
    assert client_for(None).get(RECORD_URL, **{MED_HEADER: token}).status_code == 401
    assert client_for(None).post(REQUEST_OTP_URL).status_code == 401
    assert client_for(None).post(VERIFY_OTP_URL, {"otp": "123456"}, format="json").status_code == 401


def test_token_of_one_user_is_useless_to_another(open_record, patient, other_patient):
    _, token = open_record(patient)
    response = client_for(other_patient).get(RECORD_URL, **{MED_HEADER: token})
    assert response.status_code == 403
    assert response.json()["code"] == "INVALID_MED_ACCESS"


def test_expired_token_is_refused(send, patient):
    client = client_for(patient)
    with override_settings(MED_ACCESS_TOKEN_TTL_SECONDS=1):
        code = _code_for(send, client, patient)
        verified = client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
    assert verified.json()["expires_in"] <= 1
    token = verified.json()["med_access_token"]
    time.sleep(2.1)
    response = client.get(RECORD_URL, **{MED_HEADER: token})
    assert response.status_code == 403
    assert response.json()["code"] == "MED_ACCESS_EXPIRED"


def test_lockout_after_five_wrong_codes(send, patient):
    client = client_for(patient)
    code = _code_for(send, client, patient)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        response = client.post(VERIFY_OTP_URL, {"otp": wrong}, format="json")
        assert response.status_code == 400
        assert "error" in response.json()
    locked = client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
    assert locked.status_code == 400
    assert locked.json()["code"] == "code_locked"


def test_full_width_digits_refused(send, patient):
    client = client_for(patient)
    code = _code_for(send, client, patient)
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    response = client.post(VERIFY_OTP_URL, {"otp": full_width}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "code_malformed"
    assert client.post(VERIFY_OTP_URL, {"otp": code}, format="json").status_code == 200


def test_code_used_twice_refused(send, patient):
    client = client_for(patient)
    code = _code_for(send, client, patient)
    assert client.post(VERIFY_OTP_URL, {"otp": code}, format="json").status_code == 200
    again = client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
    assert again.status_code == 400
    assert "med_access_token" not in again.json()


def test_login_code_cannot_open_records(patient):
    login_code = code_issue(user=patient, purpose=CodePurpose.LOGIN)
    response = client_for(patient).post(VERIFY_OTP_URL, {"otp": login_code}, format="json")
    assert response.status_code == 400
    assert "med_access_token" not in response.json()


def test_request_otp_is_rate_limited(send, patient):
    client = client_for(patient)
    with override_settings(OTP_REQUEST_RATE_PER_ACCOUNT="2/60"):
        assert send(client, "post", REQUEST_OTP_URL).status_code == 200
        assert send(client, "post", REQUEST_OTP_URL).status_code == 200
        limited = send(client, "post", REQUEST_OTP_URL)
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


def test_end_access_revokes_every_session(open_record, patient):
    client, token = open_record(patient)
    _, second = open_record(patient)
    assert client.post("/api/patient/medical-record/end-access/").json()["ended_sessions"] == 2
    for old in (token, second):
        response = client.get(RECORD_URL, **{MED_HEADER: old})
        assert response.status_code == 403
        assert response.json()["code"] == "INVALID_MED_ACCESS"


@override_settings(MED_ACCESS_MAX_SESSIONS=2)
def test_only_the_newest_sessions_per_record_stay_live(open_record, patient, other_patient):
    client, first = open_record(patient)
    _, second = open_record(patient)
    _, third = open_record(patient)
    _, others = open_record(other_patient)
    assert client.get(RECORD_URL, **{MED_HEADER: first}).json()["code"] == "INVALID_MED_ACCESS"
    for live in (second, third):
        assert client.get(RECORD_URL, **{MED_HEADER: live}).status_code == 200
    assert client_for(other_patient).get(RECORD_URL, **{MED_HEADER: others}).status_code == 200
    assert client.post("/api/patient/medical-record/end-access/").json()["ended_sessions"] == 2


def test_export_is_a_pdf_behind_the_gate(open_record, patient):
    client, token = open_record(patient)
    assert client.get("/api/patient/medical-record/export/").status_code == 403
    response = client.get("/api/patient/medical-record/export/", **{MED_HEADER: token})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert AuditEvent.objects.filter(patient_id=patient.pk, action="export").count() == 1


def test_access_log_lists_reads(open_record, patient):
    client, token = open_record(patient)
    client.get(RECORD_URL, **{MED_HEADER: token})
    logs = client.get("/api/patient/medical-record/access-log/").json()["access_logs"]
    reads = [e for e in logs if e["action"] == "read" and e["object_type"] == "medical_record"]
    assert len(reads) == 1
    assert reads[0]["actor_id"] == str(patient.pk)
    assert reads[0]["request_id"]
    assert reads[0]["ip_address"] == "127.0.0.1"  # her own address


def test_the_access_log_shows_the_patient_no_one_elses_address(send, open_record, patient, doctor, department):
    from tests.records.conftest import make_appointment

    appointment = make_appointment(patient=patient, doctor=doctor, department=department)
    body = {"access_reason": "Consultation", "access_type": "medical_records",
            "appointment_id": appointment.appointment_id}
    assert send(client_for(doctor), "post", f"/api/professional/patient/{patient.pk}/request-access/",
                body, REMOTE_ADDR="10.20.30.40").status_code == 201
    doctors = client_for(doctor).get(f"/api/professional/patient/{patient.pk}/access-logs/").json()["access_logs"]
    assert doctors and all(e["ip_address"] == "10.20.30.40" for e in doctors)  # the doctor's own
    client, _token = open_record(patient)
    logs = client.get("/api/patient/medical-record/access-log/").json()["access_logs"]
    theirs = [e for e in logs if e["actor_id"] == str(doctor.pk)]
    assert theirs and all(e["ip_address"] is None for e in theirs)
    assert "10.20.30.40" not in str(logs)


def test_metrics_emitted(send, patient):
    from phb import metrics

    client = client_for(patient)
    code = _code_for(send, client, patient)
    with metrics.capture() as seen:
        client.post(VERIFY_OTP_URL, {"otp": f"{(int(code) + 1) % 1_000_000:06d}"}, format="json")
        token = client.post(VERIFY_OTP_URL, {"otp": code}, format="json").json()["med_access_token"]
        client.get(RECORD_URL, **{MED_HEADER: token})
        client.get(RECORD_URL)
        client.get(RECORD_URL, **{MED_HEADER: token[::-1]})
    by_name = {(d.name, d.namespace): d.dimensions for d in seen}
    reasons = [d.dimensions["Reason"] for d in seen if d.name == "MedicalRecordAccessError"]
    assert reasons == ["verification_required", "invalid_token"]
    assert by_name[("OTPVerificationFailure", "PHB/MedicalRecords")] == {"purpose": "medical_records"}
    assert ("MedicalRecordAccess", "PHB/MedicalRecords") in by_name
    assert ("MedicalRecordAccessError", "PHB/MedicalRecords") in by_name


def test_no_phi_or_tokens_in_logs(send, doctor, patient, appointment, captured_lines):
    client = client_for(doctor)
    client.post(f"/api/professional/patients/{patient.pk}/medical-records/",
                {"kind": "diagnosis", "title": "Asthma", "date": "2025-01-01", "notes": "wheeze at night"},
                format="json")
    patient_client = client_for(patient)
    code = _code_for(send, patient_client, patient)
    token = patient_client.post(VERIFY_OTP_URL, {"otp": code}, format="json").json()["med_access_token"]
    patient_client.get(RECORD_URL, **{MED_HEADER: token})
    output = captured_lines.getvalue()
    assert '"phi_access"' in output
    for secret in (patient.email, patient.full_name, token, code, "wheeze at night", doctor.email):
        assert secret not in output


def test_a_code_entered_while_the_session_store_is_down_is_a_503_that_says_what_to_do(send, patient):
    client = client_for(patient)
    code = _code_for(send, client, patient)
    restore = session_store_refuses("PutItem")
    try:
        response = client.post(VERIFY_OTP_URL, {"otp": code}, format="json")
    finally:
        restore()
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "Medical records are temporarily unavailable. Request a new code shortly."
    assert not AuditEvent.objects.filter(action="access_granted").exists()


def test_ending_access_while_the_session_store_is_down_is_a_503_and_the_session_stays_usable(open_record, patient):
    client, token = open_record(patient)
    restore = session_store_refuses("Query")
    try:
        response = client.post("/api/patient/medical-record/end-access/")
    finally:
        restore()
    assert response.status_code == 503, response.content
    assert response.json()["message"] == "Medical records are temporarily unavailable. Try again shortly."
    assert not AuditEvent.objects.filter(action="access_ended").exists()
    assert client.get(RECORD_URL, **{MED_HEADER: token}).status_code == 200
