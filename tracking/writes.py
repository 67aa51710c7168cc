"""Delivering writes to DynamoDB exactly once, in order, in few calls.

Every create or upsert is a :class:`WriteOp` with a ``client_id`` (the client's, or one the
server makes up before the first attempt) and an entity id fixed before the first attempt.

**Keys are a function of the op.** A new entry's id is a ULID whose time is the entry's own
start time and whose 80 random bits are taken from ``sha256(user, client_id)``; a per-date or
per-week entry is keyed by its date or week; a search by its case-folded term. Writing an op
therefore always targets the same item, so applying it twice (a resent batch, two racing
requests, an outbox delivery repeated after a crash or an ambiguous timeout) leaves one item:
duplicates are impossible by construction, with or without any check.

**Classification and order.** One ``BatchGetItem`` (100 keys a call) reads the current items
behind the ops. A new entry whose item exists is a ``duplicate``. Upserts keep the last
``RECENT_CLIENT_IDS`` client ids that shaped them (``cids``), so a resent upsert is a
``duplicate``. All ops on one item are folded in order into its final state, and only final
states are written: new entries and searches with ``BatchWriteItem`` (25 items a call; no key
twice in a call; a sync of 500 new entries costs 5 ``BatchGetItem`` + 20 ``BatchWriteItem`` =
25 calls), entries kept per date or week each with a ``Put`` conditioned on its version, 100 to
a ``TransactWriteItems`` topped up with the writes that would leave the last ``BatchWriteItem``
part-filled (500 new entries of any kinds: at most 25 calls). A cancelled transaction's writes
go one by one, each entry kept per date with its own conditional ``PutItem``.

**Versions.** An entry kept per date or week carries ``version``: every write gives it one above
its current version and at least the write's time in milliseconds (:func:`version_clock`), so a
date's or week's versions only rise, through deletes and new entries too. It is written only
while it is at the version read, so a save landing between the read and the write is never
overwritten: the entry is read again and its ops folded on top. An op carrying ``base_version`` (a synced edit: the version its client read, 0 for none) is
``conflict`` unless the entry is at that version, and is not applied. Ops of one request share a
``batch`` and are checked against the entry as it stood before them; an op of another batch
applied to the entry first (queued writes of several requests delivered together) makes it a
conflict too.

A single new entry (the usual POST) is one conditional ``PutItem`` with
``attribute_not_exists(sk)``: a repeat fails the condition and is reported ``duplicate``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

from tracking import kept_days
from tracking.dynamo import keys, store
from tracking.dynamo.batches import BATCH_WRITE, GONE, TRANSACT_WRITE, transact_action, version_condition
from tracking.dynamo.batches import read as read_items
from tracking.dynamo.batches import write as write_items
from tracking.dynamo.store import TrackingUnavailable
from tracking.fields import now_ms as current_ms
from tracking.kinds import KINDS, SEARCHES, VERSIONED, VERSIONED_PREFIXES, next_version, normalise_term, version_of

logger = logging.getLogger("tracking.writes")

RECENT_CLIENT_IDS = 20
DELETE = "delete"              # data: {"table": "tracking" | "search", "sk": ...}
SEARCH_CLEAR = "search_clear"  # data: {}

CREATED = "created"
DUPLICATE = "duplicate"
CONFLICT = "conflict"  # an upsert whose entry changed since the client read it: not applied
INVALID = "invalid"
QUEUED = "queued"
FAILED = "failed"  # DynamoDB refused the write outright: nothing of it was stored
FAILED_MESSAGE = ("This entry could not be stored and nothing of it was kept. Send it again; if it is refused "
                  "again, check its values.")
UNAVAILABLE = "unavailable"  # internal: not delivered now (the caller queues or retries)

CONFLICT_MESSAGE = "This entry changed since it was read: read it again and resend the change on top of it."


@dataclass
class WriteOp:
    kind: str
    client_id: str
    data: dict[str, Any]
    entity_id: str = ""
    fresh: bool = False  # the client id was made up for this request: nothing can exist under it yet
    base_version: int | None = None  # upserts: the version the client read (0: no entry); None: no check
    batch: str = ""  # ops of one request share it: one client's edits, made on what it read before them


@dataclass
class OpResult:
    client_id: str
    status: str
    id: str | None = None
    message: str | None = None
    item: dict[str, Any] | None = None   # the item as it stands after the op
    existed: bool | None = None          # for upserts: whether the item was there before

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"client_id": self.client_id, "status": self.status}
        if self.id is not None:
            out["id"] = self.id
        if self.message:
            out["message"] = self.message
        return out


_clock_lock = threading.Lock()
_clock_last = 0


def version_clock() -> int:
    """Milliseconds since the epoch for a write's versions, never the same twice in this process
    and never going back: versions given out here are all distinct even within one millisecond."""
    global _clock_last
    with _clock_lock:
        _clock_last = max(_clock_last + 1, current_ms())
        return _clock_last


def server_client_id() -> str:
    return f"srv-{uuid.uuid4().hex}"


def _entity_id(*, kind: str, data: dict[str, Any], user_id: object, client_id: str | None) -> str:
    spec = KINDS[kind]
    if not spec.insert:
        return spec.new_entity_id(data)
    fresh = spec.new_entity_id(data)  # a ULID at the entry's own time with random bits
    if client_id is None:
        return fresh
    digest = int.from_bytes(hashlib.sha256(f"{user_id}|{client_id}".encode()).digest()[:10], "big")
    return keys.ulid_with(keys.ulid_ms(fresh), digest)


def make_op(*, kind: str, data: dict[str, Any], user_id: object, client_id: str | None = None,
            base_version: int | None = None) -> WriteOp:
    """A create/upsert op whose entity id is fixed now (a queued write keeps its id)."""
    return WriteOp(kind=kind, client_id=client_id or server_client_id(), data=data,
                   entity_id=_entity_id(kind=kind, data=data, user_id=user_id, client_id=client_id),
                   fresh=client_id is None,
                   base_version=base_version if kind in VERSIONED else None)


def delete_op(*, table: str, sk: str) -> WriteOp:
    return WriteOp(kind=DELETE, client_id=server_client_id(), data={"table": table, "sk": sk})


def search_clear_op() -> WriteOp:
    return WriteOp(kind=SEARCH_CLEAR, client_id=server_client_id(), data={})


def _key_of(op: WriteOp) -> tuple[str, str] | None:
    """(table alias, sort key) of the item an op writes; None for a clear."""
    if op.kind == DELETE:
        return op.data["table"], op.data["sk"]
    if op.kind == SEARCH_CLEAR:
        return None
    if op.kind == SEARCHES.name:
        return "search", keys.term_key(normalise_term(op.data["term"]))
    return "tracking", KINDS[op.kind].sk(op.entity_id)


def _touches_cycle_days(op: WriteOp) -> bool:
    key = _key_of(op)
    return key is not None and key[0] == "tracking" and key[1].startswith(keys.CYCLE_DAY)


def _is_upsert_key(key: tuple[str, str] | None) -> bool:
    return key is not None and key[0] == "tracking" and key[1].startswith(VERSIONED_PREFIXES)


def _new_item(*, op: WriteOp, pk: str, before: dict[str, Any] | None, now_ms: int,
              version: int = 1) -> dict[str, Any]:
    spec = KINDS[op.kind]
    if op.kind == SEARCHES.name:
        item = dict(spec.action(table="", pk=pk, entity_id=op.entity_id, data=op.data, now_ms=now_ms)["Put"]["Item"])
    elif spec.insert:
        item = dict(spec.action(table="", pk=pk, entity_id=op.entity_id, data=op.data, now_ms=now_ms)["Put"]["Item"])
        item["client_id"] = op.client_id
        return item
    else:
        item = spec.after(before=before, pk=pk, entity_id=op.entity_id, data=op.data, now_ms=now_ms)
        item["version"] = version
    recent = [c for c in (before or {}).get("cids", []) if c != op.client_id]
    item["cids"] = [*recent, op.client_id][-RECENT_CLIENT_IDS:]
    return item


# --- The general path: BatchGetItem, fold, BatchWriteItem and TransactWriteItems -----------------
def _fold(*, pk: str, ops: list[WriteOp], indices: list[int], current: dict[tuple[str, str], Any],
          stored: dict[tuple[str, str], Any], results: dict[int, OpResult], now_ms: int) -> dict[tuple[str, str], Any]:
    """Apply ``ops[indices]`` in order to ``current`` (the items as read, ``stored``, then as changed);
    returns the final state of every item changed. An upsert carrying a ``base_version`` is checked
    against the entry as stored: the ops of one ``batch`` are one client's, applied in order, and do
    not conflict with each other. An op of another batch applied to the entry before it (queued
    writes of several requests delivered together: a page's save, a delete, another device's sync)
    makes it a conflict, as it would be had each request's writes been delivered on their own."""
    finals: dict[tuple[str, str], Any] = {}
    clock_ms = version_clock()
    applied_by: dict[tuple[str, str], set[str]] = {}  # the batches whose ops changed each item so far
    for i in indices:
        op = ops[i]
        if op.kind == SEARCH_CLEAR:
            cleared = [k for k, v in current.items() if k[0] == "search" and v is not GONE]
            for key in cleared:
                current[key] = finals[key] = GONE
            results[i] = OpResult(op.client_id, CREATED)
            continue
        key = _key_of(op)
        before = current.get(key)
        before = None if before is GONE else before
        if op.kind == DELETE:
            current[key] = finals[key] = GONE
            applied_by.setdefault(key, set()).add(op.batch)
            results[i] = OpResult(op.client_id, CREATED)
            continue
        spec = KINDS[op.kind]
        if before is not None and (spec.insert or op.client_id in before.get("cids", [])):
            results[i] = OpResult(op.client_id, DUPLICATE, id=op.entity_id or None, item=before, existed=True)
            continue
        if op.base_version is not None and (version_of(stored.get(key)) != op.base_version
                                            or applied_by.get(key, set()) - {op.batch}):
            results[i] = OpResult(op.client_id, CONFLICT, id=op.entity_id or None, item=before,
                                  existed=before is not None, message=CONFLICT_MESSAGE)
            continue
        if op.kind == SEARCHES.name and before is not None and int(before["ts"]) >= int(op.data.get("timestamp") or 0):
            results[i] = OpResult(op.client_id, CREATED, id=op.entity_id, item=before, existed=True)
            continue  # an older synced search of a term searched since: nothing to change
        item = _new_item(op=op, pk=pk, before=before, now_ms=now_ms,
                         version=next_version(stored.get(key), clock_ms=clock_ms))
        current[key] = finals[key] = item
        applied_by.setdefault(key, set()).add(op.batch)
        results[i] = OpResult(op.client_id, CREATED, id=op.entity_id or None, item=item, existed=before is not None)
    return finals


