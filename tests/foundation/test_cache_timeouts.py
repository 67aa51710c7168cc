"""A Redis that accepts connections and never answers fails a cache call within the configured
timeout: a request (and any row lock it holds) never waits on it for longer."""

from __future__ import annotations

import time

import pytest

from phb.cache import RedisCache
from phb.settings.base import redis_cache
from tests.helpers import silent_server


def test_a_silent_redis_fails_the_call_within_the_timeout(settings):
    with silent_server() as port:
        url = f"redis://127.0.0.1:{port}/0"
        config = redis_cache(url)["default"]
        assert config["BACKEND"] == "phb.cache.RedisCache"
        assert config["OPTIONS"]["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT_SECONDS > 0
        cache = RedisCache(url, {"OPTIONS": {**config["OPTIONS"], "socket_timeout": 0.3}})
        started = time.monotonic()
        with pytest.raises(Exception) as caught:
            cache.get("throttle:key")
        assert time.monotonic() - started < 3
    assert "timeout" in type(caught.value).__name__.lower() or "timed out" in str(caught.value).lower()


@pytest.mark.django_db
@pytest.mark.parametrize("outage", ["silent", "refused"])
def test_sign_in_during_a_redis_outage_is_a_json_503_to_retry(outage):
    """The throttles count in Redis: while it is down or hung a sign-in cannot be counted, and the
    caller is told to try again shortly (503, Retry-After), not that the server broke (500)."""
    import socket

    from django.test import override_settings
    from rest_framework.test import APIClient

    from phb.api import errors

    def post(port: int):
        caches = redis_cache(f"redis://127.0.0.1:{port}/0")
        caches["default"]["OPTIONS"].update(socket_timeout=0.3, socket_connect_timeout=0.3)
        with override_settings(CACHES=caches):  # put back before the shared cache is cleared after the test
            return APIClient().post("/api/login/", {"email": "someone@example.org", "password": "x" * 12},
                                    format="json")

    with _capture(errors.logger) as lines:
        if outage == "silent":
            with silent_server() as port:
                response = post(port)
        else:
            closed = socket.socket()
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
            closed.close()  # nothing listens there: connections are refused
            response = post(port)
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "cache_unavailable" and "try again" in body["message"]
    assert int(response["Retry-After"]) >= 1
    assert not [r for r in lines if r.exc_info], "an outage is a warning, not a traceback per request"


def _capture(logger):
    import contextlib
    import logging

    @contextlib.contextmanager
    def capturing():
        found: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = found.append
        logger.addHandler(handler)
        try:
            yield found
        finally:
            logger.removeHandler(handler)

    return capturing()
