"""S3 not answering while an imaging upload is checked: the doctor is told to try again (a 503,
not a 500) and the study stays pending, so the retry checks the same upload; a refused upload is
never left rejected with its object still in the bucket."""

from __future__ import annotations

import pytest
from django.conf import settings

from records.models import AuditEvent
from storage.models import ImagingStudy, StudyStatus
from tests.aws_faults import unreachable
from tests.helpers import client_for
from tests.storage.conftest import grant_access
from tests.storage.files import make_dicom
from tests.storage.test_imaging import STUDIES, post_to_s3, start

pytestmark = pytest.mark.django_db


def s3_refuses(s3, operation: str):
    return unreachable(s3, operation)


def _uploaded(doctor, patient, content: bytes) -> ImagingStudy:
    grant_access(clinician=doctor, patient=patient)
    started = start(doctor, patient, content)
    assert started.status_code == 201, started.json()
    assert post_to_s3(started.json()["upload"], content).status_code in (200, 201, 204)
    return ImagingStudy.objects.get(pk=started.json()["id"])


def test_a_completion_s3_does_not_answer_is_a_503_and_the_retry_lists_the_study(doctor, patient, s3):
    content, _ = make_dicom()
    study = _uploaded(doctor, patient, content)
    with s3_refuses(s3, "HeadObject"):
        refused = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert refused.status_code == 503, refused.content
    assert refused.json()["message"] == "The upload cannot be checked just now. Try again shortly."
    study.refresh_from_db()
    assert study.status == StudyStatus.PENDING

    listed = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert listed.status_code == 200, listed.content
    assert listed.json()["status"] == "available"


def test_a_refused_upload_whose_object_s3_does_not_delete_stays_pending_for_a_retry(doctor, patient, s3):
    content, _ = make_dicom()
    bad = content[:200]  # not a DICOM file any more (and not the declared size)
    grant_access(clinician=doctor, patient=patient)
    started = start(doctor, patient, bad)
    assert post_to_s3(started.json()["upload"], bad).status_code in (200, 201, 204)
    study = ImagingStudy.objects.get(pk=started.json()["id"])

    with s3_refuses(s3, "DeleteObject"):
        refused = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert refused.status_code == 503, refused.content
    study.refresh_from_db()
    assert study.status == StudyStatus.PENDING, "not rejected while its object is still there"
    assert not AuditEvent.objects.filter(action="upload_rejected").exists()

    again = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert again.status_code == 422 and again.json()["code"] == "not_dicom"
    study.refresh_from_db()
    assert study.status == StudyStatus.REJECTED
    found = s3.list_object_versions(Bucket=settings.MEDICAL_IMAGING_BUCKET, Prefix=study.key)
    assert not found.get("Versions") and not found.get("DeleteMarkers")


def test_an_upload_removed_while_a_second_completion_reads_it_is_a_409(doctor, patient, s3):
    """The doctor presses "complete" twice on a file of the declared size and type that is not
    DICOM. The first request refuses it and deletes its versions while the second is between its
    ``head_object`` and its read of the header: the second answers 409 (refused), not a 500."""
    bad = b"not a dicom file" * 64
    grant_access(clinician=doctor, patient=patient)
    started = start(doctor, patient, bad)
    assert post_to_s3(started.json()["upload"], bad).status_code in (200, 201, 204)
    study = ImagingStudy.objects.get(pk=started.json()["id"])
    url = f"{STUDIES}{study.pk}/complete/"
    first: list = []

    def first_completes_meanwhile(**_):
        if not first:
            first.append(None)
            first[0] = client_for(doctor).post(url)

    s3.meta.events.register("before-call.s3.GetObject", first_completes_meanwhile)
    try:
        second = client_for(doctor).post(url)
    finally:
        s3.meta.events.unregister("before-call.s3.GetObject", first_completes_meanwhile)
    assert first[0].status_code == 422 and first[0].json()["code"] == "not_dicom"
    assert second.status_code == 409, second.content
    assert second.json()["code"] == "upload_rejected"
    study.refresh_from_db()
    assert study.status == StudyStatus.REJECTED
    assert AuditEvent.objects.filter(action="upload_rejected", object_id=str(study.pk)).count() == 1
