"""A deactivated department admits nobody: its beds are no part of the hospital's capacity or of the
dashboard's occupancy (as the BedOccupancy metric already leaves them out)."""

from __future__ import annotations

import pytest

from admissions.capacity import set_department_beds
from tests.admissions.helpers import admit
from tests.factories import DepartmentFactory, make_patient
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


def test_beds_of_a_closed_department_count_nowhere(hospital_admin, department):
    set_department_beds(department=department, general=4, icu=None)
    closed = DepartmentFactory(hospital=department.hospital, name="Old wing", department_type="medical")
    set_department_beds(department=closed, general=10, icu=2)
    admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department)
    client = client_for(hospital_admin)
    off = client.patch(f"/api/hospitals/departments/{closed.pk}/update/", {"is_active": False}, format="json")
    assert off.status_code == 200, off.json()

    dashboard = client.get("/api/admissions/dashboard/").json()
    assert (dashboard["beds"]["total"], dashboard["beds"]["occupied"], dashboard["beds"]["icu_total"]) == (4, 1, 0)
    assert dashboard["beds"]["utilization_rate"] == 25.0
    assert [d["department_id"] for d in dashboard["occupancy_by_department"]] == [department.pk]
    assert {w["department_id"] for w in dashboard["occupancy_by_ward"]} == {department.pk}

    mine = {h["id"]: h for h in client.get("/api/hospitals/").json()["hospitals"]}[department.hospital_id]
    assert (mine["bed_capacity"], mine["icu_unit"]) == (4, False)

    on = client.patch(f"/api/hospitals/departments/{closed.pk}/update/", {"is_active": True}, format="json")
    assert on.status_code == 200
    assert client.get("/api/admissions/dashboard/").json()["beds"]["total"] == 16
