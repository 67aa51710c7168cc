"""Reusable assertions for every area's tests."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from rest_framework.test import APIClient

from accounts.cookies import issue_tokens


def client_for(user=None) -> APIClient:
    """An API client signed in as ``user`` with the real httpOnly access cookie (anonymous if None)."""
    client = APIClient()
    if user is not None:
        refresh = issue_tokens(user=user)
        client.cookies[settings.AUTH_COOKIE_ACCESS] = str(refresh.access_token)
    return client


def repeated_statements(queries: Any) -> list[str]:
    """The SQL statements a captured request (``CaptureQueriesContext``) ran more than once."""
    counts = Counter(q["sql"] for q in queries.captured_queries)
    return [sql for sql, n in counts.items() if n > 1]


def call(client: APIClient, method: str, url: str, data: Any = None, *, format: str | None = "json", **extra):
    handler = getattr(client, method.lower())
    if data is None:
        return handler(url, **extra)
    if method.lower() == "get":
        return handler(url, data, **extra)
    return handler(url, data, format=format, **extra)


def assert_private(
    url: str,
    *,
    owner=None,
    stranger,
    method: str = "get",
    data: Any = None,
    format: str | None = "json",
    anonymous_status: int = 401,
    owner_status: int | None = None,
    **extra,
) -> None:
    """Anonymous callers get 401, another user gets 404 (never 403, never the data).

    When ``owner`` and ``owner_status`` are given, also checks that the owner gets that status,
    so the test cannot pass just because the URL is wrong.
    """
    anon = call(client_for(None), method, url, data, format=format, **extra)
    assert anon.status_code == anonymous_status, (url, anon.status_code, _body(anon))
    assert "message" in anon.json(), anon.content[:200]
    other = call(client_for(stranger), method, url, data, format=format, **extra)
    assert other.status_code == 404, (url, other.status_code, _body(other))
    assert "message" in other.json()
    if owner is not None and owner_status is not None:
        mine = call(client_for(owner), method, url, data, format=format, **extra)
        assert mine.status_code == owner_status, (url, mine.status_code, _body(mine))


def _body(response) -> Any:
    try:
        return response.json()
    except Exception:
        return response.content[:300]


@contextmanager
def silent_server() -> Iterator[int]:
    """A loopback TCP port that accepts connections and never answers (a hung Redis or CloudWatch)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])  # read nothing, answer nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def migrate_to_latest():
    """Every migration applied (the schema the tests after a migration test read); returns the
    executor, its loader reflecting the database."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    return MigrationExecutor(connection)


def admin_form_data(page) -> dict[str, Any]:
    """What a Django admin change page's form would send back as it stands: its fields and its
    inlines' management counts (``page``: the test client's response to the change page)."""
    form = page.context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{name}": value for name, value in management.initial.items()})
    return data


def answered_before_work(send: Callable[[], Any]) -> tuple[Any, list[str], int]:
    """``send()``'s response, the account tables read before it was answered and the jobs left
    for after the answer (``phb.afterresponse``): what a caller can learn from the answer's timing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from phb import afterresponse
    from phb.middleware import register_after_response, unregister_after_response

    seen: dict = {}

    def hook(request, response, duration_ms):
        seen["tables"] = sorted({word.strip('"') for q in queries.captured_queries for word in q["sql"].split()
                                 if word.startswith('"accounts_')})
        seen["deferred"] = afterresponse.pending()

    register_after_response(hook)
    try:
        with CaptureQueriesContext(connection) as queries:
            response = send()
    finally:
        unregister_after_response(hook)
    return response, seen["tables"], seen["deferred"]