def _apply_batch(*, pk: str, ops: list[WriteOp], live: list[int], results: dict[int, OpResult], now_ms: int,
                 respect_breaker: bool) -> None:
    wanted: list[tuple[str, str]] = []
    for i in live:
        key = _key_of(ops[i])
        if key and ops[i].kind != DELETE and not (ops[i].fresh and KINDS[ops[i].kind].insert) and key not in wanted:
            wanted.append(key)
    stored: dict[tuple[str, str], Any] = dict(read_items(pk=pk, wanted=wanted, respect_breaker=respect_breaker))
    if any(ops[i].kind == SEARCH_CLEAR for i in live):
        for item in store.query_all(store.search_table(), pk=pk, projection=["pk", "sk"], respect_breaker=respect_breaker):
            stored.setdefault(("search", item["sk"]), item)
    finals = _fold(pk=pk, ops=ops, indices=live, current=dict(stored), stored=stored, results=results, now_ms=now_ms)
    # Entries kept per date or week are each written with a condition on the version read, so a
    # save landing between this read and this write is never overwritten: 100 to a
    # TransactWriteItems, topped up with the other writes that would leave a BatchWriteItem
    # part-filled (500 new entries of any kinds: at most 20 write calls); everything else in batches.
    guarded = {key: state for key, state in finals.items() if state is not GONE and _is_upsert_key(key)}
    batched = [key for key in finals if key not in guarded]
    spare = len(batched) % BATCH_WRITE if guarded else 0
    if spare and (len(guarded) - 1) % TRANSACT_WRITE + 1 + spare > TRANSACT_WRITE:
        spare = 0  # no room left in the last transaction
    topped = batched[len(batched) - spare:]
    unwritten, batch_written = set(finals), False
    try:
        write_items(pk=pk, finals={k: finals[k] for k in batched[:len(batched) - spare]}, respect_breaker=respect_breaker)
        unwritten, batch_written = set(guarded) | set(topped), True
        in_transactions = [*guarded, *topped]
        for start in range(0, len(in_transactions), TRANSACT_WRITE):
            part = in_transactions[start:start + TRANSACT_WRITE]
            try:
                store.transact_write([transact_action(pk=pk, key=key, state=finals[key], stored=stored.get(key),
                                                       guarded=key in guarded) for key in part],
                                     respect_breaker=respect_breaker)
            except ClientError:  # an entry changed since it was read, or a refusal: one by one
                write_items(pk=pk, finals={key: finals[key] for key in part if key not in guarded},
                       respect_breaker=respect_breaker)
                for key in part:
                    if key in guarded:
                        _write_guarded_or_fail(pk=pk, key=key, state=finals[key], stored=stored.get(key), ops=ops,
                                               live=live, results=results, now_ms=now_ms,
                                               respect_breaker=respect_breaker)
                    unwritten.discard(key)
            unwritten.difference_update(part)
    except TrackingUnavailable:
        for i in live:  # an op counts only once the write carrying it went through; redo is safe
            result = results.get(i)
            if result is not None and result.status == CREATED and (
                    _key_of(ops[i]) in unwritten or (ops[i].kind == SEARCH_CLEAR and not batch_written)):
                results.pop(i)
        raise


