"""In the Django admin an operator can take a guideline down and change nothing else: content,
approval and publication go through the API's workflow (``storage.services``)."""

from __future__ import annotations

import pytest
from django.contrib import admin

from storage.models import ClinicalGuideline
from tests.helpers import admin_form_data

pytestmark = pytest.mark.django_db


def test_only_the_takedown_is_a_field_and_nothing_is_added():
    model_admin = admin.site._registry[ClinicalGuideline]
    editable = {f.name for f in ClinicalGuideline._meta.fields} - set(model_admin.get_readonly_fields(None)) - {"id"}
    assert editable == {"is_active"}
    assert not model_admin.has_add_permission(None) and not model_admin.has_delete_permission(None)


def test_a_post_can_take_a_guideline_down_but_not_approve_publish_or_rewrite_it(staff_client, hospital, doctor):
    guideline = ClinicalGuideline.objects.create(organization=hospital, created_by=doctor, title="Sepsis bundle",
                                                 category="clinical_protocol", content_type="text",
                                                 text_content="Give antibiotics within the hour.",
                                                 approval_status="pending_review")
    url = f"/admin/storage/clinicalguideline/{guideline.pk}/change/"
    data = admin_form_data(staff_client.get(url))

    saved = staff_client.post(url, {**data, "is_active": "", "approval_status": "approved", "is_published": "on",
                              "text_content": "Rewritten"})

    assert saved.status_code == 302
    guideline.refresh_from_db()
    assert guideline.is_active is False
    assert (guideline.approval_status, guideline.is_published, guideline.text_content) == (
        "pending_review", False, "Give antibiotics within the hour.")


def test_a_guideline_is_taken_down_never_deleted(staff_client, hospital, doctor):
    """A deleted row would leave its file's versions in S3 with nothing pointing to them."""
    guideline = ClinicalGuideline.objects.create(organization=hospital, created_by=doctor, title="Sepsis bundle",
                                                 category="clinical_protocol", content_type="text",
                                                 text_content="Give antibiotics within the hour.")
    url = f"/admin/storage/clinicalguideline/{guideline.pk}/delete/"
    assert staff_client.get(url).status_code == 403
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
    listed = staff_client.post("/admin/storage/clinicalguideline/",
                               {"action": "delete_selected", "_selected_action": [str(guideline.pk)], "post": "yes"})
    assert listed.status_code in (200, 302)
    assert ClinicalGuideline.objects.filter(pk=guideline.pk).exists()
