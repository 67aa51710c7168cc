"""A page of imaging studies is read in the list's order from an index, so its cost does not grow
with the number of studies: no sort of every study of the patient (the patient's own list keeps the
available ones), or of every study the clinician uploaded, before the page is cut."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from phb.api import pagination
from storage import selectors
from storage.models import ImagingStudy, StudyStatus
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread
from tests.storage.conftest import grant_access

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

SPEC = pagination.RECENT_FIRST  # the spec ImagingStudyListView pages with
HISTORY = 3000


def _study(*, doctor, patient, status: str = StudyStatus.AVAILABLE) -> ImagingStudy:
    return ImagingStudy(
        patient=patient, uploaded_by=doctor, status=status, key=f"imaging/{uuid.uuid4()}.dcm",
        expected_size=1, sha256="0" * 64, upload_expires_at=timezone.now() + timedelta(minutes=5),
    )


@pytest.fixture
def studies(doctor, patient, other_patient):
    """A long history of studies the doctor uploaded for two patients who consented (the
    clinician's own list filters on more than one patient, as it does once they uploaded for
    several). Most of the patient's are not available (uploads never finished, or rejected), so
    their own list, of the available ones, is the status-filtered read."""
    for someone in (patient, other_patient):
        grant_access(clinician=doctor, patient=someone)
    statuses = [StudyStatus.AVAILABLE, StudyStatus.PENDING, StudyStatus.REJECTED, StudyStatus.PENDING]
    ImagingStudy.objects.bulk_create(
        [_study(doctor=doctor, patient=patient, status=statuses[i % len(statuses)]) for i in range(HISTORY)]
        + [_study(doctor=doctor, patient=other_patient) for _ in range(HISTORY)]
    )
    spread(ImagingStudy, "created_at")
    analyze(ImagingStudy)


@pytest.mark.parametrize("caller", ["patient", "clinician", "clinician_for_patient"])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_page_is_read_in_index_order(studies, doctor, patient, caller, next_page):
    if caller == "patient":
        queryset, scope = selectors.imaging_study_list(fetched_by=patient), ("patient_id", "status")
    elif caller == "clinician":
        queryset, scope = selectors.imaging_study_list(fetched_by=doctor), "uploaded_by_id"
    else:
        queryset, scope = selectors.imaging_study_list(fetched_by=doctor, patient_id=str(patient.pk)), "patient_id"
    plan = page_plan(queryset, spec=SPEC, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None, scoped_by=scope)
