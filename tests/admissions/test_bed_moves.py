"""Moving a patient to "any free bed" and discharging after a move: the move always changes the
bed (or is refused), and the discharge time keeps the bed history in order."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from admissions.models import Admission, AdmissionStatus, Bed, BedAssignment, BedStatus, Ward
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


def _modal_form(client, ref) -> dict:
    """What PatientDetailModal sends back on "Save Changes": the detail as it read it."""
    got = client.get(f"/api/admissions/{ref}/").json()
    return {"status": got["status"], "diagnosis": got["diagnosis"] or "", "bed_identifier": got["bed_identifier"] or "",
            "is_icu_bed": got["is_icu_bed"], "discharge_summary": got["discharge_summary"] or "",
            "followup_instructions": got["followup_instructions"] or ""}


def test_beds_named_with_spaces_or_hyphens_are_found_and_kept(hospital_admin, patient, department):
    """A ward coded ``MED A`` (the admin site takes any code) and beds numbered ``Bay 1`` and
    ``B-2``: the edit modal's save keeps the patient in her bed, and a move names either bed as
    the page shows it, in any case and spacing."""
    bay = Ward.objects.create(hospital=department.hospital, department=department, name="Bay ward", code="MED A")
    Bed.objects.bulk_create([Bed(ward=bay, number="Bay 1"), Bed(ward=bay, number="B-2")])
    stay = admit(actor=hospital_admin, patient=patient, department=department)
    client = client_for(hospital_admin)
    ref = stay.admission_id
    form = _modal_form(client, ref)
    assert form["bed_identifier"] == "MED A-B-2"  # the shorter number first
    saved = client.patch(f"/api/admissions/{ref}/", {**form, "diagnosis": "Community-acquired pneumonia"},
                         format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["bed_identifier"] == "MED A-B-2" and saved.json()["diagnosis"].startswith("Community")
    assert BedAssignment.objects.filter(admission=stay).count() == 1

    moved = client.post(f"/api/admissions/{ref}/transfer/", {"bed_identifier": "med a-bay 1"}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["bed_identifier"] == "MED A-Bay 1"
    saved = client.patch(f"/api/admissions/{ref}/", {**_modal_form(client, ref), "diagnosis": "Pneumonia"},
                         format="json")
    assert saved.status_code == 200, saved.json()
    back = client.patch(f"/api/admissions/{ref}/", {**_modal_form(client, ref), "bed_identifier": "MEDA-B-2"},
                        format="json")
    assert back.status_code == 200, back.json()
    assert back.json()["bed_identifier"] == "MED A-B-2"
    assert _history(client, ref) == [("MED A-B-2", "transfer"), ("MED A-Bay 1", "transfer"), ("MED A-B-2", "")]
    assert {b.number: b.status for b in bay.beds.all()} == {"Bay 1": BedStatus.AVAILABLE, "B-2": BedStatus.OCCUPIED}
    by_number = client.post(f"/api/admissions/{ref}/transfer/", {"bed_identifier": "bay1"}, format="json")
    assert by_number.status_code == 200 and by_number.json()["bed_identifier"] == "MED A-Bay 1", by_number.json()
    unknown = client.post(f"/api/admissions/{ref}/transfer/", {"bed_identifier": "MED A-Bay 9"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["code"] == "bed_not_found"
