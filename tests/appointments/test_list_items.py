"""The patient's appointment list served from items kept in the rows (``appointments.list_items``):
the same bytes as rendering every row, and never an item older than what it shows."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test import override_settings

from accounts.models import User
from appointments import list_items, rows
from appointments.models import Appointment
from hospitals.models import Department, Hospital
from phb.api.renderers import dumps
from tests.concurrency import race
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="items are kept on PostgreSQL only")

ZONES = ["Africa/Lagos", "Europe/London", "America/St_Johns", "Asia/Kolkata"]


def _make(patient, *, count: int, hospital=None, department=None, doctor=None, day: int = 0) -> list[Appointment]:
    made = []
    base = datetime(2031, 3, 30, 23, 30, tzinfo=ZoneInfo("UTC"))  # London's clocks change that night
    for n in range(count):
        h = hospital or HospitalFactory(time_zone=ZONES[n % len(ZONES)])
        d = department or DepartmentFactory(hospital=h)
        doc = doctor if doctor is not None else (None if n % 3 == 0 else make_doctor(department=d, full_name=f"Ngozi {n}"))
        start = base + timedelta(days=day, hours=7 * n, minutes=15 * (n % 4))
        made.append(Appointment.objects.create(
            patient=patient, hospital=h, department=d, doctor=doc, start=start, end=start + timedelta(minutes=30 + n % 3 * 15),
            status=["pending", "confirmed", "cancelled", "completed"][n % 4],
            appointment_type=["consultation", "video_consultation", "follow_up"][n % 3],
            priority=["normal", "urgent"][n % 2], fee_amount=Decimal(["0", "2000.5", "12345.67"][n % 3]),
            chief_complaint=f"complaint {n} “quoted” \u2028 line", symptoms_data=[{"n": n, "é": True}] if n % 2 else [],
            cancellation_reason="moved" if n % 4 == 2 else "", reschedule_count=n % 2,
        ))
    return made


def _list(user, query: str = "?limit=500") -> bytes:
    response = client_for(user).get(f"/api/appointments/{query}")
    assert response.status_code == 200, response.content
    return response.content


def _rendered(user, query: str = "?limit=500") -> bytes:
    with override_settings(APPOINTMENT_LIST_ITEMS_KEPT=False):
        return _list(user, query)


def _kept(pk) -> str | None:
    return Appointment.objects.filter(pk=pk).values_list("list_item", flat=True).get()


def _version(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text || '/' || ctid::text FROM appointments_appointment WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _current_item(pk) -> str:
    """What the row's item would be if it were rendered now."""
    row = rows.patient_rows(Appointment.objects.filter(pk=pk)).get()
    return list_items.prefix() + dumps(rows.patient_item(row)).decode()


@postgres
def test_kept_items_answer_byte_for_byte_as_rendered_rows():
    patient = make_patient()
    made = _make(patient, count=24)
    expected = _rendered(patient)
    assert all(_kept(a.pk) is None for a in made)
    assert _list(patient) == expected  # rendered and kept
    assert all(_kept(a.pk) == _current_item(a.pk) for a in made)
    assert _list(patient) == expected  # every item as kept
    # pages through the cursor, as kept and as rendered
    assert _list(patient, "?limit=5") == _rendered(patient, "?limit=5")
    first = client_for(patient).get("/api/appointments/?limit=5")
    cursor = first.headers["X-Next-Cursor"]
    assert _list(patient, f"?limit=5&cursor={cursor}") == _rendered(patient, f"?limit=5&cursor={cursor}")


@postgres
def test_a_page_mixes_kept_and_rendered_items():
    patient = make_patient()
    made = _make(patient, count=9)
    expected = _rendered(patient)
    _list(patient)
    Appointment.objects.filter(pk__in=[made[1].pk, made[5].pk]).update(reschedule_count=7)
    assert _kept(made[1].pk) is None and _kept(made[0].pk) is not None
    assert _list(patient) != expected  # the changed rows show their change
    assert _list(patient) == _rendered(patient)


