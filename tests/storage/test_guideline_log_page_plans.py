"""The guideline access log, bookmarks and file versions read a page in the list's order from an
index, so a page costs the same whatever the history holds: no sort of every access (of the caller,
of one guideline, or of the admin's hospital), every bookmark, or every version of a guideline
before the page is cut, on the first page or on a later one."""

from __future__ import annotations

import pytest
from django.db import connection

from phb.api import pagination
from storage import selectors
from storage.models import (
    ApprovalStatus,
    ClinicalGuideline,
    GuidelineAccess,
    GuidelineAccessAction,
    GuidelineBookmark,
    GuidelineFileVersion,
)
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

HISTORY = 3000


@pytest.fixture
def guidelines(hospital, other_hospital):
    """Published guidelines, half of them the hospital's."""
    return ClinicalGuideline.objects.bulk_create(
        [ClinicalGuideline(organization=hospital if i % 2 else other_hospital, title="Guideline",
                           description="A guideline.", category="prevention", is_published=True,
                           approval_status=ApprovalStatus.APPROVED)
         for i in range(HISTORY)]
    )


@pytest.fixture
def busy(guidelines, hospital):
    """The hospital's guideline that most of the reads are of."""
    return next(g for g in guidelines if g.organization_id == hospital.pk)


@pytest.fixture
def accesses(guidelines, busy, doctor, other_doctor):
    """A long log: the doctor's reads (a third of them of one guideline) and another doctor's."""
    GuidelineAccess.objects.bulk_create(
        [GuidelineAccess(guideline=busy if i % 3 == 0 else guidelines[i], user=doctor,
                         action=GuidelineAccessAction.VIEW) for i in range(HISTORY)]
        + [GuidelineAccess(guideline=busy if i % 5 == 0 else guidelines[i], user=other_doctor,
                           action=GuidelineAccessAction.DOWNLOAD) for i in range(HISTORY)]
    )
    spread(GuidelineAccess, "accessed_at")
    analyze(ClinicalGuideline, GuidelineAccess)


@pytest.mark.parametrize("caller", ["doctor", "hospital_admin"])
@pytest.mark.parametrize("of_one_guideline", [False, True])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_access_log_is_read_in_index_order(request, accesses, busy, caller, of_one_guideline, next_page):
    """A doctor's own reads, a hospital admin's of every guideline of the hospital; either of one
    guideline (``?guideline_id=``). The hospital is the guideline's, not the access's: the admin's
    whole log is read in the order of every access, the other hospitals' left out as it goes."""
    user = request.getfixturevalue(caller)
    queryset = selectors.guideline_access_list(fetched_by=user,
                                               guideline_id=busy.guideline_id if of_one_guideline else "")
    plan = page_plan(queryset, spec=pagination.GUIDELINE_ACCESSES, next_page=next_page)
    scope = "guideline_id" if of_one_guideline else "user_id" if caller == "doctor" else None
    assert_read_in_index_order(plan, bounded_by="accessed_at" if next_page else None, scoped_by=scope)


@pytest.fixture
def bookmarks(guidelines, doctor, other_doctor):
    """Every guideline bookmarked by the doctor, and by another doctor."""
    GuidelineBookmark.objects.bulk_create(
        [GuidelineBookmark(user=user, guideline=guideline)
         for user in (doctor, other_doctor) for guideline in guidelines]
    )
    spread(GuidelineBookmark, "bookmarked_at")
    analyze(ClinicalGuideline, GuidelineBookmark)


@pytest.mark.parametrize("caller", ["doctor", "hospital_admin"])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_bookmarks_are_read_in_index_order(request, bookmarks, caller, next_page):
    """A doctor's own bookmarks, a hospital admin's of every guideline of the hospital (read in the
    order of every bookmark, the other hospitals' left out as it goes)."""
    queryset = selectors.guideline_bookmark_list(fetched_by=request.getfixturevalue(caller))
    plan = page_plan(queryset, spec=pagination.BOOKMARKS, next_page=next_page)
    scope = "user_id" if caller == "doctor" else None
    assert_read_in_index_order(plan, bounded_by="bookmarked_at" if next_page else None, scoped_by=scope)


@pytest.fixture
def versions(guidelines, busy, doctor):
    """Many uploads of one guideline's file, and a few of every other's."""
    def version(guideline, number):
        return GuidelineFileVersion(guideline=guideline, key=f"guidelines/{guideline.pk}.pdf", version_id=f"v{number}",
                                    file_name="guideline.pdf", content_type="application/pdf", size=1,
                                    sha256="0" * 64, uploaded_by=doctor)

    GuidelineFileVersion.objects.bulk_create(
        [version(busy, i) for i in range(HISTORY)] + [version(g, 0) for g in guidelines if g.pk != busy.pk]
    )
    spread(GuidelineFileVersion, "uploaded_at")
    analyze(GuidelineFileVersion)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_file_versions_are_read_in_index_order(versions, busy, next_page):
    plan = page_plan(selectors.guideline_versions(guideline=busy), spec=pagination.FILE_VERSIONS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="uploaded_at" if next_page else None, scoped_by="guideline_id")
