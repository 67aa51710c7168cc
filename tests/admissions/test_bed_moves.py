"""Moving a patient to "any free bed" and discharging after a move: the move always changes the
bed (or is refused), and the discharge time keeps the bed history in order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from admissions.models import Admission, AdmissionStatus, Bed, BedAssignment, BedStatus
from tests.admissions.helpers import admit, ward
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _history(client, ref):
    return [(h["bed_identifier"], h["release_reason"])
            for h in client.get(f"/api/admissions/{ref}/").json()["bed_history"]]


def test_a_move_to_any_free_bed_takes_another_bed(hospital_admin, patient, department, general_ward):
    """The bed given back is the first free bed of the ward again: the move must not take it."""
    stay = admit(actor=hospital_admin, patient=patient, department=department)
    assert stay.bed.identifier == "GEN-A-1"
    client = client_for(hospital_admin)
    moved = client.post(f"/api/admissions/{stay.admission_id}/transfer/", {"is_icu_bed": False}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["bed_identifier"] == "GEN-A-2"
    assert _history(client, stay.admission_id) == [("GEN-A-1", "transfer"), ("GEN-A-2", "")]
    assert Bed.objects.get(ward=general_ward, number="1").status == BedStatus.AVAILABLE
    assert Bed.objects.get(ward=general_ward, number="2").status == BedStatus.OCCUPIED


def test_a_move_to_any_free_bed_with_no_other_free_bed_is_a_409(hospital_admin, patient, department):
    ward(department, code="ONE", beds=1)
    stay = admit(actor=hospital_admin, patient=patient, department=department)
    client = client_for(hospital_admin)
    refused = client.post(f"/api/admissions/{stay.admission_id}/transfer/", {"is_icu_bed": False}, format="json")
    assert refused.status_code == 409, refused.json()
    body = refused.json()
    assert body["code"] == "no_bed_available"
    assert body["message"] == (f"No other general bed is available in {department.name} right now: "
                               "the patient stays in bed ONE-1.")
    assert _history(client, stay.admission_id) == [("ONE-1", "")]  # nothing changed
    assert Bed.objects.get(ward__code="ONE").status == BedStatus.OCCUPIED
    assert Admission.objects.get(pk=stay.pk).bed.identifier == "ONE-1"


def test_a_discharge_time_before_the_last_move_is_refused(hospital_admin, patient, department, general_ward):
    stay = admit(actor=hospital_admin, patient=patient, department=department, assign_bed=False)
    client = client_for(hospital_admin)
    admitted_at = timezone.now() - timedelta(hours=2)
    assert client.post(f"/api/admissions/{stay.admission_id}/admit/", {"admitted_at": admitted_at.isoformat()},
                       format="json").status_code == 200
    assert client.post(f"/api/admissions/{stay.admission_id}/transfer/", {"bed_identifier": "GEN-A-3"},
                       format="json").status_code == 200
    moved_at = BedAssignment.objects.get(admission=stay, released_at__isnull=True).assigned_at
    early = client.post(f"/api/admissions/{stay.admission_id}/discharge/", {
        "discharge_summary": "Recovered", "discharged_at": (admitted_at + timedelta(minutes=30)).isoformat()},
        format="json")
    assert early.status_code == 400, early.json()
    body = early.json()
    assert body["code"] == "invalid_time" and body["message"].startswith("discharged_at: ")
    assert "before the patient was placed in bed GEN-A-3" in body["message"] and body["discharged_at"]
    assert Admission.objects.get(pk=stay.pk).status == AdmissionStatus.ADMITTED
    assert BedAssignment.objects.get(admission=stay, bed__number="3").released_at is None
    done = client.post(f"/api/admissions/{stay.admission_id}/discharge/", {
        "discharge_summary": "Recovered", "discharged_at": moved_at.isoformat()}, format="json")
    assert done.status_code == 200, done.json()
    assert BedAssignment.objects.get(admission=stay, bed__number="3").released_at == moved_at
