"""Cycle-tracker days kept by each process (``tracking.kept_days``): a later visit reads no days
from DynamoDB, and every write of a cycle day, by any process, is shown on the next request."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from accounts.models import User
from tests.helpers import client_for
from tests.tracking.conftest import WH
from tracking import kept_days, outbox
from tracking.dynamo import keys, store
from tracking.kinds import CYCLE_DAYS
from tracking.writes import make_op


@pytest.fixture(autouse=True)
def _nothing_kept():
    kept_days.forget_kept_days()
    yield
    kept_days.forget_kept_days()


@contextmanager
def counted_queries():
    """The DynamoDB ``Query`` calls made inside the block (a list of their key conditions)."""
    calls: list[dict] = []

    def record(params, **_):
        calls.append(params["ExpressionAttributeValues"])

    events = store.client().meta.events
    events.register("provide-client-params.dynamodb.Query", record)
    try:
        yield calls
    finally:
        events.unregister("provide-client-params.dynamodb.Query", record)


def shown(api) -> tuple[list[str], list[str]]:
    """The days on the cycles page: those of the cycles, and those of the day list."""
    cycles = api.get(f"{WH}/cycles/").json()["cycles"]
    listed = api.get(f"{WH}/cycle-days/", {"start_date": "2024-03-01", "end_date": "2024-03-31"}).json()["days"]
    return [d["date"] for c in cycles for d in c["days"]], [d["date"] for d in listed]


def put_day_directly(user, day: str) -> None:
    """A cycle day as another process writes it to DynamoDB, before it raises the user's version."""
    item = {"pk": keys.user_pk(user.pk), "sk": f"{keys.CYCLE_DAY}{day}", "periodDay": True}
    store.put_item(store.tracking_table(), item=item)


@pytest.fixture
def cycle(api):
    assert api.post(f"{WH}/cycles/", {"cycle_start_date": "2024-03-01"}, format="json").status_code == 201
    assert api.post(f"{WH}/cycle-days/", {"date": "2024-03-02", "periodDay": True}, format="json").status_code == 201


def test_a_later_visit_reads_no_days_and_a_write_is_shown_at_once(api, mother, cycle):
    with counted_queries() as first:
        assert shown(api) == (["2024-03-02"], ["2024-03-02"])
    assert len(first) == 2
    with counted_queries() as again:
        assert shown(api) == (["2024-03-02"], ["2024-03-02"])
    assert again == []

    assert api.post(f"{WH}/cycle-days/", {"date": "2024-03-03", "notes": "x"}, format="json").status_code == 201
    assert shown(api) == (["2024-03-02", "2024-03-03"], ["2024-03-02", "2024-03-03"])
    assert api.post(f"{WH}/cycle-days/", {"date": "2024-03-03", "notes": "edited"}, format="json").status_code == 200
    assert [d["notes"] for d in api.get(f"{WH}/cycles/").json()["cycles"][0]["days"]] == ["", "edited"]
    assert api.delete(f"{WH}/cycle-days/2024-03-02/").status_code == 200
    assert shown(api) == (["2024-03-03"], ["2024-03-03"])
    synced = api.post(f"{WH}/sync/", {"items": [{"client_id": "offline-1", "type": "cycle_day",
                                                  "base_version": 0,
                                                  "data": {"date": "2024-03-04", "periodDay": True}}]},
                      format="json")
    assert synced.status_code == 200, synced.json()
    assert shown(api) == (["2024-03-03", "2024-03-04"], ["2024-03-03", "2024-03-04"])


def test_kept_days_are_used_only_under_the_version_they_were_read_with(api, mother, cycle):
    """What makes another process's write visible everywhere: its raise of the user's version,
    which every request loads with the account."""
    assert shown(api) == (["2024-03-02"], ["2024-03-02"])
    put_day_directly(mother, "2024-03-05")
    assert shown(api) == (["2024-03-02"], ["2024-03-02"])  # kept: that process has not raised it yet
    kept_days.cycle_days_written(user_id=mother.pk)
    assert shown(api) == (["2024-03-02", "2024-03-05"], ["2024-03-02", "2024-03-05"])


def test_kept_days_expire(api, mother, cycle, settings):
    """The bound on staleness should a writing process die before raising the version."""
    settings.TRACKING_DAY_CACHE_SECONDS = 0
    assert shown(api) == (["2024-03-02"], ["2024-03-02"])
    put_day_directly(mother, "2024-03-05")
    assert shown(api) == (["2024-03-02", "2024-03-05"], ["2024-03-02", "2024-03-05"])


def test_a_queued_write_delivered_by_the_read_is_shown(api, mother, cycle):
    """A write queued behind older queued writes was never tried, so nothing raised the version
    before the read that delivers it loaded the account: that read does not use kept days."""
    assert shown(api) == (["2024-03-02"], ["2024-03-02"])
    op = make_op(kind=CYCLE_DAYS.name, data=CYCLE_DAYS.validate({"date": "2024-03-06", "periodDay": True}),
                 user_id=mother.pk)
    outbox.enqueue(user_id=mother.pk, ops=[op])
    assert [d["date"] for d in api.get(f"{WH}/cycles/").json()["cycles"][0]["days"]] == ["2024-03-02", "2024-03-06"]


def test_only_cycle_day_writes_raise_the_version(api, mother, cycle):
    version = User.objects.get(pk=mother.pk).tracking_days_version
    assert version >= 1
    kick = api.post(f"{WH}/kick-sessions/", {"date": "2025-05-01T08:00:00Z", "kicks": 10, "duration": 300},
                    format="json")
    assert kick.status_code == 201
    assert api.post(f"{WH}/logs/", {"date": "2024-03-02", "mood": "low"}, format="json").status_code == 201
    assert User.objects.get(pk=mother.pk).tracking_days_version == version
    assert api.post(f"{WH}/cycle-days/", {"date": "2024-03-07"}, format="json").status_code == 201
    assert User.objects.get(pk=mother.pk).tracking_days_version == version + 1


def test_each_user_sees_only_her_own_kept_days(api, mother, stranger, cycle):
    other = client_for(stranger)
    assert other.post(f"{WH}/cycles/", {"cycle_start_date": "2024-03-01"}, format="json").status_code == 201
    assert other.post(f"{WH}/cycle-days/", {"date": "2024-03-09"}, format="json").status_code == 201
    for _ in range(2):
        assert shown(api) == (["2024-03-02"], ["2024-03-02"])
        assert shown(other) == (["2024-03-09"], ["2024-03-09"])
    anonymous = client_for(None)
    assert anonymous.get(f"{WH}/cycles/").status_code == 401
    assert anonymous.get(f"{WH}/cycle-days/").status_code == 401


def test_spans_over_the_size_bound_and_a_table_of_zero_keep_nothing(api, mother, cycle, settings):
    settings.TRACKING_DAY_CACHE_MAX_BYTES = 10
    shown(api)
    with counted_queries() as calls:
        shown(api)
    assert len(calls) == 2
    settings.TRACKING_DAY_CACHE_MAX_BYTES = 64 * 1024
    settings.TRACKING_DAY_CACHE_SIZE = 0
    shown(api)
    with counted_queries() as calls:
        shown(api)
    assert len(calls) == 2


def test_kept_days_are_read_consistently(api, mother, cycle):
    consistent = []

    def record(params, **_):
        consistent.append(params.get("ConsistentRead"))

    events = store.client().meta.events
    events.register("provide-client-params.dynamodb.Query", record)
    try:
        shown(api)
    finally:
        events.unregister("provide-client-params.dynamodb.Query", record)
    assert consistent == [True, True]
