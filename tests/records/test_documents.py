"""Patient documents in S3 (M7–M10)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import StreamingHttpResponse

from phb.aws.clients import aws_client
from records.models import AuditEvent, PatientDocument
from tests.aws_faults import unreachable
from tests.helpers import assert_private, client_for
from tests.storage.files import make_ole2

pytestmark = pytest.mark.django_db

UPLOAD_URL = "/api/secure/upload/"
LIST_URL = "/api/secure/files/"

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode"


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _upload(user, *files):
    payload = {"files": [SimpleUploadedFile(name, content, content_type=ctype) for name, content, ctype in files]}
    return client_for(user).post(UPLOAD_URL, payload, format="multipart")


def test_upload_list_preview_delete(patient):
    uploaded = _upload(patient, ("Lab result (March).pdf", PDF, "application/pdf"),
                       ("scan.png", PNG, "image/png"), ("notes.txt", "héllo\nworld".encode(), "text/plain"),
                       ("letter.docx", _docx(), "application/octet-stream"))
    assert uploaded.status_code == 201, uploaded.content
    body = uploaded.json()
    assert body["success"] is True and body["successful_uploads"] == 4

    files = client_for(patient).get(LIST_URL).json()["data"]["files"]
    assert {f["original_extension"] for f in files} == {".pdf", ".png", ".txt", ".docx"}
    pdf = next(f for f in files if f["original_extension"] == ".pdf")
    assert pdf["display_name"] == "Lab result _March.pdf"
    assert pdf["size"] == len(PDF)

    doc = PatientDocument.objects.get(pk=pdf["file_id"])
    assert doc.file.name.startswith(f"patient-documents/{patient.pk}/")
    assert "Lab" not in doc.file.name, "the user's file name never becomes the key"
    head = aws_client("s3").head_object(Bucket=settings.MEDICAL_RECORDS_BUCKET, Key=doc.file.name)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["ContentType"] == "application/pdf"

    preview = client_for(patient).get(pdf["file_path"])
    assert preview.status_code == 200
    assert isinstance(preview, StreamingHttpResponse)
    assert b"".join(preview.streaming_content) == PDF
    assert preview["Content-Type"] == "application/pdf"
    assert preview["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="read", object_type="document", object_id=str(doc.pk)).count() == 1

    deleted = client_for(patient).delete(f"/api/secure/files/{doc.pk}/delete/")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert pdf["file_id"] not in {f["file_id"] for f in client_for(patient).get(LIST_URL).json()["data"]["files"]}
    assert client_for(patient).get(pdf["file_path"]).status_code == 404
    versions = aws_client("s3").list_object_versions(Bucket=settings.MEDICAL_RECORDS_BUCKET, Prefix=doc.file.name)
    assert len(versions.get("Versions", [])) == 1, "versioning keeps the bytes"
    assert len(versions.get("DeleteMarkers", [])) == 1


def test_preview_bytes_equal_upload_for_larger_file(patient):
    content = b"%PDF-1.7\n" + bytes(range(256)) * 8192  # about 2 MB, many stream chunks
    assert _upload(patient, ("big.pdf", content, "application/pdf")).status_code == 201
    doc = PatientDocument.objects.get(patient=patient)
    preview = client_for(patient).get(f"/api/secure/files/{doc.pk}/preview/")
    assert int(preview["Content-Length"]) == len(content)
    assert b"".join(preview.streaming_content) == content


def test_renamed_executable_refused(patient):
    response = _upload(patient, ("report.pdf", EXE, "application/pdf"))
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["successful_uploads"] == 0
    assert "Unsupported file type" in body["error"]
    assert not PatientDocument.objects.exists()


def test_word_97_document_accepted(patient):
    content = make_ole2({"WordDocument": b"\xec\xa5", "1Table": b""})
    response = _upload(patient, ("referral.doc", content, "application/octet-stream"))
    assert response.status_code == 201, response.content
    doc = PatientDocument.objects.get(patient=patient)
    head = aws_client("s3").head_object(Bucket=settings.MEDICAL_RECORDS_BUCKET, Key=doc.file.name)
    assert head["ContentType"] == "application/msword"


def test_other_zip_and_ole_files_refused(patient):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("classes.dex", "x")
    ole_not_word = make_ole2({"Workbook": b"\x09\x08"}, extra="WordDocument".encode("utf-16-le"))
    response = _upload(patient, ("a.docx", buffer.getvalue(), "application/zip"), ("b.doc", ole_not_word, "x"))
    assert response.status_code == 400
    assert len(response.json()["failed_uploads"]) == 2


def test_21_mb_file_refused(patient):
    content = b"%PDF-1.4\n" + b"0" * (21 * 1024 * 1024)
    response = _upload(patient, ("huge.pdf", content, "application/pdf"))
    assert response.status_code == 400
    assert "larger than 20 MB" in response.json()["error"]
    assert not PatientDocument.objects.exists()


def test_more_than_ten_files_refused(patient):
    files = [(f"f{i}.txt", b"hello", "text/plain") for i in range(11)]
    response = _upload(patient, *files)
    assert response.status_code == 400
    assert response.json()["successful_uploads"] == 0
    assert not PatientDocument.objects.exists()


def test_partial_success_reports_refused_files(patient):
    response = _upload(patient, ("ok.txt", b"fine", "text/plain"), ("bad.txt", EXE, "text/plain"))
    assert response.status_code == 201
    body = response.json()
    assert body["successful_uploads"] == 1
    assert body["failed_uploads"][0]["name"] == "bad.txt"


def test_documents_are_private(patient, other_patient):
    assert _upload(patient, ("x.pdf", PDF, "application/pdf")).status_code == 201
    doc = PatientDocument.objects.get()
    assert_private(f"/api/secure/files/{doc.pk}/preview/", owner=patient, stranger=other_patient, owner_status=200)
    assert_private(f"/api/secure/files/{doc.pk}/delete/", method="delete", stranger=other_patient)
    assert client_for(other_patient).get(LIST_URL).json()["data"]["files"] == []
    assert client_for(None).get(LIST_URL).status_code == 401
    assert client_for(None).post(UPLOAD_URL, {}, format="multipart").status_code == 401
    doc.refresh_from_db()
    assert doc.deleted_at is None


def _s3_refuses_after(count: int, operation: str = "PutObject"):
    """Past ``count`` calls of ``operation``, the records bucket's S3 client cannot connect."""
    from records.documents import storage

    return unreachable(storage().connection.meta.client, operation, after=count)


