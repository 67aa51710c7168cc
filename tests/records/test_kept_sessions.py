"""records.sessions keeps the sessions a process has read: later record requests skip DynamoDB,
and an early end (ending access, pruning) stops every process using them on the next request."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import EndpointConnectionError
from django.conf import settings
from django.test import override_settings

from phb.aws.clients import dynamodb_table
from records import sessions
from tests.helpers import client_for
from tests.records.conftest import MED_HEADER, RECORD_URL

pytestmark = pytest.mark.django_db

END_URL = "/api/patient/medical-record/end-access/"


@pytest.fixture(autouse=True)
def _empty_table():
    sessions.forget_kept_sessions()
    yield
    sessions.forget_kept_sessions()


@pytest.fixture
def get_items():
    """Counts the ``GetItem`` calls the service sends to the sessions table (botocore's own event hook)."""
    client = dynamodb_table(settings.USER_SESSIONS_TABLE).meta.client
    calls: list[str] = []

    def count(params, **_):
        if params.get("TableName") == settings.USER_SESSIONS_TABLE:
            calls.append("GetItem")

    client.meta.events.register("provide-client-params.dynamodb.GetItem", count)
    yield calls
    client.meta.events.unregister("provide-client-params.dynamodb.GetItem", count)


def _read(client, token):
    return client.get(RECORD_URL, **{MED_HEADER: token})


def test_a_session_is_read_from_dynamodb_once_per_process(open_record, patient, get_items):
    client, token = open_record(patient)
    for _ in range(3):
        assert _read(client, token).status_code == 200
    assert get_items == ["GetItem"]


def test_with_the_table_turned_off_every_request_reads_dynamodb(open_record, patient, get_items):
    client, token = open_record(patient)
    with override_settings(MED_ACCESS_SESSION_CACHE_SIZE=0):
        for _ in range(3):
            assert _read(client, token).status_code == 200
    assert get_items == ["GetItem"] * 3


def test_ending_access_stops_a_kept_session_in_every_process(open_record, patient):
    client, token = open_record(patient)
    assert _read(client, token).status_code == 200
    kept = len(sessions._kept)
    assert client.post(END_URL).json()["ended_sessions"] == 1
    # Nothing was forgotten here: another process keeps its copy the same way, and is stopped
    # by the holder's record_sessions_version, which every request reads with the account.
    assert len(sessions._kept) == kept
    refused = _read(client_for(patient), token)
    assert refused.status_code == 403
    assert refused.json()["code"] == "INVALID_MED_ACCESS"


def test_a_pruned_session_is_not_used_from_the_table(open_record, patient):
    with override_settings(MED_ACCESS_MAX_SESSIONS=1):
        client, first = open_record(patient)
        assert _read(client, first).status_code == 200
        _, second = open_record(patient)  # opening the second prunes the first
    assert _read(client, first).json()["code"] == "INVALID_MED_ACCESS"
    assert _read(client, second).status_code == 200


class _Clock:
    """The sessions module's clock, stopped: a slow machine cannot spend a short TTL between two reads."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def time_ns(self) -> int:
        return int(self.now * 1_000_000_000)


def test_a_kept_session_expires_on_time_without_asking_dynamodb(open_record, patient, get_items, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(sessions, "time", clock)
    with override_settings(MED_ACCESS_TOKEN_TTL_SECONDS=60):
        client, token = open_record(patient)
    clock.now += 59
    assert _read(client, token).status_code == 200
    clock.now += 1
    expired = _read(client, token)
    assert expired.status_code == 403
    assert expired.json()["code"] == "MED_ACCESS_EXPIRED"
    assert get_items == ["GetItem"]


def test_a_kept_session_serves_only_its_holder(open_record, patient, other_patient):
    client, token = open_record(patient)
    assert _read(client, token).status_code == 200
    stranger = _read(client_for(other_patient), token)
    assert stranger.status_code == 403
    assert stranger.json()["code"] == "INVALID_MED_ACCESS"


def test_an_end_that_fails_part_way_still_stops_kept_copies(open_record, patient):
    """DynamoDB may have deleted some items before failing: the version rises all the same."""
    client, token = open_record(patient)
    assert _read(client, token).status_code == 200
    before = type(patient).objects.get(pk=patient.pk).record_sessions_version
    events = dynamodb_table(settings.USER_SESSIONS_TABLE).meta.client.meta.events

    def refuse(**_):
        raise EndpointConnectionError(endpoint_url="http://dynamodb.invalid")

    events.register("before-call.dynamodb.BatchWriteItem", refuse)
    try:
        with pytest.raises(EndpointConnectionError):
            sessions.sessions_revoke(holder=patient)
    finally:
        events.unregister("before-call.dynamodb.BatchWriteItem", refuse)
    assert type(patient).objects.get(pk=patient.pk).record_sessions_version == before + 1
    assert _read(client_for(patient), token).status_code == 200  # not deleted: read again, still live


@pytest.mark.parametrize("kept", [False, True])
def test_a_session_ends_with_the_sign_in_that_opened_it_even_if_its_row_stays(open_record, patient, kept):
    """Signing out (or a password change) raises the account's token version; a medical-access
    session opened before answers 403 from then on, also where deleting it from DynamoDB failed
    and whether or not this process kept it."""
    from django.db.models import F

    from accounts.models import User

    client, token = open_record(patient)
    assert _read(client, token).status_code == 200
    if not kept:
        sessions.forget_kept_sessions()
    User.objects.filter(pk=patient.pk).update(token_version=F("token_version") + 1)  # the sign-out's own write
    patient.refresh_from_db()

    refused = _read(client_for(patient), token)

    assert refused.status_code == 403 and refused.json()["code"] == "INVALID_MED_ACCESS"
    assert dynamodb_table(settings.USER_SESSIONS_TABLE).get_item(
        Key={"userId": str(patient.pk), "sessionId": sessions.SESSION_PREFIX + sessions._hash(token)}
    ).get("Item") is not None, "the row is still there: the version alone ended it"