def _write_guarded_or_fail(*, pk: str, key: tuple[str, str], state: dict[str, Any], stored: dict[str, Any] | None,
                           ops: list[WriteOp], live: list[int], results: dict[int, OpResult], now_ms: int,
                           respect_breaker: bool) -> None:
    """:func:`_write_guarded`; an entry DynamoDB refuses outright fails its own ops, the others stand."""
    try:
        _write_guarded(pk=pk, key=key, state=state, stored=stored, ops=ops, live=live, results=results,
                       now_ms=now_ms, respect_breaker=respect_breaker)
    except ClientError:
        for i in live:
            if results.get(i) is not None and results[i].status == CREATED and _key_of(ops[i]) == key:
                results[i] = OpResult(ops[i].client_id, FAILED, id=ops[i].entity_id or None,
                                      message=FAILED_MESSAGE)


def _write_guarded(*, pk: str, key: tuple[str, str], state: dict[str, Any], stored: dict[str, Any] | None,
                   ops: list[WriteOp], live: list[int], results: dict[int, OpResult], now_ms: int,
                   respect_breaker: bool) -> None:
    """One conditional ``PutItem`` of an entry's final state; when the entry changed meanwhile, its
    ops are folded again on top of what is there now (and checked against it)."""
    mine = [i for i in live if ops[i].kind != SEARCH_CLEAR and _key_of(ops[i]) == key]
    table = store.tracking_table()
    for _ in range(5):
        condition, names, values = version_condition(stored)
        try:
            store.put_item(table, item=state, condition=condition, names=names, values=values,
                           respect_breaker=respect_breaker)
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        time.sleep(0.01)
        stored = store.get_item(table, pk=pk, sk=key[1], respect_breaker=respect_breaker)
        final = _fold(pk=pk, ops=ops, indices=mine, current={key: stored}, stored={key: stored},
                      results=results, now_ms=now_ms).get(key)
        if final is None:
            return  # nothing left to write: each op is a duplicate or a conflict now
        if final is GONE:
            raise TrackingUnavailable("an entry deleted and written again in one batch kept changing")
        state = final
    raise TrackingUnavailable("kept losing to concurrent edits")


