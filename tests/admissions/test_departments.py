"""Hospital-admin department pages (O2–O5) and the new-admission modal's look-ups, with the
fields the frontend reads. Bed numbers are counted from beds, never typed in twice."""

from __future__ import annotations

import pytest

from accounts.birthdates import age_today
from admissions.models import Bed, BedStatus, Ward
from hospitals.models import Department
from tests.admissions.helpers import admit, staff_id
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import assert_private, client_for

pytestmark = pytest.mark.django_db

# hooks/useDepartmentStats.ts DepartmentData and types/department.ts Department.
DEPARTMENT_FIELDS = {
    "id", "name", "code", "department_type", "is_active", "description", "floor_number", "wing",
    "extension_number", "emergency_contact", "email", "total_beds", "occupied_beds", "available_beds", "icu_beds",
    "occupied_icu_beds", "available_icu_beds", "bed_capacity", "total_available_beds", "bed_utilization_rate",
    "current_staff_count", "minimum_staff_required", "is_understaffed", "recommended_staff_ratio",
    "staff_utilization_rate", "current_patient_count", "utilization_rate", "is_24_hours", "operating_hours",
    "appointment_duration", "max_daily_appointments", "requires_referral", "annual_budget", "budget_year",
    "budget_utilized", "budget_utilization_rate", "remaining_budget", "is_clinical", "is_support",
    "is_administrative", "is_available_for_appointments", "hospital", "hospital_name", "created_at", "updated_at",
}

FORM = {  # AddDepartmentModal's DepartmentFormData
    "name": "Paediatrics East", "code": "PED-PAE", "department_type": "pediatrics", "description": "Children",
    "floor_number": "2", "wing": "east", "extension_number": "2201", "emergency_contact": "+2348000000009",
    "email": "paeds@example.test", "is_24_hours": False,
    "operating_hours": {"monday": {"start": "08:00", "end": "17:00"}, "sunday": {"start": "00:00", "end": "00:01"}},
    "minimum_staff_required": 10, "is_active": True, "total_beds": 6, "icu_beds": 2,
}


