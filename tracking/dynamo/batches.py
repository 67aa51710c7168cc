"""The DynamoDB calls behind :mod:`tracking.writes`: items read 100 to a ``BatchGetItem``, final
states written 25 to a ``BatchWriteItem`` or, with the condition an entry kept per date or week
carries, 100 to a ``TransactWriteItems``."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from tracking.dynamo import store

BATCH_WRITE = 25
TRANSACT_WRITE = 100
BATCH_GET = 100

GONE = object()  # the final state of a deleted item


def table_name(alias: str) -> str:
    return settings.SEARCH_HISTORY_TABLE if alias == "search" else settings.PREGNANCY_TRACKING_TABLE


def version_condition(stored: dict[str, Any] | None) -> tuple[str, dict[str, str] | None, dict[str, Any] | None]:
    """The condition that the item is still the one read as ``stored`` (condition, names, values)."""
    if stored is None:
        return "attribute_not_exists(sk)", None, None
    if "version" in stored:
        return "#v = :v", {"#v": "version"}, {":v": stored["version"]}
    return "attribute_exists(sk) AND attribute_not_exists(#v)", {"#v": "version"}, None


def read(*, pk: str, wanted: list[tuple[str, str]], respect_breaker: bool) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    by_table: dict[str, list[str]] = {}
    for alias, sk in wanted:
        by_table.setdefault(alias, []).append(sk)
    requests = [(alias, sk) for alias, sks in by_table.items() for sk in sks]
    for start in range(0, len(requests), BATCH_GET):
        part: dict[str, list[dict[str, str]]] = {}
        for alias, sk in requests[start:start + BATCH_GET]:
            part.setdefault(table_name(alias), []).append({"pk": pk, "sk": sk})
        for name, items in store.batch_get_many(part, respect_breaker=respect_breaker).items():
            alias = "search" if name == settings.SEARCH_HISTORY_TABLE else "tracking"
            for item in items:
                found[(alias, item["sk"])] = item
    return found


def write(*, pk: str, finals: dict[tuple[str, str], Any], respect_breaker: bool) -> set[tuple[str, str]]:
    """Write final states, 25 a call; returns the keys written (all of them, or raises after some)."""
    done: set[tuple[str, str]] = set()
    pending = list(finals.items())
    for start in range(0, len(pending), BATCH_WRITE):
        part = pending[start:start + BATCH_WRITE]
        requests: dict[str, list[dict[str, Any]]] = {}
        for (alias, sk), state in part:
            request = ({"DeleteRequest": {"Key": {"pk": pk, "sk": sk}}} if state is GONE
                       else {"PutRequest": {"Item": state}})
            requests.setdefault(table_name(alias), []).append(request)
        store.batch_write(requests, respect_breaker=respect_breaker)
        done.update(key for key, _ in part)
    return done


def transact_action(*, pk: str, key: tuple[str, str], state: Any, stored: dict[str, Any] | None,
                     guarded: bool) -> dict[str, Any]:
    """One action of a ``TransactWriteItems``: a guarded entry's put carries its version condition."""
    table = table_name(key[0])
    if state is GONE:
        return {"Delete": {"TableName": table, "Key": {"pk": pk, "sk": key[1]}}}
    put: dict[str, Any] = {"TableName": table, "Item": state}
    if guarded:
        condition, names, values = version_condition(stored)
        put["ConditionExpression"] = condition
        if names:
            put["ExpressionAttributeNames"] = names
        if values:
            put["ExpressionAttributeValues"] = values
    return {"Put": put}