# --- The single new entry: one conditional PutItem -----------------------------------------------
def _apply_single_insert(*, pk: str, op: WriteOp, now_ms: int, respect_breaker: bool) -> OpResult:
    item = _new_item(op=op, pk=pk, before=None, now_ms=now_ms)
    try:
        store.put_item(store.tracking_table(), item=item, condition="attribute_not_exists(sk)",
                       respect_breaker=respect_breaker)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        return OpResult(op.client_id, DUPLICATE, id=op.entity_id, existed=True)
    return OpResult(op.client_id, CREATED, id=op.entity_id, item=item, existed=False)


def _apply_single_upsert(*, pk: str, op: WriteOp, now_ms: int, respect_breaker: bool) -> OpResult:
    table = store.tracking_table()
    sk = KINDS[op.kind].sk(op.entity_id)
    for _ in range(5):
        before = store.get_item(table, pk=pk, sk=sk, respect_breaker=respect_breaker)
        if before is not None and op.client_id in before.get("cids", []):
            return OpResult(op.client_id, DUPLICATE, id=op.entity_id, item=before, existed=True)
        if op.base_version is not None and version_of(before) != op.base_version:
            return OpResult(op.client_id, CONFLICT, id=op.entity_id, item=before, existed=before is not None,
                            message=CONFLICT_MESSAGE)
        item = _new_item(op=op, pk=pk, before=before, now_ms=now_ms,
                         version=next_version(before, clock_ms=version_clock()))
        condition, names, values = version_condition(before)
        try:
            store.put_item(table, item=item, condition=condition, names=names, values=values,
                           respect_breaker=respect_breaker)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            time.sleep(0.01)
            continue  # someone edited the same day meanwhile: read again and fold on top of it
        return OpResult(op.client_id, CREATED, id=op.entity_id, item=item, existed=before is not None)
    raise TrackingUnavailable("kept losing to concurrent edits")


