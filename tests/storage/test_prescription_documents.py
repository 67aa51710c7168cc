"""Prescription PDFs: rendered on ``prescription_issued``, KMS-encrypted under object lock in the
prescriptions bucket, a corrected prescription is a new version, and only the patient and the
prescriber get the 5-minute SigV4 URL."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.conf import settings
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, Prescription
from appointments.services import prescription_issue
from phb.zones import date_at
from records.models import AuditEvent
from storage.models import PrescriptionDocument
from tests.aws_faults import unreachable
from tests.factories import make_doctor, make_patient
from tests.helpers import assert_private, client_for
from tests.storage.conftest import assert_sigv4_300
from tests.storage.files import pdf_text

pytestmark = pytest.mark.django_db

MEDICATIONS = [
    {"medication_name": "Amoxicillin", "strength": "500 mg", "form": "capsule", "dosage": "1 capsule",
     "frequency": "three times a day", "duration": "7 days", "patient_instructions": "Finish the course"},
    {"medication_name": "Paracetamol", "strength": "1 g", "frequency": "every 6 hours when needed"},
]


@pytest.fixture
def appointment(patient, doctor, department):
    start = timezone.now() - timedelta(hours=1)
    return Appointment.objects.create(
        patient=patient, hospital=department.hospital, department=department, doctor=doctor,
        start=start, end=start + timedelta(minutes=30), status=AppointmentStatus.COMPLETED,
    )


@pytest.fixture
def issued(appointment, doctor, django_capture_on_commit_callbacks) -> Prescription:
    with django_capture_on_commit_callbacks(execute=True):
        return prescription_issue(appointment=appointment, prescriber=doctor, medications=MEDICATIONS)


def url_of(prescription) -> str:
    return f"/api/prescriptions/{prescription.pk}/document/"


def test_issuing_stores_a_locked_kms_encrypted_pdf(issued, appointment, patient, doctor, s3):
    document = PrescriptionDocument.objects.get(prescription=issued)
    assert document.key.startswith(f"prescriptions/{patient.pk}/") and document.key.endswith(".pdf")
    assert str(issued.pk) not in document.key  # random, not the prescription id
    head = s3.head_object(Bucket=settings.PRESCRIPTIONS_BUCKET, Key=document.key)
    assert head["VersionId"] == document.current_version_id
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == settings.PRESCRIPTIONS_KMS_ALIAS
    assert head["ContentType"] == "application/pdf"
    assert head["ObjectLockMode"] == "GOVERNANCE"
    days = (head["ObjectLockRetainUntilDate"] - timezone.now()).days
    assert settings.STORAGE_RETENTION_DAYS - 1 <= days <= settings.STORAGE_RETENTION_DAYS
    assert all(patient.full_name not in v for v in head["Metadata"].values())

    body = s3.get_object(Bucket=settings.PRESCRIPTIONS_BUCKET, Key=document.key)["Body"].read()
    assert body.startswith(b"%PDF-")
    text = pdf_text(body)
    for expected in (patient.full_name, doctor.full_name, "Amoxicillin", "500 mg", "Paracetamol",
                     document.verification_code, str(date_at(issued.issued_at, appointment.hospital).year),
                     "Valid until"):
        assert expected in text, expected
    assert document.verification_code.startswith("RX-")


def test_patient_and_prescriber_get_a_signed_url_nobody_else(issued, patient, doctor, department, other_patient):
    url = url_of(issued)
    for user in (patient, doctor):
        response = client_for(user).get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        query = assert_sigv4_300(body["url"])
        assert query["versionId"] == [body["version_id"]]
        assert body["expires_in"] == 300 and body["content_type"] == "application/pdf"
        fetched = httpx.get(body["url"])
        assert fetched.status_code == 200 and fetched.content.startswith(b"%PDF-")
        assert fetched.headers["content-type"] == "application/pdf"
    colleague = make_doctor(department=department)
    assert_private(url, owner=patient, owner_status=200, stranger=other_patient)
    assert_private(url, stranger=colleague)
    assert client_for(make_patient()).get(f"/api/prescriptions/{issued.appointment_id}/document/").status_code == 404
    reads = AuditEvent.objects.filter(object_type="prescription_document", action="read", patient_id=patient.pk)
    assert reads.count() == 3
    assert {str(a) for a in reads.values_list("actor_id", flat=True)} == {str(patient.pk), str(doctor.pk)}


def test_a_correction_is_a_new_version_never_an_overwrite(issued, patient, doctor, s3, django_capture_on_commit_callbacks):
    from appointments.signals import send_prescription_issued_after_commit

    document = PrescriptionDocument.objects.get(prescription=issued)
    first_version = document.current_version_id

    # The same prescription again (a duplicate signal) renders nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        send_prescription_issued_after_commit(prescription=issued)
    document.refresh_from_db()
    assert document.current_version_id == first_version and document.versions.count() == 1

    # A corrected dose is a new object version under the same key.
    issued.medications = [{**MEDICATIONS[0], "strength": "250 mg"}]
    issued.save(update_fields=["medications"])
    with django_capture_on_commit_callbacks(execute=True):
        send_prescription_issued_after_commit(prescription=issued)
    document.refresh_from_db()
    assert document.current_version_id != first_version and document.versions.count() == 2
    versions = s3.list_object_versions(Bucket=settings.PRESCRIPTIONS_BUCKET, Prefix=document.key)["Versions"]
    assert {v["VersionId"] for v in versions} == {first_version, document.current_version_id}
    old = s3.get_object(Bucket=settings.PRESCRIPTIONS_BUCKET, Key=document.key, VersionId=first_version)
    assert "500 mg" in pdf_text(old["Body"].read())
    new = s3.get_object(Bucket=settings.PRESCRIPTIONS_BUCKET, Key=document.key, VersionId=document.current_version_id)
    new_text = pdf_text(new["Body"].read())
    assert "250 mg" in new_text and "revision 2" in new_text

    # Object lock refuses to remove the first version.
    with pytest.raises(Exception, match="AccessDenied"):
        s3.delete_object(Bucket=settings.PRESCRIPTIONS_BUCKET, Key=document.key, VersionId=first_version)

    body = client_for(patient).get(url_of(issued)).json()
    assert body["version_id"] == document.current_version_id and body["revision"] == 2


def test_document_is_rendered_on_first_request_when_the_signal_failed(appointment, doctor, patient):
    now = timezone.now()
    prescription = Prescription.objects.create(  # issued without the signal reaching storage
        appointment=appointment, patient=patient, prescriber=doctor, medications=MEDICATIONS,
        issued_at=now, expires_at=now + timedelta(days=30),
    )
    assert not PrescriptionDocument.objects.filter(prescription=prescription).exists()
    response = client_for(doctor).get(url_of(prescription))
    assert response.status_code == 200
    assert PrescriptionDocument.objects.get(prescription=prescription).current_version_id == response.json()["version_id"]


def test_a_document_s3_does_not_take_is_a_503_and_the_next_request_stores_it(appointment, doctor, patient, s3):
    now = timezone.now()
    prescription = Prescription.objects.create(  # issued without the signal reaching storage
        appointment=appointment, patient=patient, prescriber=doctor, medications=MEDICATIONS,
        issued_at=now, expires_at=now + timedelta(days=30),
    )
    client = client_for(patient)
    client.raise_request_exception = False

    with unreachable(s3, "PutObject"):
        refused = client.get(url_of(prescription))

    assert refused.status_code == 503, refused.content
    assert refused.json()["code"] == "storage_unavailable" and refused.json()["message"]
    assert not AuditEvent.objects.filter(object_type="prescription_document").exists(), "nothing was read"
    document = PrescriptionDocument.objects.filter(prescription=prescription).first()
    assert document is None or not document.current_version_id
    served = client.get(url_of(prescription))
    assert served.status_code == 200, served.content
    assert served.json()["version_id"] == PrescriptionDocument.objects.get(prescription=prescription).current_version_id


def test_a_correction_s3_does_not_take_is_a_503_never_the_outdated_document(issued, patient, s3):
    before = PrescriptionDocument.objects.get(prescription=issued).current_version_id
    issued.status = Prescription.Status.CANCELLED
    issued.save(update_fields=["status"])
    client = client_for(patient)
    client.raise_request_exception = False

    with unreachable(s3, "PutObject"):
        refused = client.get(url_of(issued))

    assert refused.status_code == 503, refused.content
    assert before not in refused.content.decode(), "the version that does not say CANCELLED is not handed out"
    assert client.get(url_of(issued)).json()["version_id"] != before


def test_cancelled_prescription_gets_a_marked_new_version(issued, patient, s3):
    issued.status = Prescription.Status.CANCELLED
    issued.save(update_fields=["status"])
    body = client_for(patient).get(url_of(issued)).json()
    assert body["revision"] == 2
    document = PrescriptionDocument.objects.get(prescription=issued)
    pdf = s3.get_object(Bucket=settings.PRESCRIPTIONS_BUCKET, Key=document.key, VersionId=body["version_id"])
    assert "CANCELLED" in pdf_text(pdf["Body"].read())
    assert client_for(patient).get(url_of(issued)).json()["revision"] == 2  # nothing changed since
