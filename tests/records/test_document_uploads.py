"""A patient's upload is recorded ``pending`` (with its key) before the file goes to S3 and
``stored`` after it: a worker killed, or the database failing, between the two leaves a row that
points to the object, which nobody sees and ``expire_document_uploads`` removes with its object
(``records.documents``, ``records.document_expiry``). Against the suite's moto server."""

from __future__ import annotations

import json
import logging
import re
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import OperationalError, connection
from django.utils import timezone

from phb.aws.clients import aws_client
from records import document_expiry
from records.documents import documents_upload, storage
from records.models import AuditEvent, DocumentState, PatientDocument
from tests.aws_faults import unreachable
from tests.concurrency import race
from tests.helpers import client_for

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FILE_NAME = "Lab result Adaeze Okafor.pdf"
LIST_URL = "/api/secure/files/"
PAST_GRACE = document_expiry.PENDING_GRACE + timedelta(minutes=1)


class WorkerKilled(Exception):
    """What the request sees when its worker dies: nothing after this point runs."""


def _file() -> SimpleUploadedFile:
    return SimpleUploadedFile(FILE_NAME, PDF, content_type="application/pdf")


@contextmanager
def _after_put(handler):
    """``handler`` runs once S3 has answered a PutObject of the records bucket (the object is stored)."""
    events = storage().connection.meta.client.meta.events
    events.register("after-call.s3.PutObject", handler)
    try:
        yield
    finally:
        events.unregister("after-call.s3.PutObject", handler)


def _killed_after_put(**_):
    raise WorkerKilled()


def _state(key: str) -> dict[str, int]:
    found = aws_client("s3").list_object_versions(Bucket=settings.MEDICAL_RECORDS_BUCKET, Prefix=key)
    return {"versions": len([v for v in found.get("Versions", []) if v["Key"] == key]),
            "delete_markers": len([m for m in found.get("DeleteMarkers", []) if m["Key"] == key])}


def _current(key: str) -> bool:
    try:
        aws_client("s3").head_object(Bucket=settings.MEDICAL_RECORDS_BUCKET, Key=key)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("404", "NoSuchKey"), exc.response
        return False
    return True


def _age(*docs: PatientDocument, by: timedelta = PAST_GRACE) -> None:
    PatientDocument.objects.filter(pk__in=[d.pk for d in docs]).update(created_at=timezone.now() - by)


