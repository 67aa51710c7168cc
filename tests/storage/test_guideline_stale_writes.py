"""A guideline write works on the row as it is now, not on the copy the request read at its start:
an edit keeps a file replaced and views or downloads counted meanwhile, and approving or publishing
is judged on the current state (an edit or a deletion meanwhile wins)."""

from __future__ import annotations

import pytest
from django.db.models import F

from phb.api.errors import Conflict
from storage import services
from storage.models import ApprovalStatus, ClinicalGuideline

pytestmark = pytest.mark.django_db


def _text_guideline(author) -> ClinicalGuideline:
    return services.guideline_create(author=author, data={
        "title": "Chest pain triage", "description": "First ten minutes", "category": "emergency",
        "content_type": "text", "text_content": "1. ECG within 10 minutes.",
    })


def test_an_edit_keeps_counters_and_a_file_changed_since_the_guideline_was_read(doctor):
    guideline = _text_guideline(doctor)
    stale = ClinicalGuideline.objects.get(pk=guideline.pk)  # what the edit request read
    # Meanwhile: two views and a download are counted, and a file replacement lands.
    ClinicalGuideline.objects.filter(pk=guideline.pk).update(
        access_count=F("access_count") + 3, download_count=F("download_count") + 1,
        file_key="guidelines/x/key", file_version_id="version-2", file_name="triage.pdf",
        file_content_type="application/pdf", file_size=1234, content_type="mixed")

    services.guideline_update(guideline=stale, by=doctor, data={"title": "Chest pain triage (adult)"})

    found = ClinicalGuideline.objects.get(pk=guideline.pk)
    assert found.title == "Chest pain triage (adult)"
    assert (found.access_count, found.download_count) == (3, 1)
    assert (found.file_version_id, found.file_name, found.file_size, found.content_type) == (
        "version-2", "triage.pdf", 1234, "mixed")


def test_publishing_a_copy_read_before_an_edit_sent_it_back_to_review_is_refused(doctor, hospital_admin):
    guideline = _text_guideline(doctor)
    services.guideline_approve(guideline=guideline, by=hospital_admin)
    stale = ClinicalGuideline.objects.get(pk=guideline.pk)  # the publish request read it approved
    services.guideline_update(guideline=ClinicalGuideline.objects.get(pk=guideline.pk), by=doctor,
                              data={"text_content": "1. ECG within 10 minutes.\n2. Troponin."})
    assert ClinicalGuideline.objects.get(pk=guideline.pk).approval_status == ApprovalStatus.PENDING_REVIEW

    with pytest.raises(Conflict):
        services.guideline_publish(guideline=stale, by=hospital_admin)
    found = ClinicalGuideline.objects.get(pk=guideline.pk)
    assert not found.is_published and found.approval_status == ApprovalStatus.PENDING_REVIEW


def test_approving_a_copy_read_before_the_guideline_was_deleted_is_refused(doctor, hospital_admin):
    guideline = _text_guideline(doctor)
    stale = ClinicalGuideline.objects.get(pk=guideline.pk)  # the approve request read it pending
    services.guideline_delete(guideline=ClinicalGuideline.objects.get(pk=guideline.pk), by=doctor)

    with pytest.raises(Conflict):
        services.guideline_approve(guideline=stale, by=hospital_admin)
    assert ClinicalGuideline.objects.get(pk=guideline.pk).approval_status == ApprovalStatus.ARCHIVED
