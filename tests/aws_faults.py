"""AWS failing under the service, injected where boto3 itself would fail: a botocore event hook
that raises the error a dead endpoint raises, before the request is sent (no code of ours mocked)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import EndpointConnectionError


@contextmanager
def before_calls(client, *operations: str, handler) -> Iterator[None]:
    """Within the block, ``handler`` runs before each call of ``operations`` (API names) by this
    boto3 client or any client of its service sharing its event system; raising there fails the
    call as botocore would, before anything is sent."""
    events = client.meta.events
    service = client.meta.service_model.service_id.hyphenize()
    names = [f"before-call.{service}.{operation}" for operation in operations]
    for name in names:
        events.register(name, handler)
    try:
        yield
    finally:
        for name in names:
            events.unregister(name, handler)


@contextmanager
def unreachable(client, *operations: str, after: int = 0) -> Iterator[None]:
    """Within the block, ``operations`` of this boto3 client (its service's API names, e.g.
    ``"GenerateDataKey"``) cannot connect, once ``after`` calls of them have gone through."""
    service = client.meta.service_model.service_id.hyphenize()
    calls = {"n": 0}

    def refuse(**_):
        calls["n"] += 1
        if calls["n"] > after:
            raise EndpointConnectionError(endpoint_url=f"http://{service}.invalid")

    with before_calls(client, *operations, handler=refuse):
        yield