def _saved(obj, **values) -> None:
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save()


def _raw_update(pk) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_appointment SET status = 'no_show' WHERE id = %s", [pk])


# Each change, given (the appointment, its hospital, department and doctor); the last four touch
# every appointment that shows the changed name.
CHANGES = {
    "save": lambda a, h, d, doc: _saved(a, status="cancelled"),
    "queryset_update": lambda a, h, d, doc: Appointment.objects.filter(pk=a.pk).update(chief_complaint="changed"),
    "doctor_assigned": lambda a, h, d, doc: Appointment.objects.filter(pk=a.pk).update(
        doctor=make_doctor(department=d, full_name="Second")),
    "raw_sql": lambda a, h, d, doc: _raw_update(a.pk),
    "hospital_name": lambda a, h, d, doc: Hospital.objects.filter(pk=h.pk).update(name="Renamed General"),
    "hospital_time_zone": lambda a, h, d, doc: _saved(h, time_zone="Europe/London"),
    "department_name": lambda a, h, d, doc: Department.objects.filter(pk=d.pk).update(name="Renamed Clinic"),
    "doctor_name": lambda a, h, d, doc: User.objects.filter(pk=doc.pk).update(full_name="Ada Obi-Eze"),
}
SHARED = ("hospital_name", "hospital_time_zone", "department_name", "doctor_name")


@postgres
@pytest.mark.parametrize("change", list(CHANGES))
def test_every_change_to_what_an_item_shows_clears_it(change):
    patient = make_patient()
    hospital = HospitalFactory(time_zone="Africa/Lagos")
    department = DepartmentFactory(hospital=hospital)
    doctor = make_doctor(department=department, full_name="Ada Obi")
    mine = _make(patient, count=3, hospital=hospital, department=department, doctor=doctor)
    elsewhere = _make(patient, count=2, day=100)  # other hospitals, departments and doctors
    _list(patient)
    target = mine[0]
    CHANGES[change](target, hospital, department, doctor)
    cleared = [a for a in mine if _kept(a.pk) is None]
    assert target in cleared
    if change in SHARED:
        assert cleared == mine
    assert all(_kept(a.pk) is not None for a in elsewhere)
    assert _list(patient) == _rendered(patient)
    assert all(_kept(a.pk) == _current_item(a.pk) for a in mine + elsewhere)


@postgres
def test_an_unrelated_change_keeps_items():
    patient = make_patient()
    made = _make(patient, count=2)
    _list(patient)
    before = [_kept(a.pk) for a in made]
    User.objects.filter(pk=patient.pk).update(last_login=datetime.now(ZoneInfo("UTC")))
    Hospital.objects.filter(pk=made[0].hospital_id).update(phone="+2341234567")
    assert [_kept(a.pk) for a in made] == before


@postgres
def test_only_the_list_writes_an_item():
    patient = make_patient()
    (appointment,) = _make(patient, count=1)
    _list(patient)
    kept = _kept(appointment.pk)
    loaded = Appointment.objects.get(pk=appointment.pk)
    assert loaded.list_item == kept
    loaded.list_item = kept.replace("complaint", "forged")
    loaded.save(update_fields=["list_item"])
    Appointment.objects.filter(pk=appointment.pk).update(list_item=list_items.prefix() + '{"forged":1}')
    assert _kept(appointment.pk) == kept
    # an instance loaded with its item, saved back after a rename cleared it, does not restore it
    Hospital.objects.filter(pk=appointment.hospital_id).update(name="New name")
    assert _kept(appointment.pk) is None
    loaded.list_item = kept
    loaded.save(update_fields=["list_item"])
    assert _kept(appointment.pk) is None


