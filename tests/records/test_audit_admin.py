"""The audit trail's changelist: search by an exact id through indexes, filters and a count that
do not read the whole table."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from phb import admin_lists
from records.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/admin/records/auditevent/"


def _event(**fields) -> AuditEvent:
    values = {"actor_id": uuid.uuid4(), "patient_id": uuid.uuid4(), "action": "read", "object_type": "medical_record",
              "object_id": str(uuid.uuid4()), "request_id": uuid.uuid4().hex, "actor_role": "doctor"}
    return AuditEvent.objects.create(**{**values, **fields})


def _shown(client, query: str = "") -> set:
    response = client.get(URL + query)
    assert response.status_code == 200
    return {event.pk for event in response.context["cl"].result_list}


def test_search_finds_the_events_of_an_exact_id_of_each_kind(staff_client):
    target = _event()
    others = [_event() for _ in range(3)]
    same_actor = _event(actor_id=target.actor_id)
    about_patient = _event(object_id=str(target.patient_id))  # the id as an object too
    assert _shown(staff_client, f"?q={target.actor_id}") == {target.pk, same_actor.pk}
    assert _shown(staff_client, f"?q={str(target.actor_id).upper()}") == {target.pk, same_actor.pk}
    assert _shown(staff_client, f"?q={target.patient_id}") == {target.pk, about_patient.pk}
    assert _shown(staff_client, f"?q={target.object_id}") == {target.pk}
    assert _shown(staff_client, f"?q={target.request_id}") == {target.pk}
    assert _shown(staff_client, f"?q=%20{target.request_id}%20") == {target.pk}
    assert _shown(staff_client, f"?q={target.request_id[:12]}") == set()  # exact ids only
    assert _shown(staff_client, "?q=nothing-like-an-id") == set()
    assert _shown(staff_client) == {target.pk, same_actor.pk, about_patient.pk, *(o.pk for o in others)}


def test_no_query_of_the_changelist_compares_a_function_of_a_column_or_lists_distinct_values(staff_client):
    event = _event()
    for query in ("", f"?q={event.actor_id}", f"?q={event.request_id}", "?action=read&actor_role=doctor"):
        with CaptureQueriesContext(connection) as ctx:
            assert staff_client.get(URL + query).status_code == 200
        sql = [q["sql"] for q in ctx.captured_queries if "records_auditevent" in q["sql"]]
        assert sql, query
        assert not [s for s in sql if "UPPER(" in s or "DISTINCT" in s], query


def test_filters_offer_recent_values_and_filter_by_any(staff_client, monkeypatch):
    old = _event(action="export", object_type="document", actor_role="patient")
    for _ in range(3):
        _event()
    monkeypatch.setattr(admin_lists, "RECENT_ROWS", 2)
    response = staff_client.get(URL)
    offered = {spec.title: [choice["display"] for choice in spec.choices(response.context["cl"])]
               for spec in response.context["cl"].filter_specs}
    assert offered["action"] == ["All", "read"]
    assert offered["object type"] == ["All", "medical_record"]
    assert offered["actor role"] == ["All", "doctor"]
    assert _shown(staff_client, "?action=export") == {old.pk}
    assert _shown(staff_client, "?object_type=document&actor_role=patient") == {old.pk}
    assert len(_shown(staff_client, "?action=read")) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's estimate of a table's rows")
def test_the_whole_trail_is_counted_from_postgresqls_estimate_a_filtered_list_exactly(staff_client, monkeypatch):
    for _ in range(5):
        _event()
    _event(action="export")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE records_auditevent")
    monkeypatch.setattr(admin_lists, "ESTIMATE_ABOVE", 3)
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get(URL)
    assert response.context["cl"].result_count == 6
    assert not [q for q in ctx.captured_queries if "COUNT(" in q["sql"]]
    with CaptureQueriesContext(connection) as ctx:
        response = staff_client.get(URL + "?action=export")
    assert response.context["cl"].result_count == 1
    assert [q for q in ctx.captured_queries if "COUNT(" in q["sql"]]


def test_a_small_or_filtered_trail_is_counted_exactly(staff_client):
    for _ in range(4):
        _event()
    assert staff_client.get(URL).context["cl"].result_count == 4
    assert staff_client.get(URL + "?action=export").context["cl"].result_count == 0


def test_the_trail_is_shown_to_staff_only(client, patient):
    event = _event(patient_id=patient.pk)
    for user in (None, patient, UserFactory(role="doctor")):
        if user is not None:
            client.force_login(user)
        response = client.get(URL + f"?q={event.patient_id}")
        assert response.status_code == 302 and "/admin/login/" in response["Location"], user
        assert str(event.patient_id).encode() not in response.content
