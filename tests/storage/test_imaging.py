"""Imaging uploads straight to S3 (presigned POST), checked at completion with pydicom."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, date, datetime

import httpx
import pytest
from django.conf import settings
from django.utils import timezone as dj_timezone
from rest_framework.exceptions import NotFound

from records.models import AuditEvent
from storage.dicom import NotDicom, read_header
from storage.models import ImagingStudy, StudyStatus
from tests.helpers import assert_private, client_for
from tests.storage.conftest import assert_sigv4_300, grant_access
from tests.storage.files import make_dicom, make_pdf, sha256_b64, sha256_hex

pytestmark = pytest.mark.django_db

STUDIES = "/api/imaging/studies/"


def start(clinician, patient, content: bytes, **extra):
    return client_for(clinician).post(STUDIES, {
        "patient_id": str(patient.pk), "size": len(content), "sha256": sha256_hex(content),
        "description": "Chest CT", **extra,
    }, format="json")


def post_to_s3(upload: dict, content: bytes, *, content_type: str = "application/dicom") -> httpx.Response:
    return httpx.post(upload["url"], data=upload["fields"], files={"file": ("study.dcm", content, content_type)})


def test_upload_complete_and_read_a_dicom_study(doctor, patient, other_patient, other_doctor, s3):
    grant_access(clinician=doctor, patient=patient)
    content, dataset = make_dicom(modality="CT", study_date="20250102")
    response = start(doctor, patient, content)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["patient_id"] == str(patient.pk)
    upload = body["upload"]
    fields = upload["fields"]

    # The POST form: SigV4, five minutes, exact size, pinned type, encryption, class and checksum.
    assert upload["method"] == "POST" and upload["expires_in"] == 300
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert fields["Content-Type"] == "application/dicom"
    assert fields["x-amz-server-side-encryption"] == "aws:kms"
    assert fields["x-amz-server-side-encryption-aws-kms-key-id"] == settings.MEDICAL_IMAGING_KMS_ALIAS
    assert fields["x-amz-storage-class"] == "INTELLIGENT_TIERING"
    assert fields["x-amz-checksum-sha256"] == sha256_b64(content)
    policy = json.loads(base64.b64decode(fields["policy"]))
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 295 <= (expires - datetime.now(UTC)).total_seconds() <= 300
    assert ["content-length-range", len(content), len(content)] in policy["conditions"]
    assert {"Content-Type": "application/dicom"} in policy["conditions"]
    study = ImagingStudy.objects.get(pk=body["id"])
    assert study.key.startswith(f"medical-imaging/{patient.pk}/") and study.key.endswith(".dcm")

    complete_url = f"{STUDIES}{study.pk}/complete/"
    early = client_for(doctor).post(complete_url)
    assert early.status_code == 409 and early.json()["code"] == "upload_missing"
    assert post_to_s3(upload, content).status_code in (200, 201, 204)
    assert_private(complete_url, method="post", stranger=other_doctor)

    done = client_for(doctor).post(complete_url)
    assert done.status_code == 200, done.json()
    listed = done.json()
    assert listed["status"] == "available" and listed["modality"] == "CT"
    assert listed["study_date"] == date(2025, 1, 2).isoformat()
    assert listed["study_instance_uid"] == dataset.StudyInstanceUID
    assert listed["series_instance_uid"] == dataset.SeriesInstanceUID
    assert listed["sop_instance_uid"] == dataset.SOPInstanceUID
    assert listed["body_part"] == "CHEST" and listed["size"] == len(content)
    assert client_for(doctor).post(complete_url).json()["status"] == "available"  # idempotent
    head = s3.head_object(Bucket=settings.MEDICAL_IMAGING_BUCKET, Key=study.key)
    assert head["ServerSideEncryption"] == "aws:kms"

    # The patient and clinicians with access read it through a 5-minute SigV4 URL.
    assert [s["id"] for s in client_for(patient).get(STUDIES).json()] == [str(study.pk)]
    assert [s["id"] for s in client_for(doctor).get(STUDIES, {"patient_id": str(patient.pk)}).json()] == [str(study.pk)]
    for reader in (patient, doctor):
        link = client_for(reader).get(f"{STUDIES}{study.pk}/download/")
        assert link.status_code == 200, link.json()
        query = assert_sigv4_300(link.json()["url"])
        assert query["versionId"] == [ImagingStudy.objects.get(pk=study.pk).version_id]
        fetched = httpx.get(link.json()["url"])
        assert fetched.status_code == 200 and fetched.content == content

    for url in (f"{STUDIES}{study.pk}/", f"{STUDIES}{study.pk}/download/"):
        assert_private(url, owner=patient, owner_status=200, stranger=other_patient)
        assert_private(url, stranger=other_doctor)
    assert client_for(other_doctor).get(STUDIES, {"patient_id": str(patient.pk)}).status_code == 404
    assert client_for(other_patient).get(STUDIES).json() == []
    actions = set(AuditEvent.objects.filter(object_type="imaging_study").values_list("action", flat=True))
    assert {"upload_started", "write", "read"} <= actions
    listed_by_doctor = AuditEvent.objects.filter(object_type="imaging_studies", action="list", actor_id=doctor.pk)
    assert listed_by_doctor.filter(patient_id=patient.pk).exists()


def test_clinician_without_consent_cannot_upload_or_read(doctor, patient):
    content, _ = make_dicom()
    assert start(doctor, patient, content).status_code == 404
    assert start(patient, patient, content).status_code == 403  # patients do not upload studies
    consent = grant_access(clinician=doctor, patient=patient)
    assert start(doctor, patient, content).status_code == 201
    consent.revoked_at = dj_timezone.now()
    consent.save(update_fields=["revoked_at"])
    assert start(doctor, patient, content).status_code == 404
    assert client_for(doctor).get(STUDIES, {"patient_id": str(patient.pk)}).status_code == 404
    assert client_for(doctor).get(STUDIES).json() == []


@pytest.mark.parametrize("patient_id", ["xyz", "\x00", "1", "5b7c0d9e-2f0e-4c41-9d43-0f6a3d2b8f1", "'; --"])
def test_a_patient_id_that_is_not_an_id_is_a_400_naming_it(doctor, patient, patient_id):
    grant_access(clinician=doctor, patient=patient)
    response = client_for(doctor).get(STUDIES, {"patient_id": patient_id})
    assert response.status_code == 400, (patient_id, response.status_code, response.content[:200])
    body = response.json()
    assert body["message"] == "patient_id: Must be a valid UUID." and body["code"] == "invalid"
    assert body["errors"] == {"patient_id": ["Must be a valid UUID."]}
    # the same as an upload for such a patient
    assert start(doctor, patient, make_dicom()[0], patient_id=patient_id).status_code == 400


def test_a_patient_id_of_no_patient_is_a_404(doctor, patient):
    from storage import selectors

    response = client_for(doctor).get(STUDIES, {"patient_id": "5b7c0d9e-2f0e-4c41-9d43-0f6a3d2b8f11"})
    assert response.status_code == 404 and response.json()["message"] == "Patient not found."
    for patient_id in ("xyz", 7, None):
        with pytest.raises(NotFound):
            selectors.imaging_patient_for(clinician=doctor, patient_id=patient_id)


def test_size_and_checksum_are_validated(doctor, patient, settings):
    grant_access(clinician=doctor, patient=patient)
    content, _ = make_dicom()
    bad_hash = start(doctor, patient, content, sha256="not-a-hash")
    assert bad_hash.status_code == 400
    settings.MEDICAL_IMAGING_MAX_BYTES = len(content) - 1
    too_big = start(doctor, patient, content)
    assert too_big.status_code == 413 and too_big.json()["code"] == "file_too_large"


def test_non_dicom_upload_is_refused_and_deleted(doctor, patient, s3):
    grant_access(clinician=doctor, patient=patient)
    content = make_pdf("not a scan")
    body = start(doctor, patient, content).json()
    assert post_to_s3(body["upload"], content).status_code in (200, 201, 204)
    study = ImagingStudy.objects.get(pk=body["id"])
    assert s3.list_object_versions(Bucket=settings.MEDICAL_IMAGING_BUCKET, Prefix=study.key).get("Versions")

    refused = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert refused.status_code == 422 and refused.json()["code"] == "not_dicom"
    study.refresh_from_db()
    assert study.status == StudyStatus.REJECTED
    found = s3.list_object_versions(Bucket=settings.MEDICAL_IMAGING_BUCKET, Prefix=study.key)
    assert not found.get("Versions") and not found.get("DeleteMarkers")
    again = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert again.status_code == 409 and again.json()["code"] == "upload_rejected"
    assert client_for(patient).get(STUDIES).json() == []
    assert client_for(patient).get(f"{STUDIES}{study.pk}/").status_code == 404


def test_wrong_size_is_refused_and_deleted(doctor, patient, s3):
    """moto does not enforce POST policy conditions, so the completion step is what catches it."""
    grant_access(clinician=doctor, patient=patient)
    content, _ = make_dicom()
    body = start(doctor, patient, content).json()
    assert post_to_s3(body["upload"], content + b"extra").status_code in (200, 201, 204)
    refused = client_for(doctor).post(f"{STUDIES}{body['id']}/complete/")
    assert refused.status_code == 422 and refused.json()["code"] == "size_mismatch"
    key = ImagingStudy.objects.get(pk=body["id"]).key
    assert not s3.list_object_versions(Bucket=settings.MEDICAL_IMAGING_BUCKET, Prefix=key).get("Versions")


def test_dicom_header_beyond_the_first_mebibyte(doctor, patient):
    """A header longer than the ranged probe (here a 1 MiB private element before the study UID)
    is read from the whole object instead."""
    grant_access(clinician=doctor, patient=patient)
    _, dataset = make_dicom(modality="MR")
    dataset.private_block(0x0009, "PHB TEST", create=True).add_new(0x01, "OB", b"\x00" * (1024 * 1024 + 10))
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    big = buffer.getvalue()
    with pytest.raises(NotDicom):  # the first MiB alone lacks the study UID
        read_header(io.BytesIO(big[: 1024 * 1024]))
    body = start(doctor, patient, big).json()
    assert post_to_s3(body["upload"], big).status_code in (200, 201, 204)
    done = client_for(doctor).post(f"{STUDIES}{body['id']}/complete/")
    assert done.status_code == 200, done.json()
    assert done.json()["modality"] == "MR" and done.json()["study_instance_uid"] == dataset.StudyInstanceUID
