"""Editing an invited administrator (``status: pending``) on the organisation's user management
page: the edit form sends the row's status back as it was, which leaves it unchanged; nobody
else can be set back to pending."""

from __future__ import annotations

import pytest

from accounts.models import User
from hospitals.models import StaffMember
from tests.factories import DepartmentFactory, make_hospital_admin
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
USERS = "/api/organizations/users"


def _invited(admin, department) -> dict:
    invited = admin.post(f"{USERS}/invite/", {"email": "new.admin@phb.test", "full_name": "Ada Obi",
                                              "role": "hospital_admin", "department": str(department.pk),
                                              "position": "Records lead"}, format="json")
    assert invited.status_code == 201, invited.json()
    assert invited.json()["status"] == "pending"
    return invited.json()


def test_pending_sent_back_leaves_a_pending_admin_as_it_is_and_is_refused_for_others(hospital, hospital_admin):
    records = DepartmentFactory(hospital=hospital, name="Medical Records", department_type="records")
    admin = client_for(hospital_admin)
    row = _invited(admin, records)
    saved = admin.patch(f"{USERS}/{row['id']}/", {"full_name": "Ada Obi-Eze", "position": "Head of records",
                                                   "department": str(records.pk), "phone": "",
                                                   "status": row["status"]}, format="json")
    assert saved.status_code == 200, saved.json()
    assert saved.json()["full_name"] == "Ada Obi-Eze" and saved.json()["position"] == "Head of records"
    assert saved.json()["status"] == "pending"
    user = User.objects.get(email="new.admin@phb.test")
    assert user.is_active and not user.has_usable_password()
    listed = admin.get("/api/hospitals/admin/users/", {"status": "pending"}).json()["users"]
    assert [u["full_name"] for u in listed] == ["Ada Obi-Eze"]

    # An account that is not pending cannot be set (back) to pending: a 400 saying so, nothing saved.
    active = make_hospital_admin(hospital=hospital)
    url = f"{USERS}/{StaffMember.objects.get(user=active).pk}/"
    refused = admin.patch(url, {"full_name": "Renamed", "status": "pending"}, format="json")
    assert refused.status_code == 400, refused.json()
    assert refused.json()["message"].startswith("status: An account that is not pending")
    assert refused.json()["errors"]["status"]
    active.refresh_from_db()
    assert active.full_name != "Renamed" and active.is_active and active.has_usable_password()

    # The invited administrator, deactivated: inactive, no longer pending.
    assert admin.patch(f"{USERS}/{row['id']}/", {"status": "inactive"}, format="json").json()["status"] == "inactive"
    again = admin.patch(f"{USERS}/{row['id']}/", {"status": "pending"}, format="json")
    assert again.status_code == 400 and again.json()["message"].startswith("status")
    assert not User.objects.get(email="new.admin@phb.test").is_active
