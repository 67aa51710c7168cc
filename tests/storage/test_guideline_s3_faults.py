"""Guideline writes while S3 does not answer: a 503 to retry with nothing changed, never a 500."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from storage.models import ClinicalGuideline, GuidelineFileVersion
from tests.aws_faults import unreachable
from tests.helpers import client_for
from tests.storage.files import make_pdf
from tests.storage.test_guidelines import BASE, publish, upload

pytestmark = pytest.mark.django_db


def _unavailable(response) -> None:
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable" and response.json()["message"]


def test_an_upload_s3_does_not_take_is_a_503_and_stores_nothing(doctor, s3):
    with unreachable(s3, "PutObject"):
        _unavailable(upload(client_for(doctor), make_pdf()))
    assert not ClinicalGuideline.objects.exists() and not GuidelineFileVersion.objects.exists()
    assert upload(client_for(doctor), make_pdf()).status_code == 201  # the retry


def test_a_new_file_s3_does_not_take_is_a_503_and_the_old_file_stays(doctor, s3):
    gid = upload(client_for(doctor), make_pdf("First")).json()["guideline_id"]
    before = ClinicalGuideline.objects.get(guideline_id=gid)
    replacement = SimpleUploadedFile("second.pdf", make_pdf("Second"), content_type="application/pdf")
    with unreachable(s3, "PutObject"):
        _unavailable(client_for(doctor).post(f"{BASE}{gid}/update-file/", {"file": replacement}, format="multipart"))
    after = ClinicalGuideline.objects.get(guideline_id=gid)
    assert after.file_version_id == before.file_version_id and after.file_name == before.file_name
    assert GuidelineFileVersion.objects.filter(guideline=after).count() == 1


def test_a_delete_s3_does_not_take_is_a_503_and_the_guideline_stays_published(doctor, hospital_admin, patient, s3):
    content = make_pdf()
    gid = upload(client_for(doctor), content).json()["guideline_id"]
    publish(hospital_admin, gid)
    with unreachable(s3, "DeleteObject"):
        _unavailable(client_for(doctor).delete(f"{BASE}{gid}/"))
    row = ClinicalGuideline.objects.get(guideline_id=gid)
    assert row.is_active and row.is_published
    download = client_for(patient).get(f"{BASE}{gid}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == content

    assert client_for(doctor).delete(f"{BASE}{gid}/").status_code == 204  # the retry
    assert client_for(patient).get(f"{BASE}{gid}/").status_code == 404
