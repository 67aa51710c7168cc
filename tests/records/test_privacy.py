"""Every endpoint of the area: anonymous callers get 401, another patient gets 404 or nothing."""

from __future__ import annotations

import uuid

import pytest

from records.models import AccessConsent
from tests.factories import DepartmentFactory, make_doctor
from tests.helpers import assert_private, client_for
from tests.records.conftest import MED_HEADER, RECORD_URL, REQUEST_OTP_URL, VERIFY_OTP_URL, last_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def consent(send, doctor, patient, appointment):
    response = send(client_for(doctor), "post", f"/api/professional/patient/{patient.pk}/request-access/", {})
    assert response.status_code == 201
    last_code(to=patient.email)
    return AccessConsent.objects.get(clinician=doctor, patient=patient)


def test_professional_endpoints_are_private(doctor, patient, other_patient, appointment, consent):
    base = f"/api/professional/patient/{patient.pk}"
    for url, method, data, owner_status in [
        (f"{base}/medical-access/{appointment.appointment_id}/", "get", None, 200),
        (f"{base}/access-logs/", "get", None, 200),
        (f"{base}/consents/", "get", None, 200),
        (f"{base}/request-access/", "post", {}, 400),  # already requested
        (f"/api/professional/patients/{patient.pk}/medical-records/", "get", None, 403),  # pending, not granted
        (f"/api/professional/patients/{patient.pk}/medical-profile/", "patch", {"blood_type": "A+"}, 403),  # pending
    ]:
        assert_private(url, owner=doctor, stranger=other_patient, method=method, data=data, owner_status=owner_status)
        # The patient themself is not a clinician: nothing here either.
        assert_private(url, stranger=patient, method=method, data=data)


def test_legacy_endpoints_are_private(doctor, patient, other_patient, consent):
    assert_private("/api/medical-records/request-access/", method="post", stranger=other_patient,
                   data={"patient_id": str(patient.pk)})
    assert_private("/api/medical-records/verify-access/", method="post", stranger=other_patient,
                   data={"patient_id": str(patient.pk), "otp": "123456"})
    # M13 needs the gate: anonymous 401, a patient without a session 403, with their own session 404.
    assert client_for(None).get(f"/api/medical-records/{patient.pk}/").status_code == 401
    assert client_for(other_patient).get(f"/api/medical-records/{patient.pk}/").status_code == 403


def test_patient_consent_revoke_is_private(patient, other_patient, consent):
    assert_private(f"/api/patient/medical-record/consents/{consent.pk}/revoke/", method="post",
                   owner=patient, stranger=other_patient, owner_status=200)
    assert client_for(other_patient).get("/api/patient/medical-record/consents/").json()["consents"] == []


def test_own_record_endpoints_return_only_own_data(open_record, patient, other_patient, consent):
    client, token = open_record(patient)
    client.get(RECORD_URL, **{MED_HEADER: token})
    for url in ("/api/patient/medical-record/access-log/", "/api/patient/medical-record/summary/",
                "/api/patient/medical-record/consents/", RECORD_URL, "/api/patient/medical-record/export/"):
        assert client_for(None).get(url).status_code == 401, url
    other = client_for(other_patient)
    assert other.get("/api/patient/medical-record/access-log/").json()["access_logs"] == []
    assert other.get("/api/patient/medical-record/summary/").json()["data"]["interactions"] == []
    assert other.get(RECORD_URL, **{MED_HEADER: token}).json()["code"] == "INVALID_MED_ACCESS"
    assert other.get("/api/patient/medical-record/export/", **{MED_HEADER: token}).status_code == 403
    for url in ("/api/patient/medical-record/request-otp/", "/api/patient/medical-record/verify-otp/",
                "/api/patient/medical-record/end-access/"):
        assert client_for(None).post(url, {}, format="json").status_code == 401, url


@pytest.mark.parametrize("url, body", [
    ("/api/medical-records/verify-access/", {"otp": "123456"}),
    (VERIFY_OTP_URL, {"otp": "123456"}),
    (REQUEST_OTP_URL, {}),
])
def test_a_doctor_without_a_relationship_cannot_tell_a_patient_from_an_unknown_id(url, body, doctor, patient,
                                                                                   appointment):
    """A doctor of another hospital naming a real patient gets the answer an unknown id gets."""
    stranger = client_for(make_doctor(department=DepartmentFactory()))
    real = stranger.post(url, {**body, "patient_id": str(patient.pk)}, format="json")
    by_hpn = stranger.post(url, {**body, "patient_id": patient.hpn}, format="json")
    unknown = stranger.post(url, {**body, "patient_id": str(uuid.uuid4())}, format="json")
    assert unknown.status_code == 404
    for answer in (real, by_hpn):
        assert (answer.status_code, answer.json()) == (unknown.status_code, unknown.json())
    # The patient's own doctor, with no pending request, is still told what to do next.
    told = client_for(doctor).post(url, {**body, "patient_id": str(patient.pk)}, format="json")
    assert told.status_code == 400
    assert told.json()["code"] in {"code_missing", "no_pending_request"}
