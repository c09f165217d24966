"""Executor gates: how many intents may be on the wire at once — in total, per venue, per
session — so one busy venue or session cannot starve the rest, and a burst of intents
never becomes a burst of sockets.

With Redis (production) a gate is a sorted set of holders scored by expiry; one Lua script
drops expired holders, checks every gate's size against its limit and joins all of them
atomically, so the limits hold across every worker on every machine. A holder that dies
expires after the sending timeout. Without Redis (the embedded single-machine mode) the
gates count intents in `sending` in the database: the same limits, but two executors
racing may overshoot by one each (there is only one machine and few workers there).
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta

import redis
from django.conf import settings

from strategy import venues
from strategy.enums import IntentStatus
from strategy.models import OrderIntent

_ACQUIRE = """
local now = tonumber(ARGV[1])
local expires = tonumber(ARGV[2])
local member = ARGV[3]
local n = #KEYS
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZSCORE', KEYS[i], member) == false then
    if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[3 + i]) then
      return 0
    end
  end
end
for i = 1, n do
  redis.call('ZADD', KEYS[i], expires, member)
  redis.call('EXPIRE', KEYS[i], 3600)
end
return 1
"""


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _keys(exchange_id: str, session_id: int | None) -> list[tuple[str, int]]:
    keys = [
        ("strategy:gate:global", settings.STRATEGY_MAX_INFLIGHT_GLOBAL),
        (f"strategy:gate:venue:{exchange_id}", settings.STRATEGY_MAX_INFLIGHT_VENUE),
    ]
    if session_id is not None:
        keys.append((f"strategy:gate:session:{session_id}", settings.STRATEGY_MAX_INFLIGHT_SESSION))
    return keys


def acquire(*, intent_id: int, exchange_id: str, session_id: int | None) -> bool:
    """Join every gate of the intent, or none. True when it may be sent now."""
    if settings.REDIS_URL:
        keys = _keys(exchange_id, session_id)
        now = time.time()
        expires = now + settings.STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS
        script = _redis().register_script(_ACQUIRE)
        ok = script(
            keys=[k for k, _ in keys],
            args=[now, expires, str(intent_id), *[limit for _, limit in keys]],
        )
        return bool(ok)
    return _acquire_db(intent_id=intent_id, exchange_id=exchange_id, session_id=session_id)


def release(*, intent_id: int, exchange_id: str, session_id: int | None) -> None:
    if settings.REDIS_URL:
        pipe = _redis().pipeline()
        for key, _ in _keys(exchange_id, session_id):
            pipe.zrem(key, str(intent_id))
        pipe.execute()


def _acquire_db(*, intent_id: int, exchange_id: str, session_id: int | None) -> bool:
    fresh = venues.now() - timedelta(seconds=settings.STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS)
    sending = OrderIntent.objects.filter(
        status=IntentStatus.SENDING, sending_since__gt=fresh
    ).exclude(pk=intent_id)
    if sending.count() >= settings.STRATEGY_MAX_INFLIGHT_GLOBAL:
        return False
    if sending.filter(exchange_id=exchange_id).count() >= settings.STRATEGY_MAX_INFLIGHT_VENUE:
        return False
    if session_id is not None and (
        sending.filter(session_id=session_id).count() >= settings.STRATEGY_MAX_INFLIGHT_SESSION
    ):
        return False
    return True
