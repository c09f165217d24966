"""Rate limits that hold under concurrency: atomic fixed-window counters in the cache.

DRF's `SimpleRateThrottle` keeps a list of timestamps and writes it back with `cache.set`:
two requests that read the list at the same time both pass, so 8 parallel clients were
never throttled. Here every hit is one atomic increment:

* Redis (`REDIS_URL`, every multi-process deployment): `SET key 0 NX EX window` then
  `INCR key` — both atomic on the server, so N concurrent hits see N distinct counts and
  exactly `limit` of them pass, whatever the number of processes.
* The embedded file cache: the same two steps under an exclusive `flock` on a file under
  `VAR_DIR`, which serializes them across the threads and processes of one machine.

A window starts at its first hit and lasts `window` seconds (the key's TTL); the time left is
read from a companion key holding the window's start, for `Retry-After`. Fixed windows allow
up to twice the rate across a window boundary; the limits here (logins, failed
authentications, abuse) are set with that in mind.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import throttling
from rest_framework.request import Request

# Injected clock (seconds since the epoch): tests replace it instead of sleeping.
clock: Callable[[], float] = time.time

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """`"5/min"`, `"300/m"`, `"10/hour"`: DRF's notation."""
        count, period = text.split("/")
        return cls(limit=int(count), window=_PERIODS[period.strip()[0].lower()])


def _redis_backed() -> bool:
    return "redis" in type(cache).__module__.lower() or "Redis" in type(cache).__name__


@contextmanager
def _serialized() -> Iterator[None]:
    if _redis_backed():
        yield
        return
    path = settings.VAR_DIR / "throttle.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Hit:
    count: int
    wait: float

    def over(self, limit: int) -> bool:
        return self.count > limit


def counter_hit(key: str, window: int) -> Hit:
    """Count one event in `key`'s current window; returns the count including this one."""
    now = clock()
    with _serialized():
        for _ in range(3):
            if cache.add(key, 0, timeout=window):
                cache.set(f"{key}:t", now, timeout=window)
            try:
                count = int(cache.incr(key))
                break
            except ValueError:
                continue  # expired between add and incr: start the next window
        else:  # pragma: no cover - three expiries in a row
            count = 1
        started = cache.get(f"{key}:t")
    started = float(started) if started is not None else now
    return Hit(count=count, wait=max(0.0, started + window - now))


def counter_peek(key: str, window: int) -> Hit:
    now = clock()
    count = cache.get(key)
    started = cache.get(f"{key}:t")
    started = float(started) if started is not None else now
    return Hit(count=int(count or 0), wait=max(0.0, started + window - now))


def counter_clear(*keys: str) -> None:
    cache.delete_many([k for key in keys for k in (key, f"{key}:t")])


def client_address(request: Any) -> str:
    """The client address DRF's throttles use (X-Forwarded-For only behind NUM_PROXIES)."""
    if request is None:
        return "internal"
    return throttling.BaseThrottle().get_ident(request) or "unknown"


class _AtomicRateThrottle(throttling.SimpleRateThrottle):
    """DRF's throttle interface over `counter_hit` (same rates and scopes, atomic counts)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        rate = Rate.parse(self.rate)
        hit = counter_hit(f"throttle:{key}", rate.window)
        self._wait = hit.wait
        return not hit.over(rate.limit)

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)

    def get_rate(self) -> str | None:
        # DRF copies the rates into a class attribute at import; read the live setting
        # unless a class was given rates of its own.
        own = self.THROTTLE_RATES is not throttling.SimpleRateThrottle.THROTTLE_RATES
        rates = self.THROTTLE_RATES if own else _rates()
        return rates.get(self.scope) if self.scope else None


class AnonRateThrottle(_AtomicRateThrottle, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_AtomicRateThrottle, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_AtomicRateThrottle, throttling.ScopedRateThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        # DRF's scoped throttle picks its rate from the view at request time.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return _AtomicRateThrottle.allow_request(self, request, view)


def _rates() -> dict[str, str]:
    rates: dict[str, str] = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # type: ignore[assignment]  # REST_FRAMEWORK is dict[str, object]
    return rates


def rate_setting(scope: str) -> Rate:
    rates = _rates()
    return Rate.parse(rates[scope])
