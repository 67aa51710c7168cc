"""The medical record's ``admissions`` are the newest stays up to a bound (200), and when the
patient has more, ``admissions_total`` beside them says how many: never cut silently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from admissions import selectors
from admissions.models import Admission, AdmissionStatus
from tests.records.conftest import MED_HEADER, RECORD_URL

pytestmark = pytest.mark.django_db


def _stays(patient, department, count: int) -> list[str]:
    """``count`` past stays of the patient, their ``admission_id`` newest first."""
    now = timezone.now()
    rows = [Admission(hospital=department.hospital, department=department, patient=patient,
                      status=AdmissionStatus.DISCHARGED, reason_for_admission="Observation",
                      admission_id=f"ADM-HIST-{n}", created_at=now - timedelta(days=10 * (n + 1)),
                      admitted_at=now - timedelta(days=10 * (n + 1)), discharged_at=now - timedelta(days=10 * n + 5))
            for n in range(count)]
    Admission.objects.bulk_create(rows)
    return [row.admission_id for row in rows]


def test_the_bound_is_200():
    assert selectors.RECORD_ADMISSIONS_MAX == 200


def test_under_the_bound_every_stay_and_no_total(open_record, patient, department, monkeypatch):
    monkeypatch.setattr(selectors, "RECORD_ADMISSIONS_MAX", 5)
    newest_first = _stays(patient, department, 5)
    client, token = open_record(patient)
    data = client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]
    assert [a["admission_id"] for a in data["admissions"]] == newest_first
    assert "admissions_total" not in data  # the body the frontend knows


def test_over_the_bound_the_newest_and_the_true_total(open_record, patient, department, monkeypatch):
    monkeypatch.setattr(selectors, "RECORD_ADMISSIONS_MAX", 3)
    newest_first = _stays(patient, department, 7)
    client, token = open_record(patient)
    data = client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]
    assert [a["admission_id"] for a in data["admissions"]] == newest_first[:3]
    assert data["admissions_total"] == 7
    keys = list(data)
    assert keys[-2:] == ["admissions", "admissions_total"]
    assert "admissions" not in client.get(f"{RECORD_URL}?view=list", **{MED_HEADER: token}).json()


def test_another_patients_stays_are_not_counted(open_record, patient, other_patient, department, monkeypatch):
    monkeypatch.setattr(selectors, "RECORD_ADMISSIONS_MAX", 2)
    _stays(other_patient, department, 4)
    client, token = open_record(patient)
    data = client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]
    assert data["admissions"] == [] and "admissions_total" not in data
