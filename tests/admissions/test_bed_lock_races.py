"""Bed requests racing the department form's bed count and each other (PostgreSQL row locks): a bed
removed under a request is a 409, opposite moves and a move during a bed-count change never
deadlock, and parallel admissions to one department do not queue behind each other."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError, close_old_connections, connection, transaction

from admissions import beds, services
from admissions.capacity import set_department_beds
from admissions.models import Admission, AdmissionStatus, Bed, BedAssignment, BedStatus
from hospitals import departments
from tests.admissions.helpers import admit, ward
from tests.concurrency import race
from tests.factories import make_patient
from tests.helpers import client_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks"),
]


def _in_thread(target) -> dict[str, object]:
    """Runs ``target()`` in a thread with its own connection; returns what it returned or raised."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except Exception as exc:  # the caller's assertions show it
            outcome["error"] = exc
        finally:
            close_old_connections()
            connection.close()

    thread = threading.Thread(target=run)
    outcome["thread"] = thread
    thread.start()
    return outcome


def _lower_beds(admin, department, total: int):
    response = client_for(admin).patch(f"/api/hospitals/departments/{department.pk}/update/",
                                       {"total_beds": total}, format="json")
    return response.status_code, response.json()


# --- 1. A named bed removed between its lookup and its lock ------------------------------------
def _remove_before_lock(monkeypatch, admin, department, *, bed: str, total: int) -> dict[str, object]:
    """The request has found bed ``bed`` (``<ward code>-<number>``); before it locks it, the admin
    lowers the department's bed count (which deletes free beds), and that commits first."""
    lock = beds.lock_bed
    done: dict[str, object] = {}

    def remove_then_lock(found):
        if found.identifier == bed and not done:
            outcome = _in_thread(lambda: _lower_beds(admin, department, total))
            outcome["thread"].join(timeout=30)
            done.update(outcome)
        return lock(found)

    monkeypatch.setattr(beds, "lock_bed", remove_then_lock)
    return done


def test_admitting_into_a_bed_removed_under_the_request_is_a_409(monkeypatch, hospital_admin, patient, department,
                                                                  general_ward):
    stay = admit(actor=hospital_admin, patient=patient, department=department, assign_bed=False)
    removal = _remove_before_lock(monkeypatch, hospital_admin, department, bed="GEN-A-3", total=2)
    response = client_for(hospital_admin).post(f"/api/admissions/{stay.admission_id}/admit/",
                                               {"bed_identifier": "GEN-A-3"}, format="json")

    assert removal["result"][0] == 200, removal
    assert not Bed.objects.filter(ward=general_ward, number="3").exists()  # the free bed was deleted
    assert response.status_code == 409, response.content[:300]
    assert response.json()["code"] == "bed_removed"
    assert response.json()["message"] == "Bed GEN-A-3 no longer exists: it was just removed. Choose another bed."
    stay.refresh_from_db()
    assert stay.status == AdmissionStatus.PENDING and stay.bed_id is None
    assert not BedAssignment.objects.filter(admission=stay).exists()


def test_moving_into_a_bed_removed_under_the_request_is_a_409(monkeypatch, hospital_admin, patient, department,
                                                               general_ward, icu_ward):
    stay = admit(actor=hospital_admin, patient=patient, department=department, icu=True)
    assert stay.bed.identifier == "ICU-1-1"
    # 2 general beds and the ICU bed
    removal = _remove_before_lock(monkeypatch, hospital_admin, department, bed="GEN-A-3", total=3)
    response = client_for(hospital_admin).post(f"/api/admissions/{stay.admission_id}/transfer/",
                                               {"bed_identifier": "GEN-A-3"}, format="json")

    assert removal["result"][0] == 200, removal
    assert not Bed.objects.filter(ward=general_ward, number="3").exists()
    assert response.status_code == 409, response.content[:300]
    assert response.json()["message"] == "Bed GEN-A-3 no longer exists: it was just removed. Choose another bed."
    stay.refresh_from_db()
    assert stay.bed.identifier == "ICU-1-1"  # nothing changed: the patient stays where she was
    assert list(BedAssignment.objects.filter(admission=stay).values_list("bed__number", "released_at")) == [("1", None)]
    assert Bed.objects.get(pk=stay.bed_id).status == BedStatus.OCCUPIED


# --- 2. Moves and bed-count changes take bed locks in one order: no deadlock ---------------------
def _consistent(department) -> None:
    """No bed holds two patients, every admitted patient holds one occupied bed, every occupied bed
    one admitted patient."""
    open_ = BedAssignment.objects.filter(bed__ward__department=department, released_at__isnull=True)
    held = sorted(open_.values_list("bed_id", flat=True))
    assert len(held) == len(set(held))
    admitted = Admission.objects.filter(department=department, status=AdmissionStatus.ADMITTED)
    assert sorted(admitted.values_list("bed_id", flat=True)) == held
    assert sorted(Bed.objects.filter(ward__department=department, status=BedStatus.OCCUPIED)
                  .values_list("pk", flat=True)) == held


