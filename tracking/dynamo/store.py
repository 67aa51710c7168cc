"""Every DynamoDB call of the tracking area goes through here.

- Each call runs inside :func:`guard`, which turns "DynamoDB cannot be reached or is refusing
  work" (connection errors, timeouts, throttling, 5xx, a missing table) into
  :class:`TrackingUnavailable`. Writes then go to the PostgreSQL outbox; reads answer 503.
- A small per-process breaker: after such a failure, calls to the same endpoint fail fast for
  ``TRACKING_BREAKER_SECONDS`` instead of each request waiting for timeouts and retries. The
  breaker is keyed by endpoint, so pointing the client somewhere else starts closed.
- Only ``Query``, ``GetItem``, ``BatchGetItem``, ``PutItem``, ``BatchWriteItem``,
  ``TransactWriteItems`` and ``DeleteItem``; every request path names the caller's own partition
  key. No ``Scan``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from phb.aws.clients import aws_resource, dynamodb_table
from phb.aws.dynamodb import query_pages

logger = logging.getLogger("tracking.dynamo")

_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ResourceNotFoundException",
    "UnrecognizedClientException",
}


class TrackingUnavailable(Exception):
    """DynamoDB could not do the work now (outage, throttling, missing table)."""


_breaker_lock = threading.Lock()
_open_until: dict[str, float] = {}


def _endpoint() -> str:
    return settings.AWS_ENDPOINT_URL or ""


def breaker_open() -> bool:
    return _open_until.get(_endpoint(), 0.0) > time.monotonic()


def _trip() -> None:
    seconds = float(settings.TRACKING_BREAKER_SECONDS)
    if seconds > 0:
        with _breaker_lock:
            _open_until[_endpoint()] = time.monotonic() + seconds


def _close() -> None:
    if _open_until:
        with _breaker_lock:
            _open_until.pop(_endpoint(), None)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, BotoCoreError):  # connection refused, timeouts, closed connections
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _UNAVAILABLE_CODES or status >= 500
    return False


@contextmanager
def guard(*, respect_breaker: bool = True) -> Iterator[None]:
    if respect_breaker and breaker_open():
        raise TrackingUnavailable("breaker open")
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        if is_unavailable(exc):
            _trip()
            logger.warning(
                "dynamodb unavailable",
                extra={"event": "tracking_dynamodb_unavailable", "error_type": type(exc).__name__},
            )
            raise TrackingUnavailable(type(exc).__name__) from exc
        raise
    else:
        _close()


def tracking_table() -> Any:
    return dynamodb_table(settings.PREGNANCY_TRACKING_TABLE)


def search_table() -> Any:
    return dynamodb_table(settings.SEARCH_HISTORY_TABLE)


def client() -> Any:
    """The resource's client: accepts plain Python values (Decimals) like the Table API does."""
    return aws_resource("dynamodb").meta.client


# --- Reads --------------------------------------------------------------------------------------
def query_page(
    table: Any,
    *,
    pk: str,
    prefix: str | None = None,
    between: tuple[str, str] | None = None,
    descending: bool = False,
    limit: int | None = None,
    start_sk: str | None = None,
    projection: list[str] | None = None,
    consistent: bool = False,
    respect_breaker: bool = True,
) -> tuple[list[dict[str, Any]], str | None]:
    """One ``Query`` on partition ``pk``. Returns the items and the last evaluated sort key."""
    names = {"#pk": "pk"}
    values: dict[str, Any] = {":pk": pk}
    condition = "#pk = :pk"
    if between is not None:
        condition += " AND #sk BETWEEN :lo AND :hi"
        values[":lo"], values[":hi"] = between
        names["#sk"] = "sk"
    elif prefix is not None:
        condition += " AND begins_with(#sk, :prefix)"
        values[":prefix"] = prefix
        names["#sk"] = "sk"
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ScanIndexForward": not descending,
    }
    if limit is not None:
        kwargs["Limit"] = int(limit)
    if consistent:
        kwargs["ConsistentRead"] = True
    if start_sk is not None:
        kwargs["ExclusiveStartKey"] = {"pk": pk, "sk": start_sk}  # the partition is always the caller's
    if projection:
        for i, attribute in enumerate(projection):
            names[f"#p{i}"] = attribute
        kwargs["ProjectionExpression"] = ", ".join(f"#p{i}" for i in range(len(projection)))
    with guard(respect_breaker=respect_breaker):
        response = table.query(**kwargs)
    last = response.get("LastEvaluatedKey")
    return response.get("Items", []), (last["sk"] if last else None)


