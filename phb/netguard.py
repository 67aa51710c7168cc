"""No database transaction stays open while the service waits on the network.

A transaction held across an AWS, Paystack or email call keeps its row locks (and, on SQLite,
the database's write lock) for as long as the far side takes to answer, so one slow dependency
stalls every other writer. Every outbound call passes :func:`check_outbound` first (boto3
clients through an event hook in ``phb.aws.clients``, S3 storages in ``phb.aws.storage``, the
Paystack client through an httpx request hook, email in ``phb.notify``). The pattern to follow
instead is: claim the work and commit, make the call, then record the outcome in a new
transaction.

``NETWORK_CALL_IN_TRANSACTION``: ``"log"`` (production: one warning line and the
``NetworkCallInTransaction`` metric, the call goes ahead), ``"raise"`` (tests: the call is
refused and remembered, so a test fails even when the caller swallows the error), ``"off"``.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connections

logger = logging.getLogger("phb.netguard")
_lock = threading.Lock()
_seen: list[str] = []


class TransactionHeldAcrossNetworkCall(RuntimeError):
    """An outbound call was attempted while a database transaction was open."""


def open_transactions() -> list[str]:
    """Aliases of this thread's connections inside a transaction the code opened (a test case's
    own wrapping transaction does not count)."""
    held = []
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            continue
        if any(not getattr(block, "_from_testcase", False) for block in conn.atomic_blocks):
            held.append(conn.alias)
    return held


def check_outbound(target: str) -> None:
    """Call before waiting on ``target`` (e.g. ``"dynamodb.PutItem"``, ``"paystack"``, ``"email"``)."""
    mode = getattr(settings, "NETWORK_CALL_IN_TRANSACTION", "log")
    if mode == "off":
        return
    held = open_transactions()
    if not held:
        return
    logger.warning("network call inside a database transaction",
                   extra={"event": "network_call_in_transaction", "target": target})
    from phb import metrics

    metrics.record("NetworkCallInTransaction", area="App")
    if mode == "raise":
        with _lock:
            _seen.append(target)
        raise TransactionHeldAcrossNetworkCall(f"{target} called inside a database transaction ({', '.join(held)})")


def take_violations() -> list[str]:
    """Targets refused since the last call (tests check this after each test)."""
    with _lock:
        found = list(_seen)
        _seen.clear()
    return found