def test_opposite_moves_do_not_deadlock(monkeypatch, hospital_admin, department, general_ward):
    """Patient A moves from bed 1 to bed 2 while patient B moves from bed 2 to bed 1; both reach the
    lock of the bed they ask for at the same moment."""
    a = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department)
    b = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department)
    assert (a.bed.identifier, b.bed.identifier) == ("GEN-A-1", "GEN-A-2")
    both_there = threading.Barrier(2)
    asking = threading.local()
    lock = beds.lock_bed

    def meet_then_lock(found):
        if found.identifier == getattr(asking, "bed", None):
            try:
                both_there.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass
        return lock(found)

    monkeypatch.setattr(beds, "lock_bed", meet_then_lock)

    def move(racer):
        stay, target = racer
        asking.bed = target
        response = client_for(hospital_admin).post(f"/api/admissions/{stay.admission_id}/transfer/",
                                                   {"bed_identifier": target}, format="json")
        return response.status_code, response.json().get("code")

    outcomes = race(move, [(a, "GEN-A-2"), (b, "GEN-A-1")])
    # Each asked for a bed the other holds: each is refused (409) once the other is done, never a 503.
    assert outcomes == [(409, "bed_unavailable"), (409, "bed_unavailable")], outcomes
    assert (Admission.objects.get(pk=a.pk).bed.identifier, Admission.objects.get(pk=b.pk).bed.identifier) == (
        "GEN-A-1", "GEN-A-2")
    _consistent(department)


@pytest.mark.parametrize("icu_ward_first, start, target, form", [
    (False, "GEN-A-1", "GEN-A-3", {"total_beds": 4}),                   # a general move, a general bed removed
    (True, "ICU-1-1", "GEN-A-3", {"total_beds": 4, "icu_beds": 1}),     # ICU to general, both kinds changed
])
def test_a_move_during_a_bed_count_change_does_not_deadlock(monkeypatch, hospital_admin, patient, department,
                                                            icu_ward_first, start, target, form):
    """The admin saves the department form (which locks the department's beds) just before the move
    locks the bed it asked for."""
    for code in (["ICU-1", "GEN-A"] if icu_ward_first else ["GEN-A", "ICU-1"]):
        ward(department, code=code, beds=3 if code == "GEN-A" else 2, ward_type="icu" if code == "ICU-1" else "general")
    stay = admit(actor=hospital_admin, patient=patient, department=department, icu=start.startswith("ICU"))
    assert stay.bed.identifier == start
    lock = beds.lock_bed
    saving: dict[str, object] = {}

    def save_form_then_lock(found):
        if found.identifier == target and not saving:
            saving["form"] = _in_thread(lambda: client_for(hospital_admin).patch(
                f"/api/hospitals/departments/{department.pk}/update/", form, format="json"))
            time.sleep(1.0)  # the form's transaction takes its locks (or waits for one of ours)
        return lock(found)

    monkeypatch.setattr(beds, "lock_bed", save_form_then_lock)
    moved = client_for(hospital_admin).post(f"/api/admissions/{stay.admission_id}/transfer/", {
        "bed_identifier": target, "is_icu_bed": target.startswith("ICU")}, format="json")
    saved = saving["form"]
    saved["thread"].join(timeout=30)

    assert moved.status_code == 200, moved.content[:300]
    assert "error" not in saved, saved
    assert saved["result"].status_code == 200, saved["result"].content[:300]
    stay.refresh_from_db()
    assert stay.bed.identifier == target
    _consistent(department)
    in_service = Bed.objects.filter(ward__department=department).exclude(status=BedStatus.OUT_OF_SERVICE)
    assert in_service.count() == form["total_beds"]


# --- 3. Admissions to one department proceed together; the bed-count change excludes them -------
def _with_lock_timeout(call, ms: int):
    """``call()`` in a transaction that waits at most ``ms`` for a row lock (then LockNotAvailable)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(ms)}ms'")
        return call()


def _lock_not_available(call) -> bool:
    try:
        _with_lock_timeout(call, 500)
    except OperationalError as exc:
        return type(exc.__cause__).__name__ == "LockNotAvailable"
    return False


def test_parallel_admissions_do_not_queue_but_a_bed_count_change_waits(monkeypatch, hospital_admin, department,
                                                                       general_ward):
    hospital = department.hospital
    inside = threading.Event()
    release = threading.Event()
    audit = services.audit_admission

    def audit_then_hold(**kwargs):
        audit(**kwargs)
        if threading.current_thread() is not threading.main_thread():  # the first admission
            inside.set()  # its department and bed locks are held until it commits
            release.wait(timeout=30)

    monkeypatch.setattr(services, "audit_admission", audit_then_hold)
    first = _in_thread(lambda: admit(actor=hospital_admin, patient=make_patient(hospital=hospital),
                                     department=department))
    try:
        assert inside.wait(timeout=30)
        second = _with_lock_timeout(lambda: admit(actor=hospital_admin, patient=make_patient(hospital=hospital),
                                                  department=department), 2000)
        assert second.status == AdmissionStatus.ADMITTED
        # The bed count and the department's closure still wait for the admission in progress.
        assert _lock_not_available(lambda: set_department_beds(department=department, general=1, icu=None))
        assert _lock_not_available(lambda: departments.department_update(department=department,
                                                                         data={"is_active": False}))
    finally:
        release.set()
        first["thread"].join(timeout=30)
    assert first["result"].status == AdmissionStatus.ADMITTED, first
    assert first["result"].bed_id != second.bed_id
    _consistent(department)
