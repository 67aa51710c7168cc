"""In the Django admin a bed's status changes only through the API's rule (``admissions.beds.set_status``,
under the bed's lock): an occupied bed is neither freed nor taken by hand."""

from __future__ import annotations

import pytest
from django.contrib import admin

from admissions.models import Bed, BedStatus
from tests.admissions.helpers import admit
from tests.factories import make_hospital_admin

pytestmark = pytest.mark.django_db
BEDS = "/admin/admissions/bed/"


def _act(client, action: str, beds: list[Bed]):
    return client.post(BEDS, {"action": action, "_selected_action": [b.pk for b in beds]}, follow=True)


def test_status_is_no_field_of_the_bed_forms():
    assert "status" in admin.site._registry[Bed].readonly_fields
    ward_inline = admin.site._registry[Bed.ward.field.related_model].inlines[0]
    assert "status" in ward_inline.readonly_fields
    assert "mark_occupied" not in admin.site._registry[Bed].actions


def test_free_beds_are_marked_and_an_occupied_one_is_refused_and_stays(staff_client, department, general_ward, patient):
    admit(actor=make_hospital_admin(hospital=department.hospital), patient=patient, department=department)
    occupied = Bed.objects.get(ward=general_ward, status=BedStatus.OCCUPIED)
    free = list(Bed.objects.filter(ward=general_ward, status=BedStatus.AVAILABLE))

    page = _act(staff_client, "mark_cleaning", [occupied, *free])

    text = page.content.decode()
    assert f"{len(free)} bed(s) marked cleaning." in text
    assert "is occupied: discharge or transfer the patient first" in text
    occupied.refresh_from_db()
    assert occupied.status == BedStatus.OCCUPIED
    assert set(Bed.objects.filter(pk__in=[b.pk for b in free]).values_list("status", flat=True)) == {BedStatus.CLEANING}

    assert _act(staff_client, "mark_available", free).status_code == 200
    assert set(Bed.objects.filter(pk__in=[b.pk for b in free]).values_list("status", flat=True)) == {BedStatus.AVAILABLE}
