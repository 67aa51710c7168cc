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
