"""A backdated admission time (``admitted_at`` on admit) keeps every history in order: no bed holds
two patients at once, and no patient is in two stays at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from admissions.models import Admission, AdmissionStatus, BedAssignment, BedStatus
from tests.admissions.helpers import admit, ward
from tests.factories import make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def _discharge(client, ref):
    done = client.post(f"/api/admissions/{ref}/discharge/", {"discharge_summary": "Recovered"}, format="json")
    assert done.status_code == 200, done.json()


def _admit_at(client, ref, when, **body):
    return client.post(f"/api/admissions/{ref}/admit/", {"admitted_at": when.isoformat(), **body}, format="json")


def test_a_named_bed_cannot_be_taken_before_its_last_patient_left(hospital_admin, patient, department):
    ward(department, code="ONE", beds=1)
    client = client_for(hospital_admin)
    first = admit(actor=hospital_admin, patient=patient, department=department)
    _discharge(client, first.admission_id)
    left_at = BedAssignment.objects.get(admission=first).released_at
    second = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department,
                   assign_bed=False)

    early = _admit_at(client, second.admission_id, left_at - timedelta(hours=3), bed_identifier="ONE-1")
    assert early.status_code == 400, early.json()
    body = early.json()
    assert body["code"] == "invalid_time" and body["message"].startswith("admitted_at: bed ONE-1 was held")
    assert body["admitted_at"]
    assert Admission.objects.get(pk=second.pk).status == AdmissionStatus.PENDING
    assert not BedAssignment.objects.filter(admission=second).exists()
    assert BedAssignment.objects.get(admission=first).bed.status == BedStatus.AVAILABLE

    done = _admit_at(client, second.admission_id, left_at, bed_identifier="ONE-1")
    assert done.status_code == 200, done.json()
    assert BedAssignment.objects.get(admission=second).assigned_at == left_at


def test_any_free_bed_for_a_backdated_admission_is_one_free_since_then(hospital_admin, patient, department):
    ward(department, code="TWO", beds=2)
    client = client_for(hospital_admin)
    first = admit(actor=hospital_admin, patient=patient, department=department)
    assert first.bed.identifier == "TWO-1"
    _discharge(client, first.admission_id)
    second = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department,
                   assign_bed=False)
    done = _admit_at(client, second.admission_id, timezone.now() - timedelta(hours=3))
    assert done.status_code == 200, done.json()
    assert done.json()["bed_identifier"] == "TWO-2"  # TWO-1 held the first patient three hours ago

    third = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department,
                  assign_bed=False)
    refused = _admit_at(client, third.admission_id, timezone.now() - timedelta(hours=3))
    assert refused.status_code == 409 and refused.json()["code"] == "no_bed_available", refused.json()
    assert Admission.objects.get(pk=third.pk).status == AdmissionStatus.PENDING
    left_at = BedAssignment.objects.get(admission=first).released_at
    later = _admit_at(client, third.admission_id, left_at)
    assert later.status_code == 200 and later.json()["bed_identifier"] == "TWO-1", later.json()


def test_a_patient_cannot_be_admitted_before_her_previous_stay_ended(hospital_admin, patient, department):
    ward(department, code="THREE", beds=2)
    client = client_for(hospital_admin)
    first = admit(actor=hospital_admin, patient=patient, department=department)
    _discharge(client, first.admission_id)
    ended = Admission.objects.get(pk=first.pk).discharged_at
    again = admit(actor=hospital_admin, patient=patient, department=department, assign_bed=False)
    early = _admit_at(client, again.admission_id, ended - timedelta(hours=1), bed_identifier="THREE-2")
    assert early.status_code == 400, early.json()
    assert early.json()["message"].startswith("admitted_at: the patient's previous stay ended")
    assert Admission.objects.get(pk=again.pk).status == AdmissionStatus.PENDING
