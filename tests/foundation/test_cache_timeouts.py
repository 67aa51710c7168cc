"""A Redis that accepts connections and never answers fails a cache call within the configured
timeout: a request (and any row lock it holds) never waits on it for longer."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.core.cache.backends.redis import RedisCache

from phb.settings.base import redis_cache


@pytest.fixture
def silent_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # read nothing, answer nothing
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_silent_redis_fails_the_call_within_the_timeout(silent_server, settings):
    url = f"redis://127.0.0.1:{silent_server}/0"
    config = redis_cache(url)["default"]
    assert config["OPTIONS"]["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT_SECONDS > 0
    cache = RedisCache(url, {"OPTIONS": {**config["OPTIONS"], "socket_timeout": 0.3}})
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        cache.get("throttle:key")
    assert time.monotonic() - started < 3
    assert "timeout" in type(caught.value).__name__.lower() or "timed out" in str(caught.value).lower()