def apply_ops(*, user_id: object, ops: list[WriteOp], respect_breaker: bool = True) -> list[OpResult]:
    """Deliver ``ops`` for one user, in order. Never queues anything itself: an op that could not
    be delivered now comes back ``unavailable``."""
    pk = keys.user_pk(user_id)
    now_ms = current_ms()
    results: dict[int, OpResult] = {}
    first_seen: dict[str, int] = {}
    live: list[int] = []
    for i, op in enumerate(ops):
        if op.kind not in (DELETE, SEARCH_CLEAR) and op.client_id in first_seen:
            earlier = ops[first_seen[op.client_id]]
            results[i] = OpResult(op.client_id, DUPLICATE, id=earlier.entity_id or None)
            continue
        first_seen[op.client_id] = i
        live.append(i)
    try:
        if len(live) == 1 and ops[live[0]].kind in KINDS and ops[live[0]].kind != SEARCHES.name:
            op = ops[live[0]]
            single = _apply_single_insert if KINDS[op.kind].insert else _apply_single_upsert
            results[live[0]] = single(pk=pk, op=op, now_ms=now_ms, respect_breaker=respect_breaker)
        elif live:
            _apply_batch(pk=pk, ops=ops, live=live, results=results, now_ms=now_ms, respect_breaker=respect_breaker)
    except TrackingUnavailable:
        pass
    finally:  # after DynamoDB answered, whatever it wrote: processes keeping these days read them again
        if any(_touches_cycle_days(ops[i]) for i in live):
            kept_days.cycle_days_written(user_id=user_id)
    return [results.get(i) or OpResult(op.client_id, UNAVAILABLE, id=op.entity_id or None) for i, op in enumerate(ops)]


def search_term_sk(term: str) -> str:
    return keys.term_key(normalise_term(term))


def search_trim(*, user_id: object) -> int:
    """Keep the newest ``SEARCH_HISTORY_MAX_TERMS`` terms; returns how many were removed."""
    pk = keys.user_pk(user_id)
    items = store.query_all(store.search_table(), pk=pk, projection=["sk", "ts"])
    extra = len(items) - settings.SEARCH_HISTORY_MAX_TERMS
    if extra <= 0:
        return 0
    oldest = sorted(items, key=lambda i: int(i["ts"]))[:extra]
    write_items(pk=pk, finals={("search", i["sk"]): GONE for i in oldest}, respect_breaker=True)
    return extra
