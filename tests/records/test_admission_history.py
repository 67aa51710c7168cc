"""Hospital stays appear in the patient's medical record (the patient shape: no staff notes)."""

from __future__ import annotations

import pytest

from admissions import services
from tests.admissions.helpers import admit, ward
from tests.factories import make_hospital_admin
from tests.records.conftest import MED_HEADER, RECORD_URL

pytestmark = pytest.mark.django_db


def test_admission_history_in_the_medical_record(open_record, patient, hospital, department):
    ward(department, code="REC", beds=2)
    admin = make_hospital_admin(hospital=hospital)
    stay = admit(actor=admin, patient=patient, department=department, staff_notes="Staff only",
                 diagnosis="Pneumonia")
    services.admission_discharge(actor=admin, admission=stay, discharge_summary="Recovered",
                                 followup_instructions="Clinic in two weeks")
    client, token = open_record(patient)
    data = client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]
    assert [a["admission_id"] for a in data["admissions"]] == [stay.admission_id]
    shown = data["admissions"][0]
    assert shown["status"] == "discharged" and shown["diagnosis"] == "Pneumonia"
    assert shown["discharge_summary"] == "Recovered" and shown["department_name"] == department.name
    assert "additional_notes" not in shown and "Staff only" not in str(shown)


def test_no_admissions_is_an_empty_list(open_record, patient):
    client, token = open_record(patient)
    assert client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]["admissions"] == []