def _expire(*args: str) -> dict:
    out = StringIO()
    call_command("expire_document_uploads", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def _stored(patient) -> PatientDocument:
    result = documents_upload(patient=patient, files=[_file()])
    assert [d.state for d in result.documents] == [DocumentState.STORED]
    return result.documents[0]


def _pending(patient) -> PatientDocument:
    """An upload whose worker was killed once S3 had taken the file."""
    before = list(PatientDocument.objects.values_list("pk", flat=True))
    with _after_put(_killed_after_put), pytest.raises(WorkerKilled):
        documents_upload(patient=patient, files=[_file()])
    return PatientDocument.objects.exclude(pk__in=before).get(patient=patient, state=DocumentState.PENDING)


@pytest.mark.django_db
def test_a_worker_killed_between_s3_and_the_database_leaves_a_row_the_sweep_removes_with_the_object(patient):
    stored = _stored(patient)
    doc = _pending(patient)

    assert doc.file.name.startswith(f"patient-documents/{patient.pk}/")
    assert _current(doc.file.name), "S3 holds the file: the row points to it"
    listed = client_for(patient).get(LIST_URL)
    assert [f["file_id"] for f in listed.json()["data"]["files"]] == [str(stored.pk)]
    assert listed["X-Total-Count"] == "1"
    assert client_for(patient).get(f"/api/secure/files/{doc.pk}/preview/").status_code == 404
    assert client_for(patient).delete(f"/api/secure/files/{doc.pk}/delete/").status_code == 404
    assert not AuditEvent.objects.filter(action="upload", object_id=str(doc.pk)).exists()

    assert _expire() == {"removed": 0, "retrying": 0}, "inside the grace the upload may still be running"
    _age(doc, stored)
    assert _expire() == {"removed": 1, "retrying": 0}

    assert not _current(doc.file.name)
    assert _state(doc.file.name) == {"versions": 1, "delete_markers": 1}
    assert not PatientDocument.objects.filter(pk=doc.pk).exists()
    assert AuditEvent.objects.filter(action="upload_abandoned", object_type="document", object_id=str(doc.pk),
                                     patient_id=patient.pk, actor_id=None).count() == 1
    stored.refresh_from_db()
    assert stored.state == DocumentState.STORED and _state(stored.file.name) == {"versions": 1, "delete_markers": 0}
    assert client_for(patient).get(f"/api/secure/files/{stored.pk}/preview/").status_code == 200
    assert _expire() == {"removed": 0, "retrying": 0}


@contextmanager
def _database_fails_after_put():
    """The record step fails: every write to the documents table once S3 has taken the file."""
    put = {"done": False}

    def note(**_):
        put["done"] = True

    def refuse(execute, sql, params, many, context):
        if put["done"] and "records_patientdocument" in sql and re.match(r"\s*(UPDATE|INSERT)", sql, re.I):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with _after_put(note), connection.execute_wrapper(refuse):
        yield


@pytest.mark.django_db(transaction=True)  # autocommit, as a request runs: the failed write ends no test transaction
def test_the_record_step_failing_while_s3_refuses_the_clean_up_raises_the_original_error(patient, caplog):
    """The caller sees the database's error, not the clean-up's; the object is left to the sweep."""
    with _database_fails_after_put(), unreachable(storage().connection.meta.client, "DeleteObject"), \
            caplog.at_level(logging.WARNING, logger="records.documents"):
        with pytest.raises(OperationalError, match="server closed"):
            documents_upload(patient=patient, files=[_file()])

    doc = PatientDocument.objects.get(patient=patient)
    assert doc.state == DocumentState.PENDING and _current(doc.file.name)
    assert client_for(patient).get(LIST_URL).json()["data"]["files"] == []
    lines = [r for r in caplog.records if getattr(r, "event", "") == "document_orphan_possible"]
    assert len(lines) == 1
    logged = json.dumps({k: str(v) for k, v in vars(lines[0]).items()})
    for phi in (str(patient.pk), patient.email, "Adaeze", "Okafor", doc.file.name):
        assert phi not in logged
    assert lines[0].document == str(doc.pk)

    _age(doc)
    assert _expire() == {"removed": 1, "retrying": 0}
    assert not _current(doc.file.name) and not PatientDocument.objects.exists()


@pytest.mark.django_db(transaction=True)  # autocommit, as a request runs: the failed write ends no test transaction
def test_the_record_step_failing_removes_the_object_and_the_row_when_s3_answers(patient):
    with _database_fails_after_put(), pytest.raises(OperationalError):
        documents_upload(patient=patient, files=[_file()])
    assert not PatientDocument.objects.exists()
    found = aws_client("s3").list_object_versions(Bucket=settings.MEDICAL_RECORDS_BUCKET,
                                                  Prefix=f"patient-documents/{patient.pk}/")
    assert len(found.get("Versions", [])) == 1 and len(found.get("DeleteMarkers", [])) == 1


@pytest.mark.django_db
def test_an_upload_taken_by_the_sweep_before_it_is_recorded_is_not_the_patients(patient):
    """A very late upload whose pending row the sweep claimed: the file is not kept, nor shown."""
    def sweep_first(**_):
        PatientDocument.objects.filter(state=DocumentState.PENDING).update(created_at=timezone.now() - PAST_GRACE)
        assert document_expiry.document_uploads_expire().removed == 1

    with _after_put(sweep_first):
        result = documents_upload(patient=patient, files=[_file()])
    assert result.documents == [] and result.failures == [{"name": FILE_NAME, "error": "The file could not be stored. Try again."}]
    assert not PatientDocument.objects.exists()
    found = aws_client("s3").list_object_versions(Bucket=settings.MEDICAL_RECORDS_BUCKET,
                                                  Prefix=f"patient-documents/{patient.pk}/")
    assert not _current(found["Versions"][0]["Key"])


@pytest.mark.django_db
def test_s3_not_answering_the_sweep_leaves_the_upload_for_the_next_run(patient, other_patient):
    first, second = _pending(patient), _pending(other_patient)
    _age(first, by=PAST_GRACE + timedelta(minutes=5))
    _age(second)
    with unreachable(storage().connection.meta.client, "DeleteObject"):
        assert _expire() == {"removed": 0, "retrying": 1}
    assert set(PatientDocument.objects.values_list("state", "claimed_at")) == {(DocumentState.PENDING, None)}
    assert _current(first.file.name) and _current(second.file.name)
    assert _expire("--limit", "1") == {"removed": 1, "retrying": 0}
    assert list(PatientDocument.objects.values_list("pk", flat=True)) == [second.pk], "oldest first"
    assert _expire() == {"removed": 1, "retrying": 0}
    assert not PatientDocument.objects.exists()


@pytest.mark.django_db
def test_a_removal_cut_short_is_taken_over_once_its_claim_is_stale(patient):
    doc = _pending(patient)
    _age(doc)
    PatientDocument.objects.filter(pk=doc.pk).update(state=DocumentState.REMOVING,
                                                     claimed_at=timezone.now() - timedelta(minutes=5))
    assert _expire() == {"removed": 0, "retrying": 0}, "another run may still be working on it"
    assert _current(doc.file.name)
    PatientDocument.objects.filter(pk=doc.pk).update(claimed_at=timezone.now() - document_expiry.CLAIM_LEASE
                                                     - timedelta(seconds=1))
    assert _expire() == {"removed": 1, "retrying": 0}
    assert not _current(doc.file.name) and not PatientDocument.objects.exists()


@pytest.mark.django_db
def test_the_admin_lists_and_filters_uploads_by_state(patient, staff_client):
    stored, pending = _stored(patient), _pending(patient)
    url = "/admin/records/patientdocument/"
    for state, expected in ((DocumentState.PENDING, pending), (DocumentState.STORED, stored)):
        response = staff_client.get(f"{url}?state__exact={state}")
        assert response.status_code == 200
        assert [d.pk for d in response.context["cl"].result_list] == [expected.pk]
    assert staff_client.get(f"{url}?q={pending.pk}").context["cl"].result_list[0].pk == pending.pk


def test_the_grace_outlasts_an_upload_request_and_the_claim_outlasts_a_job():
    base = Path(settings.BASE_DIR) / "deploy"
    gunicorn = (base / "gunicorn.conf.py").read_text()
    assert re.search(r'^timeout = _int\("GUNICORN_TIMEOUT", 30\)$', gunicorn, re.M)
    assert document_expiry.PENDING_GRACE > timedelta(seconds=30) * 10
    unit = (base / "systemd" / "phb-job@.service").read_text()
    minutes = int(re.search(r"^TimeoutStartSec=(\d+)min$", unit, re.M).group(1))
    assert document_expiry.CLAIM_LEASE > timedelta(minutes=minutes)
    timer = (base / "systemd" / "phb-expire-document-uploads.timer").read_text()
    assert "Unit=phb-job@expire_document_uploads.service" in timer


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_two_sweeps_at_once_delete_each_object_exactly_once_and_touch_no_stored_document(patient, other_patient):
    stored = _stored(patient)
    pending = [_pending(p) for p in (patient, other_patient, patient, other_patient, patient, other_patient)]
    _age(stored, *pending)

    outcomes = race(lambda _: document_expiry.document_uploads_expire(limit=50).removed, ["first", "second"])

    assert all(isinstance(n, int) for n in outcomes) and sum(outcomes) == len(pending), outcomes
    for doc in pending:
        assert _state(doc.file.name) == {"versions": 1, "delete_markers": 1}, doc.pk
    assert list(PatientDocument.objects.values_list("pk", "state")) == [(stored.pk, DocumentState.STORED)]
    assert _state(stored.file.name) == {"versions": 1, "delete_markers": 0}
    assert AuditEvent.objects.filter(action="upload_abandoned").count() == len(pending)
