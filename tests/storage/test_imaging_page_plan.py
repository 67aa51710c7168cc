"""A page of imaging studies is read in the list's order from an index, so its cost does not grow
with the number of studies: no sort of every study of the patient, or of every study the clinician
uploaded, before the page is cut."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from phb.api import pagination
from storage import selectors
from storage.models import ImagingStudy, StudyStatus
from tests.plans import assert_read_in_index_order, explain
from tests.storage.conftest import grant_access

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

SPEC = pagination.RECENT_FIRST  # the spec ImagingStudyListView pages with


def _study(*, doctor, patient) -> ImagingStudy:
    return ImagingStudy.objects.create(
        patient=patient, uploaded_by=doctor, status=StudyStatus.AVAILABLE, key=f"imaging/{uuid.uuid4()}.dcm",
        expected_size=1, sha256="0" * 64, upload_expires_at=timezone.now() + timedelta(minutes=5),
    )


@pytest.fixture
def studies(doctor, patient, other_patient):
    """Studies the doctor uploaded for two patients who consented: the clinician's own list filters
    on more than one patient, as it does once they uploaded for several."""
    for someone in (patient, other_patient):
        grant_access(clinician=doctor, patient=someone)
        _study(doctor=doctor, patient=someone)


@pytest.mark.parametrize("caller", ["patient", "clinician", "clinician_for_patient"])
@pytest.mark.parametrize("next_page", [False, True])
def test_the_page_is_read_in_index_order(studies, doctor, patient, caller, next_page):
    if caller == "patient":
        queryset = selectors.imaging_study_list(fetched_by=patient)
    elif caller == "clinician":
        queryset = selectors.imaging_study_list(fetched_by=doctor)
    else:
        queryset = selectors.imaging_study_list(fetched_by=doctor, patient_id=str(patient.pk))
    after = [timezone.now(), uuid.uuid4()] if next_page else None
    plan = explain(pagination.page_query(queryset, spec=SPEC, limit=SPEC.default, after=after))
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None)
