"""``field__any=[...]`` (``phb.lookups``) matches what ``field__in`` matches, and on PostgreSQL its
query text and parameter count do not depend on the number of values."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from accounts.models import User
from storage.models import ClinicalGuideline, GuidelineBookmark

pytestmark = pytest.mark.django_db


@pytest.fixture
def guidelines(hospital, doctor, hospital_admin):
    found = [ClinicalGuideline.objects.create(organization=hospital, created_by=doctor, title=f"G{n}",
                                              category="prevention") for n in range(7)]
    for n, guideline in enumerate(found):
        if n % 2:
            GuidelineBookmark.objects.create(guideline=guideline, user=doctor, notes=f"n{n}", is_active=n != 5)
        if n % 3 == 0:
            GuidelineBookmark.objects.create(guideline=guideline, user=hospital_admin)
    return found


def _same(queryset_in, queryset_any) -> list:
    expected = sorted(queryset_in.values_list("pk", flat=True))
    assert sorted(queryset_any.values_list("pk", flat=True)) == expected
    return expected


def test_matches_what_in_matches_on_keys_foreign_keys_and_uuids(guidelines, doctor, patient, hospital_admin):
    ids = [g.pk for g in guidelines]
    for chosen in (ids, ids[::2], ids[1:2], [*ids[:3], 10**9], [10**9]):
        _same(ClinicalGuideline.objects.filter(pk__in=chosen), ClinicalGuideline.objects.filter(pk__any=chosen))
        _same(GuidelineBookmark.objects.filter(guideline_id__in=chosen),
              GuidelineBookmark.objects.filter(guideline_id__any=chosen))
        _same(GuidelineBookmark.objects.filter(user=doctor, is_active=True, guideline_id__in=chosen),
              GuidelineBookmark.objects.filter(user=doctor, is_active=True, guideline_id__any=chosen))
    # Model instances as values, a foreign key by its field name, and the negation.
    picked = guidelines[1:4]
    assert _same(GuidelineBookmark.objects.filter(guideline__in=picked),
                 GuidelineBookmark.objects.filter(guideline__any=picked))
    _same(GuidelineBookmark.objects.exclude(guideline_id__in=ids[:2]), GuidelineBookmark.objects.exclude(guideline_id__any=ids[:2]))
    users = [doctor.pk, patient.pk, uuid.uuid4()]
    assert _same(User.objects.filter(pk__in=users), User.objects.filter(pk__any=users)) == sorted([doctor.pk, patient.pk])
    assert _same(GuidelineBookmark.objects.filter(user_id__in=users[1:] + [hospital_admin.pk]),
                 GuidelineBookmark.objects.filter(user_id__any=users[1:] + [hospital_admin.pk]))


def test_an_empty_list_matches_nothing_and_a_single_value_is_refused(guidelines):
    assert not ClinicalGuideline.objects.filter(pk__any=[]).exists()
    assert ClinicalGuideline.objects.exclude(pk__any=[]).count() == len(guidelines)
    for wrong in (guidelines[0].pk, "12"):
        with pytest.raises(TypeError):
            list(ClinicalGuideline.objects.filter(pk__any=wrong))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one array parameter on PostgreSQL")
def test_one_query_text_and_one_parameter_whatever_the_number_of_values(doctor):
    compiled = set()
    for count in (1, 7, 50, 51, 500):
        queryset = GuidelineBookmark.objects.filter(user=doctor, is_active=True, guideline_id__any=list(range(1, count + 1)))
        sql, params = queryset.query.get_compiler(using="default").as_sql()
        assert len(params) == 2 and list(range(1, count + 1)) in params  # the user, the ids
        compiled.add(sql)
    assert len(compiled) == 1
    assert '"guideline_id" = ANY(%s::bigint[])' in compiled.pop()


def test_the_callers_bookmarks_of_a_page(guidelines, doctor, hospital_admin):
    from storage.selectors import bookmark_notes

    ids = [g.pk for g in guidelines]
    sent = []

    def capture(execute, sql, params, many, context):
        sent.append(params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        notes = bookmark_notes(user=doctor, guideline_ids=ids)
    assert notes == {guidelines[1].pk: "n1", guidelines[3].pk: "n3"}  # active, her own
    assert bookmark_notes(user=hospital_admin, guideline_ids=ids[1:]) == {guidelines[3].pk: "", guidelines[6].pk: ""}
    if connection.vendor == "postgresql":  # the page's ids went as one parameter
        assert len(sent) == 1 and len(sent[0]) == 2 and ids in sent[0]
