"""provision_aws creates the tracking tables and indexes; the outbox command and admin behave."""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib import admin
from django.core.management import call_command

from phb.aws.clients import aws_client
from tests.tracking.conftest import WH, dynamodb_outage
from tracking.models import (
    BirthPlan,
    HealthGoal,
    MenstrualCycle,
    OutboxState,
    PregnancyPlanner,
    TrackingOutbox,
    WomensHealthProfile,
)


def _describe(name: str) -> dict:
    return aws_client("dynamodb").describe_table(TableName=name)["Table"]


def test_tables_and_indexes_exist():
    ddb = aws_client("dynamodb")
    tracking = _describe(settings.PREGNANCY_TRACKING_TABLE)
    assert {(k["AttributeName"], k["KeyType"]) for k in tracking["KeySchema"]} == {("pk", "HASH"), ("sk", "RANGE")}
    index = {i["IndexName"]: i for i in tracking["GlobalSecondaryIndexes"]}["data-type-time-index"]
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [("data_type", "HASH"), ("ts", "RANGE")]
    assert tracking["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert tracking["SSEDescription"]["Status"] == "ENABLED"

    search = _describe(settings.SEARCH_HISTORY_TABLE)
    index = {i["IndexName"]: i for i in search["GlobalSecondaryIndexes"]}["search-term-index"]
    assert [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]] == [("term_day", "HASH"),
                                                                               ("term_norm", "RANGE")]
    assert index["Projection"]["ProjectionType"] == "KEYS_ONLY"
    for name in (settings.PREGNANCY_TRACKING_TABLE, settings.SEARCH_HISTORY_TABLE):
        backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    out = io.StringIO()
    call_command("provision_aws", "--check", stdout=out)
    mine = [line for line in out.getvalue().splitlines()
            if settings.PREGNANCY_TRACKING_TABLE in line or settings.SEARCH_HISTORY_TABLE in line]
    assert len(mine) == 2 and all(line.startswith("unchanged") for line in mine), mine


def test_drain_outbox_command_reports_and_keeps_order_across_users(api, mother, stranger, settings):
    from tests.helpers import client_for

    settings.TRACKING_BREAKER_SECONDS = 0
    with dynamodb_outage():
        for mood in ("low", "neutral", "good"):
            api.post(f"{WH}/logs/", {"date": "2025-07-01", "mood": mood}, format="json")
        client_for(stranger).post(f"{WH}/logs/", {"date": "2025-07-01", "mood": "poor"}, format="json")
    out = io.StringIO()
    call_command("drain_outbox", "--json", stdout=out)
    assert '"delivered": 4' in out.getvalue() and '"remaining": 0' in out.getvalue()
    assert set(TrackingOutbox.objects.values_list("state", flat=True)) == {OutboxState.DELIVERED}
    mine = api.get(f"{WH}/logs/", {"start_date": "2025-07-01", "end_date": "2025-07-01"}).json()["logs"][0]
    theirs = client_for(stranger).get(f"{WH}/logs/", {"start_date": "2025-07-01", "end_date": "2025-07-01"})
    assert mine["mood"] == "good" and theirs.json()["logs"][0]["mood"] == "poor"

    call_command("drain_outbox", "--purge-days", "0", stdout=io.StringIO())
    assert TrackingOutbox.objects.count() == 4


def test_background_drain_after_a_successful_request(mother, stranger, settings):
    from tests.helpers import client_for
    from tracking import outbox

    settings.TRACKING_BREAKER_SECONDS = 0
    with dynamodb_outage():
        client_for(mother).post(f"{WH}/kick-sessions/", {"date": "2025-07-02T08:00:00Z", "kicks": 2, "duration": 9},
                                format="json")
    assert outbox.pending_count() == 1
    outbox._last_background = 0.0  # as in a fresh worker
    client_for(stranger).get(f"{WH}/goals/")  # someone else's successful request
    assert outbox.pending_count() == 0


def test_admin_registrations():
    for model in (WomensHealthProfile, MenstrualCycle, HealthGoal, BirthPlan, PregnancyPlanner, TrackingOutbox):
        model_admin = admin.site._registry[model]
        assert model_admin.list_filter and model_admin.search_fields
    outbox_admin = admin.site._registry[TrackingOutbox]
    assert not outbox_admin.has_add_permission(None) and not outbox_admin.has_delete_permission(None)
    assert "payload" in outbox_admin.exclude and "document" in admin.site._registry[BirthPlan].exclude


def test_activity_counts_use_the_data_type_index(api):
    from datetime import UTC, datetime, timedelta

    from phb.aws.clients import count_aws_calls

    now = datetime.now(UTC)
    for hours in (1, 2, 30 * 24):
        moment = (now - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
        api.post(f"{WH}/kick-sessions/", {"date": moment, "kicks": 10, "duration": 60}, format="json")
    out = io.StringIO()
    with count_aws_calls() as calls:
        call_command("tracking_activity", "--days", "7", stdout=out)
    assert "kick_session: 2" in out.getvalue()
    assert set(calls) == {"dynamodb.Query"}
