"""A DICOM Part 10 upload whose header cannot be read (a bad VR, a bad length, a cut-off file) is
refused like any other file that is not DICOM: 422 ``not_dicom``, the study rejected and every
version of its object deleted. pydicom converts values lazily, so some of these fail only when an
attribute is read, after ``dcmread`` returned."""

from __future__ import annotations

import io

import pytest
from django.conf import settings

from records.models import AuditEvent
from storage.dicom import NotDicom, read_header
from storage.models import ImagingStudy, StudyStatus
from tests.helpers import client_for
from tests.storage.conftest import grant_access
from tests.storage.files import make_dicom
from tests.storage.test_imaging import STUDIES, post_to_s3, start

pytestmark = pytest.mark.django_db


def _with_vr(content: bytes, element: bytes, vr: bytes) -> bytes:
    """``content`` with the explicit VR of the dataset element whose tag and VR start with ``element`` replaced."""
    at = content.index(element, 132)
    return content[:at + 4] + vr + content[at + 6:]


def _unknown_vr(content: bytes) -> bytes:
    return _with_vr(content, b"\x08\x00\x18\x00UI", b"U}")  # (0008,0018) SOPInstanceUID


def _wrong_width_vr(content: bytes) -> bytes:
    return _with_vr(content, b"\x08\x00\x60\x00CS", b"FD")  # (0008,0060) Modality as 8-byte floats


def _cut_in_file_meta(content: bytes) -> bytes:
    at = content.index(b"\x02\x00\x01\x00OB")  # (0002,0001): cut inside its 4-byte length
    return content[:at + 8]


MALFORMED = {"unknown-vr": _unknown_vr, "wrong-width-vr": _wrong_width_vr, "cut-in-file-meta": _cut_in_file_meta}


@pytest.mark.parametrize("mutate", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_header_that_cannot_be_read_is_not_dicom(mutate):
    content, _ = make_dicom()
    assert read_header(io.BytesIO(content)).modality == "CT"  # the file before the change is read
    with pytest.raises(NotDicom):
        read_header(io.BytesIO(mutate(content)))


@pytest.mark.parametrize("mutate", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_dicom_upload_is_refused_and_deleted(mutate, doctor, patient, s3):
    grant_access(clinician=doctor, patient=patient)
    content, _ = make_dicom()
    bad = mutate(content)
    started = start(doctor, patient, bad)
    assert started.status_code == 201, started.json()
    body = started.json()
    assert post_to_s3(body["upload"], bad).status_code in (200, 201, 204)
    study = ImagingStudy.objects.get(pk=body["id"])

    refused = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert refused.status_code == 422, refused.content
    assert refused.json()["code"] == "not_dicom" and refused.json()["message"]
    study.refresh_from_db()
    assert study.status == StudyStatus.REJECTED and study.rejection_reason.startswith("not dicom")
    found = s3.list_object_versions(Bucket=settings.MEDICAL_IMAGING_BUCKET, Prefix=study.key)
    assert not found.get("Versions") and not found.get("DeleteMarkers")
    assert AuditEvent.objects.filter(object_type="imaging_study", object_id=str(study.pk),
                                     action="upload_rejected").exists()
    again = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert again.status_code == 409 and again.json()["code"] == "upload_rejected"
    assert client_for(patient).get(STUDIES).json() == []