def test_list_serves_every_field_with_bed_figures_from_beds(hospital_admin, department, general_ward, icu_ward,
                                                            patient, doctor):
    Bed.objects.filter(ward=general_ward, number="3").update(status=BedStatus.OUT_OF_SERVICE)
    admit(actor=hospital_admin, patient=patient, department=department)
    response = client_for(hospital_admin).get(f"/api/hospitals/departments/?hospital={department.hospital_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    row = body["departments"][0]
    assert DEPARTMENT_FIELDS <= set(row), DEPARTMENT_FIELDS - set(row)
    # every in-service bed, and the ICU ones among them (the out-of-service bed counts in neither)
    assert (row["total_beds"], row["occupied_beds"], row["available_beds"]) == (3, 1, 2)
    assert (row["icu_beds"], row["occupied_icu_beds"], row["available_icu_beds"]) == (1, 0, 1)
    assert row["bed_capacity"] == 3 and row["total_available_beds"] == 2
    assert row["bed_utilization_rate"] == pytest.approx(33.3)
    assert row["current_staff_count"] == 1 and row["current_patient_count"] == 1
    assert row["is_clinical"] is True


def test_list_filters_and_scope(hospital_admin, department, patient):
    DepartmentFactory(hospital=department.hospital, name="Radiology", department_type="radiology", is_active=False)
    client = client_for(hospital_admin)
    assert client.get("/api/hospitals/departments/?is_active=false").json()["departments"][0]["is_support"] is True
    assert client.get("/api/hospitals/departments/?search=radio").json()["total"] == 1
    assert client.get("/api/hospitals/departments/?department_type=radiology").json()["total"] == 1
    assert client.get("/api/hospitals/departments/?limit=1&page=2").json()["departments"][0]["name"] == "Radiology"
    past_the_end = client.get("/api/hospitals/departments/?limit=500&page=10000").json()
    assert past_the_end["departments"] == [] and past_the_end["total"] == 2
    for page in ("10001", str(2**62)):  # an offset past any bigint was a database error
        refused = client.get(f"/api/hospitals/departments/?limit=179&page={page}")
        assert refused.status_code == 400 and "page" in refused.json()["message"], page
    outsider = make_hospital_admin(hospital=HospitalFactory())
    assert client_for(outsider).get("/api/hospitals/departments/").json()["total"] == 0
    assert client_for(outsider).get(f"/api/hospitals/departments/?hospital={department.hospital_id}").status_code == 404
    assert client_for(patient).get("/api/hospitals/departments/").status_code == 404
    assert client_for(None).get("/api/hospitals/departments/").status_code == 401


def test_create_turns_bed_numbers_into_beds(hospital_admin, hospital):
    client = client_for(hospital_admin)
    response = client.post("/api/hospitals/departments/create/", FORM, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()["department"]
    assert DEPARTMENT_FIELDS <= set(created)
    assert (created["total_beds"], created["icu_beds"], created["bed_capacity"]) == (6, 2, 6)
    assert created["wing"] == "east" and created["operating_hours"]["monday"]["start"] == "08:00"
    department = Department.objects.get(pk=created["id"])
    assert Ward.objects.filter(department=department).count() == 2
    assert Bed.objects.filter(ward__department=department).count() == 6
    assert Bed.objects.filter(ward__department=department, ward__ward_type="icu").count() == 2
    dup = client.post("/api/hospitals/departments/create/", FORM, format="json")
    assert dup.status_code == 409 and "message" in dup.json()
    bad = client.post("/api/hospitals/departments/create/", {**FORM, "name": "X", "code": "X",
                                                             "department_type": "spaceship"}, format="json")
    assert bad.status_code == 400 and "department_type" in bad.json()["message"]
    hours = client.post("/api/hospitals/departments/create/", {
        **FORM, "name": "Y", "code": "Y", "operating_hours": {"monday": {"start": "17:00", "end": "08:00"}}},
        format="json")
    assert hours.status_code == 400 and "closing time" in hours.json()["message"]


@pytest.mark.parametrize("hours", [
    {"friday": {"start": "08:00", "end": [{"x": 1}]}},       # not a string (its text once sorted after the start)
    {"friday": {"start": "08:00", "end": "17:00\u000bzz"}},   # a clock followed by other text
    {"friday": {"start": "08:00", "end": "17:00\n"}},
    {"friday": {"start": 800, "end": 1700}},
    {"friday": {"start": "24:00", "end": "25:00"}},
    {"friday": {"start": "08:00", "end": "17:00", "note": "late on Fridays"}},  # would be stored and never shown
    {"funday": {"start": "08:00", "end": "17:00"}},
    {"friday": ["08:00", "17:00"]},
])
def test_operating_hours_take_only_clock_times(hospital_admin, hospital, hours):
    client = client_for(hospital_admin)
    answer = client.post("/api/hospitals/departments/create/", {**FORM, "is_24_hours": True, "operating_hours": hours},
                         format="json")
    assert answer.status_code == 400, answer.content
    assert "operating_hours" in answer.json()["message"]
    assert not Department.objects.filter(code=FORM["code"]).exists()


def test_operating_hours_keep_hours_and_minutes(hospital_admin, hospital):
    client = client_for(hospital_admin)
    hours = {"monday": {"start": "08:00:00", "end": "17:30:59"}, "tuesday": {"start": "00:00", "end": "23:59"}}
    created = client.post("/api/hospitals/departments/create/", {**FORM, "operating_hours": hours}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["department"]["operating_hours"] == {"monday": {"start": "08:00", "end": "17:30"},
                                                               "tuesday": {"start": "00:00", "end": "23:59"}}
    same = client.post("/api/hospitals/departments/create/", {
        **FORM, "name": "Z", "code": "Z", "operating_hours": {"monday": {"start": "08:00:10", "end": "08:00:50"}}},
        format="json")
    assert same.status_code == 400 and "closing time" in same.json()["message"]


def test_update_beds_deactivate_and_reactivate(hospital_admin, hospital):
    client = client_for(hospital_admin)
    created = client.post("/api/hospitals/departments/create/", FORM, format="json").json()["department"]
    url = f"/api/hospitals/departments/{created['id']}/update/"
    grown = client.patch(url, {"total_beds": 9, "description": "Children and teens"}, format="json")
    assert grown.status_code == 200 and grown.json()["department"]["total_beds"] == 9
    assert grown.json()["department"]["icu_beds"] == 2
    department = Department.objects.get(pk=created["id"])
    patient = make_patient(hospital=hospital)
    admit(actor=hospital_admin, patient=patient, department=department)
    shrunk = client.patch(url, {"total_beds": 3}, format="json")  # 1 general (in use) + 2 ICU
    assert shrunk.status_code == 200 and shrunk.json()["department"]["total_beds"] == 3
    assert shrunk.json()["department"]["occupied_beds"] == 1
    too_few = client.patch(url, {"total_beds": 2}, format="json")
    assert too_few.status_code == 409 and "only 0 are free" in too_few.json()["message"]
    odd = client.patch(url, {"total_beds": 2, "icu_beds": 3}, format="json")
    assert odd.status_code == 400 and "outnumber" in odd.json()["message"]
    refused = client.patch(url, {"is_active": False}, format="json")
    assert refused.status_code == 409 and "patient" in refused.json()["message"]
    Department.objects.filter(pk=department.pk)  # still active
    assert Department.objects.get(pk=department.pk).is_active is True
    empty = DepartmentFactory(hospital=hospital)
    off = client.patch(f"/api/hospitals/departments/{empty.pk}/update/", {"is_active": False}, format="json")
    assert off.status_code == 200 and off.json()["department"]["is_active"] is False
    on = client.patch(f"/api/hospitals/departments/{empty.pk}/update/", {"is_active": True}, format="json")
    assert on.json()["department"]["is_active"] is True
    staffed = DepartmentFactory(hospital=hospital)
    make_doctor(department=staffed)
    busy = client.patch(f"/api/hospitals/departments/{staffed.pk}/update/", {"is_active": False}, format="json")
    assert busy.status_code == 409 and "staff" in busy.json()["message"]


def test_detail_shape_and_privacy(hospital_admin, department, general_ward, icu_ward, doctor, patient):
    admit(actor=hospital_admin, patient=patient, department=department, icu=True)
    url = f"/api/hospitals/departments/{department.pk}/detail/"
    body = client_for(hospital_admin).get(url).json()
    assert body["status"] == "success" and body["department"]["id"] == department.pk
    assert body["staff_count"] == 1 and body["staff"][0]["name"] == doctor.full_name
    assert set(body["staff"][0]) >= {"id", "name", "email", "is_active"}
    assert body["patient_count"] == 1
    assert body["bed_status"] == {"total": 4, "occupied": 1, "available": 3, "icu_total": 1, "icu_occupied": 1,
                                  "icu_available": 0, "capacity": 4, "utilization_rate": 25.0}
    assert set(body["stats"]) >= {"is_understaffed", "staff_utilization", "budget_utilization", "is_clinical",
                                  "is_support", "is_administrative", "is_available_for_appointments"}
    outsider = make_hospital_admin(hospital=HospitalFactory())
    assert_private(url, owner=hospital_admin, stranger=outsider, owner_status=200)
    assert_private(f"/api/hospitals/departments/{department.pk}/update/", method="patch", data={"is_active": True},
                   stranger=outsider, owner=hospital_admin, owner_status=200)
    assert client_for(doctor).get(url).status_code == 404  # department admin is for hospital admins


def test_doctors_of_a_department_as_the_modal_reads_them(hospital_admin, department, doctor):
    other = make_doctor(department=DepartmentFactory(hospital=department.hospital))
    client = client_for(hospital_admin)
    response = client.get(f"/api/doctors/department/{department.pk}")  # no trailing slash, as the modal calls it
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [staff_id(doctor)]
    assert set(rows[0]) >= {"id", "first_name", "last_name", "specialization", "hospital"}
    assert isinstance(rows[0]["id"], int)  # the modal parseInt()s it
    assert staff_id(other) not in [r["id"] for r in client.get(f"/api/doctors/department/{department.pk}/").json()]
    outsider = make_hospital_admin(hospital=HospitalFactory())
    assert_private(f"/api/doctors/department/{department.pk}", stranger=outsider, owner=hospital_admin,
                   owner_status=200)


def test_patient_search_by_hpn(hospital_admin, patient, department):
    stranger_patient = make_patient(hospital=HospitalFactory())
    client = client_for(hospital_admin)
    rows = client.get(f"/api/patients/search/?hpn={patient.hpn[:6]}").json()
    assert patient.hpn in [r["hpn"] for r in rows]
    assert set(rows[0]) == {"id", "hpn", "first_name", "last_name", "full_name", "age", "gender"}
    assert rows[0]["age"] == age_today(patient.date_of_birth)
    assert client.get(f"/api/patients/search/?hpn={stranger_patient.hpn}").json() == []
    assert client.get("/api/patients/search/?hpn=ab").status_code == 400
    # What the API description's pattern allows is what is accepted: 3 to 20 digits, spaces anywhere.
    for refused in ("01 ", " 1 2 ", "\t123", "1" * 21):
        answer = client.get("/api/patients/search/", {"hpn": refused})
        assert answer.status_code == 400 and answer.json()["message"].startswith("hpn: "), refused
    spaced = " " + " ".join(patient.hpn.replace(" ", "")[:6]) + " "
    assert patient.hpn in [r["hpn"] for r in client.get("/api/patients/search/", {"hpn": spaced}).json()]
    assert client_for(patient).get(f"/api/patients/search/?hpn={patient.hpn}").status_code == 404
    assert client_for(None).get(f"/api/patients/search/?hpn={patient.hpn}").status_code == 401
    # the id it returns is what the admission modal sends as ``patient``
    created = client.post("/api/admissions/", {"patient": rows[0]["id"], "department": department.pk,
                                               "reason_for_admission": "Observation"}, format="json")
    assert created.status_code == 201, created.json()



def test_edit_modal_body_of_an_older_department_saves(hospital_admin, department):
    """EditDepartmentModal sends back what it read, blanks included."""
    client = client_for(hospital_admin)
    current = client.get(f"/api/hospitals/departments/{department.pk}/detail/").json()["department"]
    form = {k: current[k] for k in ("name", "description", "floor_number", "wing", "extension_number",
                                    "emergency_contact", "email", "is_24_hours", "operating_hours",
                                    "minimum_staff_required")}
    saved = client.patch(f"/api/hospitals/departments/{department.pk}/update/",
                         {**form, "department_type": current["department_type"], "floor_number": "3"}, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["department"]["floor_number"] == "3"


def test_put_takes_the_whole_form_and_patch_any_part(hospital_admin):
    """PUT is described with the form's required fields; PATCH (what the frontend sends) with none."""
    client = client_for(hospital_admin)
    created = client.post("/api/hospitals/departments/create/", FORM, format="json").json()["department"]
    url = f"/api/hospitals/departments/{created['id']}/update/"
    partial = client.put(url, {"name": "Renamed"}, format="json")
    assert partial.status_code == 400 and "department_type" in partial.json()
    assert Department.objects.get(pk=created["id"]).name == FORM["name"]
    whole = client.put(url, {"name": "Renamed", "department_type": FORM["department_type"]}, format="json")
    assert whole.status_code == 200, whole.json()
    after = whole.json()["department"]
    assert after["name"] == "Renamed" and after["total_beds"] == created["total_beds"]
    assert client.patch(url, {"name": "Renamed again"}, format="json").status_code == 200


def test_patient_search_is_rate_limited_per_account(hospital_admin, doctor, patient, settings):
    settings.PATIENT_SEARCH_RATE_PER_ACCOUNT = "3/3600"
    client = client_for(hospital_admin)
    for _ in range(3):
        assert client.get(f"/api/patients/search/?hpn={patient.hpn[:4]}").status_code == 200
    refused = client.get(f"/api/patients/search/?hpn={patient.hpn[:4]}")
    assert refused.status_code == 429 and refused.json()["message"] and refused.headers["Retry-After"]
    # another member of staff has her own budget
    assert client_for(doctor).get(f"/api/patients/search/?hpn={patient.hpn[:4]}").status_code == 200


def test_a_department_with_appointments_still_to_be_seen_is_not_deactivated(hospital_admin, hospital):
    from appointments import services
    from tests.appointments.helpers import book, future_slot

    department = DepartmentFactory(hospital=hospital)
    appointment = book(make_patient(hospital=hospital), department, future_slot(hospital))
    url = f"/api/hospitals/departments/{department.pk}/update/"
    refused = client_for(hospital_admin).patch(url, {"is_active": False}, format="json")
    assert refused.status_code == 409 and "1 appointment(s)" in refused.json()["message"]
    assert Department.objects.get(pk=department.pk).is_active is True

    services.appointment_cancel(appointment=appointment, cancelled_by=appointment.patient, reason="travel")
    closed = client_for(hospital_admin).patch(url, {"is_active": False}, format="json")
    assert closed.status_code == 200 and closed.json()["department"]["is_active"] is False
