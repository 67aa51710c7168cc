"""Imaging uploads never completed: ``expire_imaging_uploads`` removes the study (no longer
pending) and every version of the object the browser may have uploaded, once the upload window
closed more than ``IMAGING_UPLOAD_ABANDON_HOURS`` ago; studies inside the grace and listed
studies are left alone; S3 not answering leaves the study for the next run."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from phb import metrics
from records.models import AuditEvent
from storage import imaging
from storage.models import ImagingStudy, StudyStatus
from tests.concurrency import race
from tests.helpers import client_for
from tests.storage.conftest import grant_access
from tests.storage.files import make_dicom
from tests.storage.test_imaging import STUDIES, post_to_s3, start
from tests.storage.test_imaging_s3_faults import s3_refuses

GRACE = timedelta(hours=settings.IMAGING_UPLOAD_ABANDON_HOURS)


def _started(doctor, patient, *, uploaded: bool = True, window_closed: timedelta | None = None) -> ImagingStudy:
    """A study started (and uploaded to S3) whose upload window closed ``window_closed`` ago."""
    grant_access(clinician=doctor, patient=patient)
    content, _ = make_dicom()
    response = start(doctor, patient, content)
    assert response.status_code == 201, response.json()
    if uploaded:
        assert post_to_s3(response.json()["upload"], content).status_code in (200, 201, 204)
    study = ImagingStudy.objects.get(pk=response.json()["id"])
    if window_closed is not None:
        ImagingStudy.objects.filter(pk=study.pk).update(upload_expires_at=timezone.now() - window_closed)
        study.refresh_from_db()
    return study


def _versions(s3, study: ImagingStudy) -> list[dict]:
    found = s3.list_object_versions(Bucket=settings.MEDICAL_IMAGING_BUCKET, Prefix=study.key)
    return [v for v in [*found.get("Versions", []), *found.get("DeleteMarkers", [])] if v["Key"] == study.key]


def _expire(*args: str) -> dict:
    out = StringIO()
    call_command("expire_imaging_uploads", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_an_upload_never_completed_is_removed_after_the_grace(doctor, patient, s3, caplog):
    study = _started(doctor, patient, window_closed=GRACE + timedelta(minutes=5))
    never_sent = _started(doctor, patient, uploaded=False, window_closed=GRACE + timedelta(hours=1))
    assert len(_versions(s3, study)) == 1

    with metrics.capture() as seen, caplog.at_level(logging.INFO, logger="storage.imaging"):
        report = _expire()
    assert report == {"removed": 2, "versions_removed": 1, "retrying": 0}
    assert _versions(s3, study) == []
    for gone in (study, never_sent):
        gone.refresh_from_db()
        assert gone.status == StudyStatus.REJECTED and gone.rejection_reason == imaging.ABANDONED
        assert AuditEvent.objects.filter(
            object_type="imaging_study",
            object_id=str(gone.pk),
            action="upload_abandoned",
            actor_id=None,
            patient_id=patient.pk,
        ).exists()
    assert sorted(d.dimensions["Uploaded"] for d in seen if d.name == "ImagingUploadAbandoned") == ["no", "yes"]
    lines = [r for r in caplog.records if getattr(r, "event", "") == "imaging_upload_abandoned"]
    assert sorted(r.study_id for r in lines) == sorted([str(study.pk), str(never_sent.pk)])
    assert not any(study.key in r.getMessage() or str(patient.pk) in str(r.__dict__) for r in lines)

    # The uploader sees it as rejected; completing it says why and to start again.
    done = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert done.status_code == 409 and done.json()["code"] == "upload_rejected", done.content
    assert "not completed in time" in done.json()["message"]
    shown = client_for(doctor).get(f"{STUDIES}{study.pk}/")
    assert shown.status_code == 200 and shown.json()["status"] == "rejected"
    assert _expire() == {"removed": 0, "versions_removed": 0, "retrying": 0}  # nothing left to do


@pytest.mark.django_db
def test_an_upload_inside_the_grace_is_left_and_can_still_be_completed(doctor, patient, s3):
    study = _started(doctor, patient, window_closed=GRACE - timedelta(minutes=5))
    assert _expire() == {"removed": 0, "versions_removed": 0, "retrying": 0}
    study.refresh_from_db()
    assert study.status == StudyStatus.PENDING and len(_versions(s3, study)) == 1

    done = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert done.status_code == 200 and done.json()["status"] == "available", done.content


@pytest.mark.django_db
def test_a_completed_study_is_never_touched(doctor, patient, s3):
    study = _started(doctor, patient)
    assert client_for(doctor).post(f"{STUDIES}{study.pk}/complete/").json()["status"] == "available"
    ImagingStudy.objects.filter(pk=study.pk).update(upload_expires_at=timezone.now() - GRACE * 10)

    assert _expire() == {"removed": 0, "versions_removed": 0, "retrying": 0}
    study.refresh_from_db()
    assert study.status == StudyStatus.AVAILABLE and len(_versions(s3, study)) == 1
    assert client_for(patient).get(f"{STUDIES}{study.pk}/download/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("operation", ["ListObjectVersions", "DeleteObject"])
def test_s3_not_answering_leaves_the_studies_for_the_next_run(doctor, patient, s3, operation):
    study = _started(doctor, patient, window_closed=GRACE + timedelta(minutes=10))
    later = _started(doctor, patient, window_closed=GRACE + timedelta(minutes=5))
    with s3_refuses(s3, operation):
        assert _expire() == {"removed": 0, "versions_removed": 0, "retrying": 1}  # one try, not one per study
    for kept in (study, later):
        kept.refresh_from_db()
        assert kept.status == StudyStatus.PENDING and kept.rejection_reason == ""
        assert len(_versions(s3, kept)) == 1
    assert not AuditEvent.objects.filter(action="upload_abandoned").exists()

    assert _expire() == {"removed": 2, "versions_removed": 2, "retrying": 0}
    for gone in (study, later):
        gone.refresh_from_db()
        assert gone.status == StudyStatus.REJECTED and _versions(s3, gone) == []


@pytest.mark.django_db
@pytest.mark.parametrize("moment", ["before-call", "after-call"])
def test_a_study_removed_while_its_completion_reads_it_is_a_409(doctor, patient, s3, moment):
    """The clean-up runs while the uploader's ``complete`` is reading the header (before the
    read reaches S3, or after it came back): ``complete`` does not list it and answers 409."""
    study = _started(doctor, patient, window_closed=GRACE + timedelta(minutes=5))
    reports: list = []

    def expire_meanwhile(**_):
        if not reports:
            reports.append(imaging.imaging_uploads_expire())

    s3.meta.events.register(f"{moment}.s3.GetObject", expire_meanwhile)
    try:
        done = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    finally:
        s3.meta.events.unregister(f"{moment}.s3.GetObject", expire_meanwhile)
    assert reports[0].removed == 1
    assert done.status_code == 409 and done.json()["code"] == "upload_rejected", done.content
    study.refresh_from_db()
    assert study.status == StudyStatus.REJECTED and _versions(s3, study) == []
    assert not AuditEvent.objects.filter(object_type="imaging_study", action="write").exists()


@pytest.mark.django_db
def test_a_study_listed_after_the_run_read_it_is_not_removed(doctor, patient, s3):
    """The uploader's ``complete`` lists the study between the run's read of the due studies and
    its claim: the claim finds it no longer pending and leaves it (and its object) alone."""
    study = _started(doctor, patient, window_closed=GRACE + timedelta(minutes=5))
    completed: list = []

    def complete_before_the_claim(execute, sql, params, many, context):
        if not completed and sql.startswith("UPDATE") and "storage_imagingstudy" in sql:
            completed.append(None)
            completed[0] = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(complete_before_the_claim):
        report = imaging.imaging_uploads_expire()
    assert completed[0].status_code == 200 and completed[0].json()["status"] == "available"
    assert report == imaging.ExpiryReport(removed=0, versions_removed=0, retrying=0)
    study.refresh_from_db()
    assert study.status == StudyStatus.AVAILABLE and len(_versions(s3, study)) == 1
    assert client_for(patient).get(f"{STUDIES}{study.pk}/download/").status_code == 200


@pytest.mark.django_db
def test_a_removal_cut_short_is_taken_over_once_its_claim_is_stale(doctor, patient, s3):
    """A run stopped between its claim and S3 (killed, the host lost) leaves the study claimed
    with its object; a later run finishes it, but not while the claim may still be running."""
    study = _started(doctor, patient, window_closed=GRACE + timedelta(minutes=5))
    claimed = ImagingStudy.objects.filter(pk=study.pk)
    claimed.update(
        status=StudyStatus.REJECTED,
        rejection_reason=imaging.ABANDONED_REMOVING,
        completed_at=timezone.now() - timedelta(minutes=1),
    )
    assert _expire() == {"removed": 0, "versions_removed": 0, "retrying": 0}
    assert len(_versions(s3, study)) == 1

    claimed.update(completed_at=timezone.now() - imaging.ABANDON_CLAIM_LEASE - timedelta(minutes=1))
    assert _expire() == {"removed": 1, "versions_removed": 1, "retrying": 0}
    study.refresh_from_db()
    assert study.rejection_reason == imaging.ABANDONED and _versions(s3, study) == []


@pytest.mark.django_db
def test_limit_takes_the_oldest_first_and_refuses_a_count_it_cannot_use(doctor, patient, s3):
    newer = _started(doctor, patient, uploaded=False, window_closed=GRACE + timedelta(hours=1))
    older = _started(doctor, patient, uploaded=False, window_closed=GRACE + timedelta(hours=2))
    assert _expire("--limit", "1")["removed"] == 1
    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.status, newer.status) == (StudyStatus.REJECTED, StudyStatus.PENDING)
    for bad in ("0", "-1", "x"):
        with pytest.raises(CommandError, match="--limit"):
            call_command("expire_imaging_uploads", "--limit", bad)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_removal_and_completion_at_the_same_moment_exactly_one_acts(doctor, patient, s3):
    """The clean-up and the uploader's ``complete`` of the same study, released together: either
    the study is listed with its object kept, or it is removed and ``complete`` answers 409."""
    rounds = [step * 0.003 for step in range(12)]  # the run starts a little later each round
    for delay in rounds:
        study = _started(doctor, patient, window_closed=GRACE + timedelta(minutes=5))

        def attempt(who: str, study=study, delay=delay):
            if who == "expire":
                time.sleep(delay)
                return imaging.imaging_uploads_expire(limit=10).removed
            response = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
            return response.status_code, response.json().get("status") or response.json().get("code")

        removed, completed = race(attempt, ["expire", "complete"])
        study.refresh_from_db()
        if removed == 1:
            assert completed == (409, "upload_rejected"), completed
            assert study.status == StudyStatus.REJECTED and _versions(s3, study) == []
        else:
            assert (removed, completed) == (0, (200, "available"))
            assert study.status == StudyStatus.AVAILABLE and len(_versions(s3, study)) == 1
            assert client_for(patient).get(f"{STUDIES}{study.pk}/download/").status_code == 200
    assert AuditEvent.objects.filter(action="upload_abandoned").count() + AuditEvent.objects.filter(
        object_type="imaging_study", action="write"
    ).count() == len(rounds)


def test_a_claim_outlives_the_longest_run_of_the_job():
    """A claim is taken over only once no run can still be working on it."""
    from pathlib import Path

    unit = (Path(settings.BASE_DIR) / "deploy" / "systemd" / "phb-job@.service").read_text()
    minutes = int(re.search(r"^TimeoutStartSec=(\d+)min$", unit, re.M).group(1))
    assert imaging.ABANDON_CLAIM_LEASE > timedelta(minutes=minutes)
    timer = (Path(settings.BASE_DIR) / "deploy" / "systemd" / "phb-expire-imaging-uploads.timer").read_text()
    assert "Unit=phb-job@expire_imaging_uploads.service" in timer


@pytest.mark.parametrize("hours", ["0", "-3"])
def test_a_grace_shorter_than_an_hour_stops_the_start_with_a_clear_reason(hours):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "phb.settings.dev", "IMAGING_UPLOAD_ABANDON_HOURS": hours}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and "IMAGING_UPLOAD_ABANDON_HOURS must be at least 1" in done.stderr


@pytest.mark.django_db
def test_a_refusal_cut_short_has_its_object_removed_by_the_next_run(doctor, patient, s3):
    """The worker refusing an upload is killed (its timeout, a deploy) after marking the study
    rejected and before S3 deleted the file: a later run removes the object all the same."""
    bad = b"not a dicom file" * 64
    grant_access(clinician=doctor, patient=patient)
    started = start(doctor, patient, bad)
    assert post_to_s3(started.json()["upload"], bad).status_code in (200, 201, 204)
    study = ImagingStudy.objects.get(pk=started.json()["id"])

    def killed(**_):
        raise SystemExit("worker killed")

    s3.meta.events.register("before-call.s3.ListObjectVersions", killed)
    try:
        with pytest.raises(SystemExit):
            client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    finally:
        s3.meta.events.unregister("before-call.s3.ListObjectVersions", killed)
    study.refresh_from_db()
    assert study.status == StudyStatus.REJECTED and len(_versions(s3, study)) == 1

    assert _expire() == {"removed": 0, "versions_removed": 0, "retrying": 0}  # the refusal may still be running
    ImagingStudy.objects.filter(pk=study.pk).update(
        completed_at=timezone.now() - imaging.ABANDON_CLAIM_LEASE - timedelta(minutes=1)
    )
    assert _expire() == {"removed": 1, "versions_removed": 1, "retrying": 0}
    study.refresh_from_db()
    assert study.status == StudyStatus.REJECTED and _versions(s3, study) == []
    assert study.rejection_reason.startswith("not dicom")
    assert AuditEvent.objects.filter(action="upload_rejected", object_id=str(study.pk), actor_id=None).exists()
    again = client_for(doctor).post(f"{STUDIES}{study.pk}/complete/")
    assert again.status_code == 409 and again.json()["message"] == "This upload was refused; start a new one."


@pytest.mark.django_db
def test_a_finished_refusal_is_not_counted_again(doctor, patient, s3):
    bad = b"not a dicom file" * 64
    grant_access(clinician=doctor, patient=patient)
    started = start(doctor, patient, bad)
    assert post_to_s3(started.json()["upload"], bad).status_code in (200, 201, 204)
    assert client_for(doctor).post(f"{STUDIES}{started.json()['id']}/complete/").status_code == 422
    study = ImagingStudy.objects.get(pk=started.json()["id"])
    assert study.rejection_reason.startswith("not dicom")
    ImagingStudy.objects.filter(pk=study.pk).update(completed_at=timezone.now() - timedelta(days=2))
    assert _expire() == {"removed": 0, "versions_removed": 0, "retrying": 0}
    assert AuditEvent.objects.filter(action="upload_rejected", object_id=str(study.pk)).count() == 1
