"""Guideline list items built from column values render exactly as the instance payload the detail view uses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from phb.api.renderers import dumps
from storage import rows, selectors
from storage.models import ClinicalGuideline, GuidelineBookmark
from storage.serializers import guideline_payload

pytestmark = pytest.mark.django_db


def test_rows_render_as_instance_payloads(hospital, doctor, hospital_admin, patient):
    today = timezone.localdate()
    for n in range(12):
        g = ClinicalGuideline.objects.create(
            organization=hospital, created_by=doctor if n % 4 else None, title=f"G{n}", description="d ✓",
            category="clinical_protocol", keywords=["k"] * (n % 2), target_roles=[] if n % 3 else ["doctor"],
            effective_date=today + timedelta(days=(n % 3) - 1),
            expiry_date=None if n % 2 else today + timedelta(days=(n % 5) - 2),
            approval_status="approved", is_published=n % 6 != 0, approved_by=hospital_admin if n % 2 else None,
            approved_at=timezone.now() if n % 2 else None, file_key="k" if n % 3 == 0 else "",
            file_version_id="v1" if n % 2 == 0 else "", file_name="f.pdf", file_size=10, file_content_type="x",
        )
        if n % 3 == 1:
            GuidelineBookmark.objects.create(guideline=g, user=doctor, notes="n" if n % 2 else "")
    request = RequestFactory().get("/api/clinical-guidelines/")
    for viewer in (doctor, patient, hospital_admin):
        found = selectors.guideline_list(fetched_by=viewer)
        listed = list(rows.guideline_rows(found))
        marks = selectors.bookmark_notes(user=viewer, guideline_ids=[r["id"] for r in listed])
        items = rows.GuidelineItems(viewer=viewer, request=request, bookmarks=marks)
        expected = [guideline_payload(g, viewer=viewer, request=request)
                    for g in selectors.with_viewer_bookmark(found, user=viewer)]
        got = [items.item(r) for r in listed]
        assert dumps(got) == dumps(expected)
        assert got
        assert any(item["is_bookmarked"] for item in got) == (viewer == doctor)
