"""Scheduling events: written with each booking, anonymised, exported to S3 once, fitted from."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from appointments import services
from appointments.models import SchedulingEvent
from appointments.scheduler import events
from appointments.scheduler.fitting import MIN_EVENTS, fit
from phb.aws.clients import aws_client
from tests.appointments.helpers import book, future_slot
from tests.concurrency import race
from tests.factories import make_patient
from tests.scheduler.helpers import roster

pytestmark = pytest.mark.django_db


def _exported_objects() -> list[str]:
    s3 = aws_client("s3")
    found = s3.list_objects_v2(Bucket=settings.ML_TRAINING_DATA_BUCKET, Prefix=events.PREFIX + "/")
    return [s3.get_object(Bucket=settings.ML_TRAINING_DATA_BUCKET, Key=o["Key"])["Body"].read().decode()
            for o in found.get("Contents", [])]


@pytest.fixture(autouse=True)
def _empty_bucket():
    s3 = aws_client("s3")
    versions = s3.list_object_versions(Bucket=settings.ML_TRAINING_DATA_BUCKET).get("Versions", [])
    for v in versions:
        s3.delete_object(Bucket=settings.ML_TRAINING_DATA_BUCKET, Key=v["Key"], VersionId=v["VersionId"])


def test_a_booking_writes_an_anonymised_event(hospital, department):
    roster(department, doctors=2)
    patient = make_patient(hospital=hospital)
    appointment = book(patient, department, future_slot(hospital), priority="emergency")
    event = SchedulingEvent.objects.get(appointment=appointment)
    assert event.patient_key == events.pseudonym(patient.pk) and str(patient.pk) not in event.patient_key
    assert event.urgency == 9 and event.priority == "emergency"
    assert event.lead_minutes > 0 and event.outcome == "pending"
    assert event.open_slots and all(m >= 0 for m in event.open_slots)


def test_outcomes_follow_the_appointment(hospital, department, doctor):
    roster(department, doctors=1)
    appointment = book(make_patient(hospital=hospital), department, future_slot(hospital))
    services.appointment_cancel(appointment=appointment, cancelled_by=appointment.patient, reason="travel")
    assert SchedulingEvent.objects.get(appointment=appointment).outcome == "cancelled"


def test_export_has_no_phi_and_runs_once(hospital, department):
    roster(department, doctors=2)
    patients = [make_patient(hospital=hospital, full_name=f"Zebedee Quartz{i}", phone=f"0803999000{i}")
                for i in range(3)]
    appointments = [book(p, department, future_slot(hospital, at=f"1{i}:00"), chief_complaint="Crushing chest pain",
                         medical_history="Asthma since 1999") for i, p in enumerate(patients)]
    for a in appointments:
        services.appointment_cancel(appointment=a, cancelled_by=a.patient, reason="Moving to Abuja")
    call_command("export_scheduling_events", stdout=open("/dev/null", "w"))
    bodies = _exported_objects()
    assert len(bodies) >= 1
    rows = [json.loads(line) for body in bodies for line in body.splitlines()]
    assert len(rows) == 3 and {r["outcome"] for r in rows} == {"cancelled"}
    text = "\n".join(bodies).lower()
    for p in patients:
        for value in (p.email, p.full_name, p.phone, p.hpn, str(p.pk), p.pk.hex):
            assert value.lower() not in text, value
    for a in appointments:
        for value in (a.appointment_id, str(a.pk), "crushing chest pain", "asthma", "abuja"):
            assert value.lower() not in text, value
    call_command("export_scheduling_events", stdout=open("/dev/null", "w"))
    assert len(_exported_objects()) == len(bodies)  # nothing exported twice
    assert SchedulingEvent.objects.filter(exported_at__isnull=True).count() == 0


def test_pending_events_wait_for_their_outcome(hospital, department):
    roster(department, doctors=1)
    book(make_patient(hospital=hospital), department, future_slot(hospital))
    assert events.export_pending() == 0


def test_backfill_creates_events_for_older_bookings(hospital, department):
    roster(department, doctors=1)
    appointment = book(make_patient(hospital=hospital), department, future_slot(hospital))
    SchedulingEvent.objects.all().delete()
    assert events.backfill() == 1
    assert SchedulingEvent.objects.get(appointment=appointment).patient_key == events.pseudonym(appointment.patient_id)


def test_fit_keeps_defaults_without_enough_events_and_fits_with_them():
    params, report = fit([])
    assert "defaults kept" in report["note"]
    rows = [{"event_id": str(i), "requested_at": f"2030-01-0{1 + i % 5}T1{i % 8}:00:00+00:00", "urgency": 1 + i % 10,
             "lead_minutes": 60 * (i % 72), "outcome": "no_show" if i % 7 == 0 else "completed"}
            for i in range(MIN_EVENTS * 2)]
    fitted, report = fit(rows)
    assert "no_show_base" in report["fitted"] and fitted.fitted_from["events"] == len(rows)
    assert fitted.urgency_weights != params.urgency_weights


def test_fit_command_reads_the_exported_events(tmp_path, hospital, department):
    roster(department, doctors=1)
    a = book(make_patient(hospital=hospital), department, future_slot(hospital))
    services.appointment_cancel(appointment=a, cancelled_by=a.patient, reason="travel")
    call_command("export_scheduling_events", stdout=open("/dev/null", "w"))
    out = tmp_path / "params.json"
    call_command("fit_scheduling_simulator", "--out", str(out), stdout=open("/dev/null", "w"))
    assert json.loads(out.read_text())["asap_share"] == pytest.approx(0.7)  # one event: defaults kept


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no row locks")
def test_two_exporters_at_once_ship_each_event_exactly_once():
    from appointments.models import SchedulingOutcome
    from tests.factories import DepartmentFactory, HospitalFactory

    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    roster(department, doctors=2)
    for i in range(6):
        book(make_patient(hospital=hospital), department, future_slot(hospital, at=f"1{i}:00"))
    SchedulingEvent.objects.update(outcome=SchedulingOutcome.COMPLETED)
    counts = race(lambda _: events.export_pending(limit=4), range(2))
    assert all(isinstance(count, int) for count in counts), counts
    counts.append(events.export_pending())
    rows = [json.loads(line) for body in _exported_objects() for line in body.splitlines()]
    ids = [r["event_id"] for r in rows]
    assert sum(counts) == 6 and len(ids) == 6 and len(set(ids)) == 6


def test_exported_events_stay_readable_once_the_lifecycle_moves_them(hospital, department, caplog):
    """The training-data bucket's lifecycle moves old days to a class S3 reads at once; a day an
    older rule put in GLACIER (readable only after a restore) is left out and counted, and the
    fit still runs on the rest."""
    s3 = aws_client("s3")
    rules = s3.get_bucket_lifecycle_configuration(Bucket=settings.ML_TRAINING_DATA_BUCKET)["Rules"]
    (aging,) = [rule for rule in rules if rule.get("Transitions")]
    coldest = aging["Transitions"][-1]["StorageClass"]
    row = {"event_id": "e1", "requested_at": "2030-01-01T10:00:00+00:00", "urgency": 5, "lead_minutes": 60,
           "outcome": "completed"}
    for day, storage_class in (("2030-01-01", coldest), ("2030-01-02", "GLACIER")):
        s3.put_object(Bucket=settings.ML_TRAINING_DATA_BUCKET, Key=f"{events.PREFIX}/date={day}/part.jsonl",
                      Body=(json.dumps({**row, "event_id": day}) + "\n").encode(), StorageClass=storage_class,
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=settings.ML_KMS_ALIAS)

    rows = events.read_exported()

    assert [r["event_id"] for r in rows] == ["2030-01-01"]
    assert any(getattr(r, "event", "") == "scheduling_events_archived" and r.objects == 1 for r in caplog.records)
