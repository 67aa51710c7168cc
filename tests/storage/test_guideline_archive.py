"""A guideline file stays downloadable once the bucket's lifecycle has archived it, and a file S3
cannot serve is a JSON answer, never a 500."""

from __future__ import annotations

import pytest
from django.conf import settings

from storage.models import ClinicalGuideline
from tests.aws_faults import unreachable
from tests.helpers import client_for
from tests.storage.files import make_pdf
from tests.storage.test_guidelines import BASE, publish, upload

pytestmark = pytest.mark.django_db


def _published(doctor, hospital_admin) -> tuple[ClinicalGuideline, bytes]:
    content = make_pdf("Sepsis six")
    gid = upload(client_for(doctor), content).json()["guideline_id"]
    publish(hospital_admin, gid)
    return ClinicalGuideline.objects.get(guideline_id=gid), content


def _stored_as(s3, guideline: ClinicalGuideline, content: bytes, storage_class: str) -> None:
    """The guideline's file as it is once S3 has moved it to ``storage_class``."""
    put = s3.put_object(Bucket=settings.CLINICAL_GUIDELINES_BUCKET, Key=guideline.file_key, Body=content,
                        ContentType="application/pdf", StorageClass=storage_class)
    ClinicalGuideline.objects.filter(pk=guideline.pk).update(file_version_id=put["VersionId"])


def test_a_file_the_lifecycle_has_archived_still_downloads(doctor, hospital_admin, patient, s3):
    rules = s3.get_bucket_lifecycle_configuration(Bucket=settings.CLINICAL_GUIDELINES_BUCKET)["Rules"]
    (archive,) = [rule for rule in rules if rule.get("Transitions")]
    (transition,) = archive["Transitions"]
    guideline, content = _published(doctor, hospital_admin)
    _stored_as(s3, guideline, content, transition["StorageClass"])

    download = client_for(patient).get(f"{BASE}{guideline.guideline_id}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content


def test_a_file_in_flexible_retrieval_glacier_is_a_409_that_says_so(doctor, hospital_admin, patient, s3):
    guideline, content = _published(doctor, hospital_admin)
    _stored_as(s3, guideline, content, "GLACIER")

    response = client_for(patient).get(f"{BASE}{guideline.guideline_id}/download/")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "file_archived" and "archived" in response.json()["message"]


def test_a_download_while_s3_does_not_answer_is_a_503(doctor, hospital_admin, patient, s3):
    guideline, _ = _published(doctor, hospital_admin)
    with unreachable(s3, "GetObject"):
        response = client_for(patient).get(f"{BASE}{guideline.guideline_id}/download/")
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable" and response.json()["message"]