def query_all(table: Any, *, max_pages: int = 20, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item matching (bounded by ``max_pages`` pages of up to 1 MB each)."""
    items: list[dict[str, Any]] = []
    start: str | None = None
    for _ in range(max_pages):
        page, start = query_page(table, start_sk=start, **kwargs)
        items.extend(page)
        if start is None:
            break
    return items


def query_responses(table: Any, *, max_pages: int, respect_breaker: bool = True,
                    **query: Any) -> Iterator[dict[str, Any]]:
    """The responses of one ``Query`` (``query`` as boto3 takes it, on an index: the reads across
    users), page by page, at most ``max_pages``."""
    def guarded(**arguments: Any) -> dict[str, Any]:
        with guard(respect_breaker=respect_breaker):
            return table.query(**arguments)

    return query_pages(guarded, max_pages=max_pages, **query)


def get_item(table: Any, *, pk: str, sk: str, respect_breaker: bool = True) -> dict[str, Any] | None:
    with guard(respect_breaker=respect_breaker):
        return table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")


def batch_get_many(requests: dict[str, list[dict[str, str]]], *,
                   respect_breaker: bool = True) -> dict[str, list[dict[str, Any]]]:
    """One ``BatchGetItem`` (at most 100 keys over the tables), re-asking for unprocessed keys."""
    found: dict[str, list[dict[str, Any]]] = {name: [] for name in requests}
    pending: dict[str, Any] = {name: {"Keys": keys, "ConsistentRead": True} for name, keys in requests.items() if keys}
    resource = aws_resource("dynamodb")
    for attempt in range(8):
        if not pending:
            return found
        with guard(respect_breaker=respect_breaker):
            response = resource.batch_get_item(RequestItems=pending)
        for name, items in response.get("Responses", {}).items():
            found.setdefault(name, []).extend(items)
        pending = response.get("UnprocessedKeys") or {}
        if pending:
            time.sleep(min(0.05 * 2**attempt, 1.0))
    _trip()
    raise TrackingUnavailable("unprocessed keys")


# --- Writes -------------------------------------------------------------------------------------
def batch_write(requests: dict[str, list[dict[str, Any]]], *, respect_breaker: bool = True) -> None:
    """One ``BatchWriteItem`` (at most 25 requests, no key twice), re-sending unprocessed items."""
    pending = {name: items for name, items in requests.items() if items}
    resource = aws_resource("dynamodb")
    for attempt in range(8):
        if not pending:
            return
        with guard(respect_breaker=respect_breaker):
            response = resource.batch_write_item(RequestItems=pending)
        pending = response.get("UnprocessedItems") or {}
        if pending:
            time.sleep(min(0.05 * 2**attempt, 1.0))
    _trip()
    raise TrackingUnavailable("unprocessed items")


def put_item(table: Any, *, item: dict[str, Any], condition: str | None = None,
             names: dict[str, str] | None = None, values: dict[str, Any] | None = None,
             respect_breaker: bool = True) -> None:
    """One ``PutItem``; a failed condition raises ``ClientError`` ConditionalCheckFailedException."""
    kwargs: dict[str, Any] = {"Item": item}
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = values
    with guard(respect_breaker=respect_breaker):
        table.put_item(**kwargs)


# The kinds of action a transaction may carry: the instance role is granted what these need
# (``phb.aws.iam``: PutItem and DeleteItem), not ConditionCheckItem or UpdateItem.
TRANSACT_ACTION_KINDS = frozenset({"Put", "Delete"})


def transact_write(actions: list[dict[str, Any]], *, respect_breaker: bool = True) -> None:
    """One ``TransactWriteItems`` (at most 100 actions, no item twice): all written or none. A
    failed condition raises ``ClientError`` TransactionCanceledException. Only ``Put`` and
    ``Delete`` actions (``TRANSACT_ACTION_KINDS``): another kind is a ``ValueError`` before any call."""
    other = {kind for action in actions for kind in action} - TRANSACT_ACTION_KINDS
    if other:
        raise ValueError(f"transaction actions the instance role is not granted: {sorted(other)}")
    with guard(respect_breaker=respect_breaker):
        client().transact_write_items(TransactItems=actions)


def delete_item(table: Any, *, pk: str, sk: str) -> bool:
    """Delete one item of the caller's partition; True when it existed."""
    with guard():
        response = table.delete_item(Key={"pk": pk, "sk": sk}, ReturnValues="ALL_OLD")
    return bool(response.get("Attributes"))