def test_a_file_s3_does_not_take_is_reported_and_the_files_stored_before_it_are_kept(patient):
    """S3 failing part way through a batch: the files it stored are listed as uploaded (not a 500
    that hides them, so the patient uploads them twice) and the one it did not take is refused."""
    with _s3_refuses_after(1):
        response = _upload(patient, ("first.pdf", PDF, "application/pdf"), ("second.png", PNG, "image/png"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["successful_uploads"] == 1
    assert [f["display_name"] for f in body["files"]] == ["first.pdf"]
    assert body["failed_uploads"] == [{"name": "second.png", "error": "The file could not be stored. Try again."}]
    doc = PatientDocument.objects.get(patient=patient)
    assert doc.display_name == "first.pdf"
    aws_client("s3").head_object(Bucket=settings.MEDICAL_RECORDS_BUCKET, Key=doc.file.name)
    assert AuditEvent.objects.filter(action="upload", object_type="document").count() == 1


def test_an_upload_s3_does_not_take_at_all_is_a_503_with_a_message(patient):
    with _s3_refuses_after(0):
        response = _upload(patient, ("only.pdf", PDF, "application/pdf"))
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["success"] is False and body["successful_uploads"] == 0
    assert body["message"] == "Your documents could not be stored just now. Try again shortly."
    assert not PatientDocument.objects.exists()
    assert not AuditEvent.objects.filter(action="upload").exists()


def test_a_delete_s3_refuses_is_a_503_and_the_document_stays_listed_for_a_retry(patient):
    """S3 not answering the delete: the patient is told to try again and the document is still
    hers to see and delete (it was a 500 that hid it, left its object current and audited nothing)."""
    assert _upload(patient, ("x.pdf", PDF, "application/pdf")).status_code == 201
    doc = PatientDocument.objects.get()
    url = f"/api/secure/files/{doc.pk}/delete/"
    with _s3_refuses_after(0, "DeleteObject"):
        refused = client_for(patient).delete(url)
    assert refused.status_code == 503, refused.content
    assert refused.json()["success"] is False
    assert refused.json()["message"] == "The document could not be deleted just now. Try again shortly."
    assert [f["file_id"] for f in client_for(patient).get(LIST_URL).json()["data"]["files"]] == [str(doc.pk)]
    assert not AuditEvent.objects.filter(action="delete").exists()

    deleted = client_for(patient).delete(url)
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert client_for(patient).get(LIST_URL).json()["data"]["files"] == []
    assert AuditEvent.objects.filter(action="delete", object_id=str(doc.pk)).count() == 1


def test_a_document_whose_object_was_removed_outside_the_app_is_a_404_with_a_message(patient):
    """The row is stale: there is nothing to retry (it was a 503 "temporarily unavailable" forever)."""
    assert _upload(patient, ("x.pdf", PDF, "application/pdf")).status_code == 201
    doc = PatientDocument.objects.get()
    aws_client("s3").delete_object(Bucket=settings.MEDICAL_RECORDS_BUCKET, Key=doc.file.name)

    response = client_for(patient).get(f"/api/secure/files/{doc.pk}/preview/")

    assert response.status_code == 404, response.content
    body = response.json()
    assert body["message"] == "This document is no longer available."
    assert body["code"] == "document_missing"
    assert not AuditEvent.objects.filter(action="read", object_type="document").exists()


def test_a_document_s3_does_not_answer_for_is_still_a_503(patient):
    assert _upload(patient, ("x.pdf", PDF, "application/pdf")).status_code == 201
    doc = PatientDocument.objects.get()
    with _s3_refuses_after(0, "GetObject"):
        response = client_for(patient).get(f"/api/secure/files/{doc.pk}/preview/")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "document_unavailable"
    assert response.json()["message"] == "This document is temporarily unavailable."


def test_a_document_s3_answers_with_a_server_error_for_is_a_503(patient):
    """An S3 error that is not "no such key" (here S3's own 503) is an outage, not a stale row."""
    from botocore.exceptions import ClientError

    from records.documents import storage
    from tests.aws_faults import before_calls

    def slow_down(**_):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                           "ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject")

    assert _upload(patient, ("x.pdf", PDF, "application/pdf")).status_code == 201
    doc = PatientDocument.objects.get()
    with before_calls(storage().connection.meta.client, "GetObject", handler=slow_down):
        response = client_for(patient).get(f"/api/secure/files/{doc.pk}/preview/")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "document_unavailable"


def test_an_operator_deletes_a_document_in_the_admin_as_the_patient_would(patient, client):
    """The admin never deletes the row (its file would stay in S3 with nothing pointing to it): its
    action hides the document and gives the file a delete marker, audited as the operator's. An
    operator who may only view documents is not offered it."""
    from botocore.exceptions import ClientError
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    _upload(patient, ("a.pdf", PDF, "application/pdf"))
    doc = PatientDocument.objects.get(patient=patient)
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    changelist = "/admin/records/patientdocument/"

    assert client.get(f"{changelist}{doc.pk}/delete/").status_code == 403
    done = client.post(changelist, {"action": "hide_documents", "_selected_action": [str(doc.pk)]})
    assert done.status_code == 302

    doc.refresh_from_db()
    assert doc.deleted_at is not None
    assert client_for(patient).get(LIST_URL).json()["data"]["files"] == []
    with pytest.raises(ClientError):
        aws_client("s3").head_object(Bucket=settings.MEDICAL_RECORDS_BUCKET, Key=doc.file.name)
    assert AuditEvent.objects.filter(action="delete", object_id=str(doc.pk), actor_id=operator.pk).count() == 1

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_patientdocument"))
    client.force_login(viewer)
    page = client.get(changelist)
    assert page.status_code == 200 and b"hide_documents" not in page.content
