"""In the Django admin a ward where patients hold beds is neither closed nor moved to another
department or hospital, and a ward stays in its department's hospital."""

from __future__ import annotations

import pytest

from admissions.models import Ward
from tests.admissions.helpers import admit
from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin

pytestmark = pytest.mark.django_db
WARDS = "/admin/admissions/ward/"


def _form(ward: Ward, **changes) -> dict:
    form = {"hospital": ward.hospital_id, "department": ward.department_id, "name": ward.name, "code": ward.code,
            "ward_type": ward.ward_type, "floor": ward.floor, "wing": ward.wing, "is_active": "on",
            "beds-TOTAL_FORMS": 0, "beds-INITIAL_FORMS": 0, "beds-MIN_NUM_FORMS": 0, "beds-MAX_NUM_FORMS": 1000}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _save(client, ward: Ward, **changes):
    return client.post(f"{WARDS}{ward.pk}/change/", _form(ward, **changes))


def test_a_ward_holding_a_patient_is_not_closed_or_moved(staff_client, department, general_ward, patient):
    admit(actor=make_hospital_admin(hospital=department.hospital), patient=patient, department=department)
    other_department = DepartmentFactory(hospital=department.hospital, name="Surgery", department_type="surgery")

    for changes in ({"is_active": None}, {"department": other_department.pk}):
        page = _save(staff_client, general_ward, **changes)
        assert page.status_code == 200, changes  # the form again, with the reason
        assert "1 patient(s) hold beds in this ward" in page.content.decode()
        stored = Ward.objects.get(pk=general_ward.pk)
        assert stored.is_active is True and stored.department_id == department.pk

    assert _save(staff_client, general_ward, name="Ward A (east)").status_code == 302  # other edits still save
    assert Ward.objects.get(pk=general_ward.pk).name == "Ward A (east)"


def test_an_empty_ward_closes_and_moves_but_stays_in_its_departments_hospital(staff_client, department, general_ward):
    assert _save(staff_client, general_ward, is_active=None).status_code == 302
    assert Ward.objects.get(pk=general_ward.pk).is_active is False

    elsewhere = DepartmentFactory(hospital=HospitalFactory(), name="Surgery", department_type="surgery")
    page = _save(staff_client, Ward.objects.get(pk=general_ward.pk), department=elsewhere.pk, is_active=None)
    assert page.status_code == 200 and "This department belongs to another hospital." in page.content.decode()
    assert Ward.objects.get(pk=general_ward.pk).department_id == department.pk
