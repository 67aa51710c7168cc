"""phb.api.page_sql: a list page's SQL, kept per shape, gives exactly the ORM's rows to every caller."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import override_settings

from appointments import rows, selectors
from phb.api import page_sql, pagination
from tests.records.conftest import make_appointment

pytestmark = pytest.mark.django_db
SPEC = pagination.APPOINTMENTS


@pytest.fixture(autouse=True)
def _nothing_kept():
    page_sql.forget()
    yield
    page_sql.forget()


def _kept() -> int:
    return len(page_sql._kept_for("default"))


def _page(queryset, *, limit=2, after=None):
    return pagination._rows(queryset, spec=SPEC, limit=limit, columns=rows.PATIENT_COLUMNS, after=after, partition=())


def _orm(queryset, *, limit=2, after=None):
    return list(pagination.page_query(queryset, spec=SPEC, limit=limit, columns=rows.PATIENT_COLUMNS, after=after))


def _cursor(row):
    return [row["start"], row["id"]]


@pytest.fixture
def histories(patient, other_patient, department, doctor):
    mine = [make_appointment(patient=patient, doctor=doctor, department=department, days=d) for d in range(1, 6)]
    theirs = [make_appointment(patient=other_patient, department=department, days=d) for d in range(2, 5)]
    return {patient: {a.pk for a in mine}, other_patient: {a.pk for a in theirs}}


def test_kept_pages_are_the_orms_rows_for_each_caller_and_cursor(histories):
    for user, own in histories.items():
        scope = selectors.appointments_of_patient(fetched_by=user)
        after, seen = None, []
        while True:
            page = _page(scope, after=after)
            assert page == _orm(scope, after=after)
            seen.extend(row["id"] for row in page[:2])
            if len(page) <= 2:
                break
            after = _cursor(page[1])
        assert set(seen) == own and len(seen) == len(own)
    # one shape for the first pages and one for the later ones, shared by both callers
    assert _kept() == 2


def test_a_caller_never_gets_the_rows_of_the_caller_before(histories, patient, other_patient):
    first = _page(selectors.appointments_of_patient(fetched_by=patient), limit=10)
    second = _page(selectors.appointments_of_patient(fetched_by=other_patient), limit=10)
    assert _kept() == 1
    assert {row["id"] for row in first} == histories[patient]
    assert {row["id"] for row in second} == histories[other_patient]


def test_a_filter_across_a_join_goes_the_orms_way(histories, patient, doctor):
    scope = selectors.appointments_of_patient(fetched_by=patient).filter(doctor__full_name=doctor.full_name)
    assert _page(scope, limit=10) == _orm(scope, limit=10)
    assert _kept() == 0


def test_each_page_size_is_its_own_shape(histories, patient):
    scope = selectors.appointments_of_patient(fetched_by=patient)
    assert len(_page(scope, limit=1)) == 2
    assert len(_page(scope, limit=3)) == 4
    assert _kept() == 2


def test_turned_off_nothing_is_kept(histories, patient):
    scope = selectors.appointments_of_patient(fetched_by=patient)
    with override_settings(DB_PAGE_SQL_CACHE_SIZE=0):
        assert _page(scope) == _orm(scope)
    assert _kept() == 0


def test_kept_counts_are_each_callers(histories, patient, other_patient):
    for _ in range(2):
        assert pagination.capped_count(selectors.appointments_of_patient(fetched_by=patient)) == 5
        assert pagination.capped_count(selectors.appointments_of_patient(fetched_by=other_patient)) == 3
    assert _kept() == 1


def test_the_guideline_page_and_the_callers_bookmarks_are_kept(hospital, doctor, hospital_admin):
    from storage import rows as guideline_rows
    from storage import selectors as guidelines
    from storage.models import ClinicalGuideline, GuidelineBookmark

    found = [ClinicalGuideline.objects.create(organization=hospital, created_by=doctor, title=f"G{n}",
                                              category="prevention", approval_status="approved", is_published=True)
             for n in range(4)]
    GuidelineBookmark.objects.create(guideline=found[-1], user=doctor, notes="read")
    spec, marks = pagination.GUIDELINES, {}
    for user in (doctor, hospital_admin, doctor):
        scope = guidelines.guideline_list(fetched_by=user, filters={"category": "prevention"})
        page = pagination._rows(scope, spec=spec, limit=2, columns=guideline_rows.COLUMNS, after=None, partition=())
        assert page == list(pagination.page_query(scope, spec=spec, limit=2, columns=guideline_rows.COLUMNS))
        marks[user] = guidelines.bookmark_notes(user=user, guideline_ids=[row["id"] for row in page])
    assert marks == {doctor: {found[-1].pk: "read"}, hospital_admin: {}}
    kept = page_sql._kept_for("default")
    assert len(kept) == 2 and all(value is not page_sql._NOT_KEPT for value in kept._entries.values())
    # The bookmarks' SQL is compiled once per connection (phb.db) where the ids are one parameter.
    assert bool(guidelines._bookmarks_among._compiled("default")[1]) == (connection.vendor == "postgresql")
