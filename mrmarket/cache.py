"""Django's Redis cache backend with one Redis client per connection pool.

`django.core.cache.backends.redis.RedisCacheClient.get_client` builds a new `redis.Redis`
for every operation. With redis-py 6 that constructor fills a case-insensitive table of
~170 response callbacks each time: profiled on the strategy tick (issue 20) it was a third
of a session run's CPU (cache reads of market snapshots and balances). A `redis.Redis` is
safe to share between threads (every command borrows a connection from the pool) and its
pool re-creates connections after a fork, so one client per pool is kept.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property


class PooledRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        base: Any = self  # Django's private helpers (not in the stubs)
        index = base._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = base._client(
                connection_pool=base._get_connection_pool(write)
            )
        return client


class PooledRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache`, one client per pool."""

    @cached_property
    def _cache(self) -> PooledRedisCacheClient:
        base: Any = self  # set by RedisCache.__init__ (not in the stubs)
        return PooledRedisCacheClient(base._servers, **base._options)
