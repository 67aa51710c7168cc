"""Bed requests racing the department form's bed count and each other (PostgreSQL row locks): a bed
removed under a request is a 409, opposite moves and a move during a bed-count change never
deadlock, and parallel admissions to one department do not queue behind each other."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from admissions import beds
from admissions.models import AdmissionStatus, Bed, BedAssignment, BedStatus
from tests.admissions.helpers import admit
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