@postgres
def test_a_fill_onto_a_row_changed_since_it_was_read_writes_nothing():
    patient = make_patient()
    (appointment,) = _make(patient, count=1)
    read_version = _version(appointment.pk)
    item = _current_item(appointment.pk)
    Appointment.objects.filter(pk=appointment.pk).update(status="cancelled")
    assert list_items.keep([(appointment.pk, read_version, item)], using="default") == 0
    assert _kept(appointment.pk) is None
    assert list_items.keep([(appointment.pk, _version(appointment.pk), _current_item(appointment.pk))],
                           using="default") == 1
    assert _kept(appointment.pk) == _current_item(appointment.pk)


@postgres
def test_an_item_of_another_format_is_rendered_again():
    patient = make_patient()
    (appointment,) = _make(patient, count=1)
    stale = "0123456789ab:" + '{"id":"stale"}'
    assert list_items.keep([(appointment.pk, _version(appointment.pk), stale)], using="default") == 1
    assert _list(patient) == _rendered(patient)
    assert _kept(appointment.pk) == _current_item(appointment.pk)
    with override_settings(DEFAULT_HOSPITAL_TIME_ZONE="Europe/London"):
        assert list_items.prefix() != _kept(appointment.pk)[:13]


@pytest.mark.django_db(transaction=True)
@postgres
def test_a_fill_never_waits_for_a_row_another_transaction_holds():
    patient = make_patient()
    (appointment,) = _make(patient, count=1)
    version, item = _version(appointment.pk), _current_item(appointment.pk)
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                Appointment.objects.select_for_update().get(pk=appointment.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    started = time.monotonic()
    written = list_items.keep([(appointment.pk, version, item)], using="default")
    waited = time.monotonic() - started
    release.set()
    thread.join(10)
    assert written == 0 and waited < 2
    assert list_items.keep([(appointment.pk, version, item)], using="default") == 1


@pytest.mark.django_db(transaction=True)
@postgres
def test_racing_reads_and_writes_leave_no_stale_item():
    """Eight readers list the appointments while eight writers change them: afterwards every kept
    item is the rendering of its row as it is."""
    patient = make_patient()
    made = _make(patient, count=6)
    ids = [a.pk for a in made]

    def attempt(racer):
        kind, n = racer
        for round_ in range(15):
            if kind == "read":
                _list(patient)
            else:
                Appointment.objects.filter(pk=ids[(n + round_) % len(ids)]).update(
                    reschedule_count=(n * 15 + round_) % 100, cancellation_reason=f"r{n}-{round_}")
        return "ok"

    outcomes = race(attempt, [("read", n) for n in range(8)] + [("write", n) for n in range(8)])
    assert outcomes == ["ok"] * 16, outcomes
    kept = [pk for pk in ids if _kept(pk) is not None]
    for pk in kept:
        assert _kept(pk) == _current_item(pk)
    assert _list(patient) == _rendered(patient)


@postgres
def test_another_patient_and_an_anonymous_caller_see_none_of_the_kept_items():
    patient, other = make_patient(), make_patient()
    made = _make(patient, count=3)
    _list(patient)
    assert all(_kept(a.pk) for a in made)
    assert client_for(other).get("/api/appointments/").json() == []
    assert client_for(None).get("/api/appointments/").status_code == 401


@postgres
def test_an_indented_answer_parses_to_the_same_items():
    patient = make_patient()
    _make(patient, count=3)
    compact = client_for(patient).get("/api/appointments/").json()
    indented = client_for(patient).get("/api/appointments/", HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200 and b"\n  " in indented.content
    assert indented.json() == compact


def test_without_postgresql_or_when_switched_off_items_are_rendered_and_none_kept():
    patient = make_patient()
    made = _make(patient, count=3)
    with override_settings(APPOINTMENT_LIST_ITEMS_KEPT=False):
        body = _list(patient)
    assert len(body) > 100
    assert all(_kept(a.pk) is None for a in made)
    if connection.vendor != "postgresql":
        assert _list(patient) == body
        assert all(_kept(a.pk) is None for a in made)


# The bytes ``patient_item`` renders for one fixed row. When this changes, kept items of the old
# format must not be served: raise ``list_items.ITEM_FORMAT`` and record the new digest here.
GOLDEN = (1, "ce360d5df51fb1f7c02a6628f743a6bf26299467f88d1dfb284a25464512ec6a")


def test_item_format_is_raised_when_the_item_changes():
    zone = "Europe/London"
    row = {
        "id": uuid.UUID(int=1), "appointment_id": "APT-00000001", "start": datetime(2031, 3, 30, 0, 30, tzinfo=ZoneInfo("UTC")),
        "end": datetime(2031, 3, 30, 1, 15, tzinfo=ZoneInfo("UTC")), "appointment_type": "video_consultation",
        "status": "in_progress", "priority": "urgent", "doctor_id": uuid.UUID(int=2), "doctor__full_name": "Ngozi Obi",
        "hospital_id": uuid.UUID(int=3), "hospital__name": "General", "hospital__time_zone": zone,
        "department_id": uuid.UUID(int=4), "department__name": "Cardiology", "chief_complaint": "chest “pain”",
        "symptoms_data": [{"name": "cough", "days": 3}], "fee_amount": Decimal("2000.5"), "currency": "NGN",
        "payment_status": "paid", "reschedule_count": 1, "cancellation_reason": "",
        "created_at": datetime(2031, 1, 2, 3, 4, 5, 6789, tzinfo=ZoneInfo("UTC")),
        "updated_at": datetime(2031, 1, 2, 3, 4, 5, tzinfo=ZoneInfo("UTC")),
    }
    variants = [row, {**row, "doctor_id": None, "doctor__full_name": None, "hospital__time_zone": ""}]
    digest = hashlib.sha256(b"\n".join(dumps(rows.patient_item(r)) for r in variants)).hexdigest()
    assert (list_items.ITEM_FORMAT, digest) == GOLDEN, (
        "patient_item renders other bytes: raise list_items.ITEM_FORMAT and record the new digest in GOLDEN")


def test_the_prefix_changes_with_the_format_the_default_zone_and_the_zone_data(monkeypatch, tmp_path):
    prefix = list_items._prefix.__wrapped__  # without the cache
    base = prefix("Africa/Lagos")
    assert list_items.prefix() == base and prefix("Europe/London") != base
    monkeypatch.setattr(list_items, "ITEM_FORMAT", list_items.ITEM_FORMAT + 1)
    assert prefix("Africa/Lagos") != base
    monkeypatch.undo()
    assert list_items.tz_data_version() not in ("", "unknown")
    (tmp_path / "tzdata.zi").write_text("# version 1999z\n", encoding="ascii")
    monkeypatch.setattr(zoneinfo, "TZPATH", (str(tmp_path / "missing"), str(tmp_path)))
    assert list_items.tz_data_version() == "1999z"
    assert prefix("Africa/Lagos") != base


@pytest.mark.django_db(transaction=True)
@postgres
def test_a_database_that_refuses_writes_still_answers_the_list(caplog):
    patient = make_patient()
    made = _make(patient, count=3)
    expected = _rendered(patient)
    client = client_for(patient)  # signing in writes; listing must not have to
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION default_transaction_read_only = on")
    try:
        assert client.get("/api/appointments/?limit=500").content == expected
        with transaction.atomic():  # inside a caller's transaction, which stays usable
            assert client.get("/api/appointments/?limit=500").content == expected
            assert Appointment.objects.filter(patient=patient).count() == 3
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION default_transaction_read_only = off")
    assert all(_kept(a.pk) is None for a in made)
    assert any(getattr(r, "event", None) == "appointment_list_items_not_kept" for r in caplog.records)
    assert _list(patient) == expected
    assert all(_kept(a.pk) == _current_item(a.pk) for a in made)
