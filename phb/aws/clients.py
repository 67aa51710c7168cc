"""The one place that builds boto3 clients.

Clients are created lazily on first use (nothing reaches AWS at import time), cached per
process and per service, and rebuilt after a fork (a client must not cross a fork). Region,
endpoint (``AWS_ENDPOINT_URL``: the local moto server in development and tests), short
timeouts, standard retries and SigV4 for S3 all come from settings.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings

_lock = threading.Lock()
_cache: dict[tuple[int, str, str, str], Any] = {}
_session: tuple[int, boto3.session.Session] | None = None
_counters: list[Counter[str]] = []


def _boto_session() -> boto3.session.Session:
    global _session
    pid = os.getpid()
    if _session is None or _session[0] != pid:
        _session = (pid, boto3.session.Session())
    return _session[1]


def client_config(service: str) -> Config:
    kwargs: dict[str, Any] = {
        "region_name": settings.AWS_REGION,
        "connect_timeout": settings.AWS_CONNECT_TIMEOUT,
        "read_timeout": settings.AWS_READ_TIMEOUT,
        "retries": {"mode": "standard", "max_attempts": settings.AWS_MAX_ATTEMPTS},
        "tcp_keepalive": True,
    }
    if service == "s3":
        kwargs["signature_version"] = "s3v4"
        kwargs["s3"] = {"addressing_style": "path" if settings.AWS_ENDPOINT_URL else "virtual"}
    return Config(**kwargs)


def _count_call(service: str):
    def handler(model: Any = None, **_: Any) -> None:
        for counter in _counters:
            counter[f"{service}.{model.name}"] += 1

    return handler


def _guard(service: str):
    def handler(model: Any = None, **_: Any) -> None:
        from phb.netguard import check_outbound

        check_outbound(f"{service}.{getattr(model, 'name', 'call')}")

    return handler


def guard_client(client: Any, service: str) -> Any:
    """Count the client's calls and refuse (or report) them inside a database transaction."""
    client.meta.events.register("before-call.*.*", _count_call(service))
    client.meta.events.register("before-call.*.*", _guard(service))
    return client


def aws_client(service: str, *, region: str | None = None) -> Any:
    """A cached boto3 client for ``service``, built from settings on first use."""
    region = region or settings.AWS_REGION
    key = (os.getpid(), service, region, settings.AWS_ENDPOINT_URL or "")
    found = _cache.get(key)
    if found is not None:
        return found
    with _lock:
        found = _cache.get(key)
        if found is None:
            config = client_config(service).merge(Config(region_name=region))
            found = _boto_session().client(service, endpoint_url=settings.AWS_ENDPOINT_URL, config=config)
            _cache[key] = guard_client(found, service)
    return found


def probe_client(service: str) -> Any:
    """A client for health probes: one attempt, timeouts of ``READYZ_AWS_TIMEOUT`` seconds."""
    key = (os.getpid(), f"probe:{service}", settings.AWS_REGION, settings.AWS_ENDPOINT_URL or "")
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                timeout = settings.READYZ_AWS_TIMEOUT
                config = client_config(service).merge(
                    Config(connect_timeout=timeout, read_timeout=timeout, retries={"mode": "standard", "total_max_attempts": 1})
                )
                found = _boto_session().client(service, endpoint_url=settings.AWS_ENDPOINT_URL, config=config)
                _cache[key] = guard_client(found, service)
    return found


def aws_resource(service: str) -> Any:
    """A boto3 resource (DynamoDB tables) sharing the cached client's configuration."""
    key = (os.getpid(), f"resource:{service}", settings.AWS_REGION, settings.AWS_ENDPOINT_URL or "")
    found = _cache.get(key)
    if found is None:
        with _lock:
            found = _cache.get(key)
            if found is None:
                found = _boto_session().resource(
                    service, endpoint_url=settings.AWS_ENDPOINT_URL, config=client_config(service)
                )
                guard_client(found.meta.client, service)
                _cache[key] = found
    return found


def dynamodb_table(name: str) -> Any:
    """A cached DynamoDB ``Table`` of the cached resource: building one costs about a millisecond
    of CPU (boto3 creates its class from the resource model on every ``Table()`` call)."""
    key = (os.getpid(), f"table:{name}", settings.AWS_REGION, settings.AWS_ENDPOINT_URL or "")
    found = _cache.get(key)
    if found is None:
        table = aws_resource("dynamodb").Table(name)
        with _lock:
            found = _cache.setdefault(key, table)
    return found


def reset_clients() -> None:
    """Forget every cached client (after settings change in tests, or in a post_fork hook)."""
    with _lock:
        _cache.clear()


@contextmanager
def count_aws_calls() -> Iterator[Counter[str]]:
    """Count API calls made by this process while the block runs: ``{"dynamodb.Query": 1}``."""
    counter: Counter[str] = Counter()
    _counters.append(counter)
    try:
        yield counter
    finally:
        _counters.remove(counter)


def account_id() -> str:
    return aws_client("sts").get_caller_identity()["Account"]
