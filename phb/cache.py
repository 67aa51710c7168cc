"""The shared cache's Redis backend, with every call passing ``phb.netguard`` first.

Redis is a network call like any other: a request that reads or writes it while a database
transaction is open keeps that transaction's row locks for as long as Redis takes to answer (up to
``REDIS_SOCKET_TIMEOUT_SECONDS`` when it stops answering). Every operation of Django's Redis cache
asks its client for a connection first, so that is where the check goes.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

from phb.netguard import check_outbound


class GuardedRedisCacheClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        check_outbound("redis")
        return super().get_client(key, write=write)


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = GuardedRedisCacheClient
