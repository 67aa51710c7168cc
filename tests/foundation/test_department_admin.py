"""Departments are deactivated through the API, never deleted: the Django admin refuses deleting
one (its page, its bulk action and the hospital page's department rows), since a head whose
department went away would become a general administrator."""

from __future__ import annotations

import pytest

from hospitals.models import Department, StaffMember
from tests.factories import DepartmentFactory, make_hospital_admin
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
URL = "/admin/hospitals/department/"


def _head_of(department) -> StaffMember:
    head = make_hospital_admin(hospital=department.hospital)
    StaffMember.objects.filter(user=head).update(department=department)
    return StaffMember.objects.get(user=head)


def _cannot_invite(user) -> bool:
    refused = client_for(user).post("/api/organizations/users/invite/", {
        "email": "someone.new@phb.test", "full_name": "Some One", "position": "Clerk"}, format="json")
    return refused.status_code == 403 and refused.json()["code"] == "not_general_admin"


def test_the_admin_refuses_deleting_a_department_and_its_head_stays_a_head(staff_client, hospital):
    records = DepartmentFactory(hospital=hospital, name="Medical Records", department_type="records")
    head = _head_of(records)
    assert _cannot_invite(head.user)

    assert staff_client.get(f"{URL}{records.pk}/delete/").status_code == 403
    assert staff_client.post(f"{URL}{records.pk}/delete/", {"post": "yes"}).status_code == 403
    staff_client.post(URL, {"action": "delete_selected", "_selected_action": [records.pk], "post": "yes"})

    assert Department.objects.filter(pk=records.pk).exists()
    head.refresh_from_db()
    assert head.department_id == records.pk
    assert _cannot_invite(head.user)


def test_the_hospital_page_offers_no_department_deletion_and_the_list_still_works(staff_client, hospital):
    records = DepartmentFactory(hospital=hospital, name="Medical Records", department_type="records")
    page = staff_client.get(f"/admin/hospitals/hospital/{hospital.pk}/change/")
    assert page.status_code == 200
    assert "departments-0-id" in page.content.decode() and "departments-0-DELETE" not in page.content.decode()

    listed = staff_client.get(URL, {"q": "Records", "is_active__exact": "1", "hospital__id__exact": hospital.pk})
    assert listed.status_code == 200 and "Medical Records" in listed.content.decode()
    assert "delete_selected" not in listed.content.decode()
    assert staff_client.get(f"{URL}{records.pk}/change/").status_code == 200


def test_the_admin_closes_a_department_only_through_the_apis_rule(staff_client, hospital, patient):
    """is_active is read-only on the forms; the list's actions close a department as the API does:
    not while a patient is admitted or waiting there."""
    from admissions.models import AdmissionStatus
    from tests.admissions.helpers import admit

    ward_dept = DepartmentFactory(hospital=hospital, name="Cardiology", department_type="cardiology")
    empty = DepartmentFactory(hospital=hospital, name="Dermatology", department_type="dermatology")
    stay = admit(actor=make_hospital_admin(hospital=hospital), patient=patient, department=ward_dept,
                 assign_bed=False)
    assert stay.status == AdmissionStatus.PENDING

    staff_client.post(f"{URL}{ward_dept.pk}/change/", {
        "name": "Cardiology", "hospital": hospital.pk, "code": "", "department_type": "cardiology",
        "minimum_staff_required": 1, "operating_hours": "{}"})  # the box left unticked
    assert Department.objects.get(pk=ward_dept.pk).is_active is True
    assert 'name="is_active"' not in staff_client.get(f"{URL}{ward_dept.pk}/change/").content.decode()
    hospital_page = staff_client.get(f"/admin/hospitals/hospital/{hospital.pk}/change/").content.decode()
    assert "departments-0-is_active" not in hospital_page

    done = staff_client.post(URL, {"action": "deactivate", "_selected_action": [ward_dept.pk, empty.pk]},
                             follow=True)
    assert done.status_code == 200
    assert "1 department(s) deactivated." in done.content.decode() and "Cardiology: Cannot deactivate" in \
        done.content.decode()
    assert Department.objects.get(pk=ward_dept.pk).is_active is True
    assert Department.objects.get(pk=empty.pk).is_active is False
    staff_client.post(URL, {"action": "activate", "_selected_action": [empty.pk]})
    assert Department.objects.get(pk=empty.pk).is_active is True
