"""The shared venue rate limiter: every process of the service draws from the same buckets.

Design:
- GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp, the
  "theoretical arrival time") per bucket. Buckets: one per venue for the IP request weight,
  and one per (venue, account) for each order-rate limit. A request takes its weight from
  the IP bucket and, when it places an order, one unit from every order bucket, atomically.
- Reservation, not polling: `acquire` books the earliest slot that satisfies every bucket
  and returns how long to sleep until it; callers then sleep and send. Slots are spaced
  exactly, so many processes together run at the limit without retry storms. A slot
  further away than `max_wait` is not booked and `RateLimited` is raised instead.
- Orders in two phases. A request that places orders first books its place in the order
  queue (the order buckets alone) and sleeps until it; only then, at send time, does it take
  its IP weight together with one unit of each order bucket's *send* twin (same rate and
  burst). Booking the IP weight at a future order slot would move the IP bucket's
  theoretical arrival time there, and every other request of the venue (an order look-up,
  a balance) would queue behind it with IP capacity idle: on OKX, where completing a place
  needs a look-up, that cost 3-10 % of the order rate. The send twins keep the guarantee on
  the moments requests actually leave: if the IP weight delays a send, the next order's
  send waits as long, so no window ever holds more than the venue allows.
- Never exceeding a published window: for a limit of N per W seconds the bucket emits at
  `N * safety / W` per second with a burst of at most `N * (1 - safety)`, so any window of
  length W holds at most N requests even when the venue counts in fixed windows. `safety`
  (0.97 by default) also absorbs network jitter between our clock and the venue's.
- A 429/418 from the venue sets a shared "blocked until" key (per venue, covering the
  whole IP, since Binance bans by IP) from its Retry-After; every acquire waits it out.
- Backends: Redis (an atomic Lua script using Redis' own clock, so processes on different
  machines agree) when `REDIS_URL` is set; otherwise a file-locked JSON state under
  `VAR_DIR/ratelimit/` (fcntl.flock), which gives the same guarantee to every process on
  one machine — the embedded single-machine mode — and nothing across machines.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import redis
import structlog
from django.conf import settings

from exchanges.venues.base import RateLimited

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Window:
    """At most `limit` units per `seconds`."""

    limit: float
    seconds: float


@dataclass(frozen=True)
class VenueLimits:
    ip_weight: Window  # request weight per IP (all accounts on this machine share it)
    orders: tuple[Window, ...]  # new orders per account
    # ccxt's per-endpoint `cost` times this gives the venue's own weight unit.
    weight_per_ccxt_cost: float = 1.0
    source: str = ""


# Published limits. Each number cites where it comes from; the conservative reading is used
# when a venue publishes per-endpoint numbers (the tightest endpoint we call sets the bucket).
VENUE_LIMITS: dict[str, VenueLimits] = {
    # Binance spot: REQUEST_WEIGHT 6000 per minute per IP; ORDERS 100 per 10 s per account
    # (and 200,000 per day). https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits
    # and the `rateLimits` array of GET /api/v3/exchangeInfo. ccxt's binance spot costs are
    # in units of 1200/min (rateLimit 50 ms), so one ccxt cost unit = 5 Binance weight.
    "binance": VenueLimits(
        ip_weight=Window(6000, 60),
        orders=(Window(100, 10), Window(200_000, 86_400)),
        weight_per_ccxt_cost=5.0,
        source="https://developers.binance.com/docs/binance-spot-api-docs/rest-api/limits",
    ),
    # OKX v5: POST /api/v5/trade/order 60 requests per 2 s per user ID (+ instrument);
    # public market data (tickers, books) 20 requests per 2 s per IP, the tightest we use.
    # https://www.okx.com/docs-v5/en/#order-book-trading-trade-post-place-order and
    # https://www.okx.com/docs-v5/en/#order-book-trading-market-data-get-tickers
    "okx": VenueLimits(
        ip_weight=Window(20, 2),
        orders=(Window(60, 2),),
        source="https://www.okx.com/docs-v5/en/#overview-rate-limits",
    ),
    # Gate.io API v4: spot order placement/amendment 10 requests per second per user;
    # public endpoints 200 requests per 10 s per endpoint per IP.
    # https://www.gate.io/docs/developers/apiv4/en/#frequency-limit-rule
    "gate": VenueLimits(
        ip_weight=Window(200, 10),
        orders=(Window(10, 1),),
        source="https://www.gate.io/docs/developers/apiv4/en/#frequency-limit-rule",
    ),
    # MEXC spot v3: 500 weight per 10 s per IP and 500 per 10 s per UID; POST /api/v3/order
    # weight 1 (IP) and 1 (UID). https://mexcdevelop.github.io/apidocs/spot_v3_en/#limits
    "mexc": VenueLimits(
        ip_weight=Window(500, 10),
        orders=(Window(500, 10),),
        source="https://mexcdevelop.github.io/apidocs/spot_v3_en/#limits",
    ),
    # Bybit v5: 600 requests per 5 s per IP (HTTP IP limit); POST /v5/order/create spot
    # 20 per second per UID at the default (non-VIP) level.
    # https://bybit-exchange.github.io/docs/v5/rate-limit and
    # https://bybit-exchange.github.io/docs/v5/rate-limit/rules-for-vips
    "bybit": VenueLimits(
        ip_weight=Window(600, 5),
        orders=(Window(20, 1),),
        source="https://bybit-exchange.github.io/docs/v5/rate-limit",
    ),
}

# A venue we have no published numbers for gets a conservative default: 10 requests and
# 5 orders per second.
DEFAULT_LIMITS = VenueLimits(ip_weight=Window(10, 1), orders=(Window(5, 1),), source="default")

DEFAULT_SAFETY = 0.97


def limits_for(venue: str) -> VenueLimits:
    return VENUE_LIMITS.get(venue, DEFAULT_LIMITS)


@dataclass(frozen=True)
class Bucket:
    key: str
    interval: float  # seconds between units at the sustained rate
    tolerance: float  # GCRA tau: how far ahead of now the bucket may be booked (burst)

    @classmethod
    def for_window(cls, key: str, window: Window, safety: float) -> Bucket:
        rate = window.limit * safety / window.seconds
        burst = max(1, math.floor(window.limit * (1 - safety)))
        interval = 1.0 / rate
        return cls(key=key, interval=interval, tolerance=(burst - 1) * interval)


class RateLimitBackend(Protocol):
    def reserve(
        self, *, block_key: str, buckets: Sequence[tuple[Bucket, float]], max_wait: float
    ) -> float:
        """Book the earliest slot for every (bucket, cost); return seconds until it, or a
        negative number -w when the slot is further than max_wait (nothing booked)."""
        ...

    def block(self, *, block_key: str, seconds: float) -> None: ...


# KEYS[1] = blocked-until key; KEYS[2..] = bucket keys.
# ARGV[1] = max_wait_ms; then per bucket: interval_ms, tolerance_ms, cost.
# Times are Redis' own clock (TIME), so every machine agrees on them.
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local max_wait = tonumber(ARGV[1])
local start = now
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked > start then start = blocked end
local n = #KEYS - 1
local tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[2 + (i - 1) * 3])
  local tol = tonumber(ARGV[3 + (i - 1) * 3])
  local tat = tonumber(redis.call('GET', KEYS[i + 1]) or '0')
  tats[i] = tat
  local earliest = tat - tol
  if earliest > start then start = earliest end
end
local wait = start - now
if wait > max_wait then return tostring(-wait) end
for i = 1, n do
  local interval = tonumber(ARGV[2 + (i - 1) * 3])
  local cost = tonumber(ARGV[4 + (i - 1) * 3])
  local base = tats[i]
  if base < start then base = start end
  local new_tat = base + interval * cost
  redis.call('SET', KEYS[i + 1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1000)
end
return tostring(wait) .. ':' .. tostring(start)
"""

_BLOCK_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
  redis.call('SET', KEYS[1], string.format('%.3f', until_ms), 'PX', math.ceil(until_ms - now) + 1000)
end
return 1
"""


class RedisBackend:
    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self.last_slot: float | None = None  # the last booked slot (Redis clock, unix seconds)
        self._reserve = self._redis.register_script(_RESERVE_LUA)
        self._block = self._redis.register_script(_BLOCK_LUA)

    def reserve(
        self, *, block_key: str, buckets: Sequence[tuple[Bucket, float]], max_wait: float
    ) -> float:
        args: list[Any] = [max_wait * 1000]
        for bucket, cost in buckets:
            args += [bucket.interval * 1000, bucket.tolerance * 1000, cost]
        result = self._reserve(keys=[block_key, *[b.key for b, _ in buckets]], args=args)
        wait, _, start = (result.decode() if isinstance(result, bytes) else str(result)).partition(
            ":"
        )
        if start:
            self.last_slot = float(start) / 1000
        return float(wait) / 1000

    def block(self, *, block_key: str, seconds: float) -> None:
        self._block(keys=[block_key], args=[seconds * 1000])


class FileBackend:
    """Same algorithm in Python over a JSON file held under an exclusive flock: safe for
    every process on this machine (the embedded mode), meaningless across machines."""

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.time) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._dir = directory
        self._clock = clock  # unix seconds; tests inject a fixed one
        self.last_slot: float | None = None  # the last booked slot (this clock, unix seconds)

    def _path(self, block_key: str) -> Path:
        # One file per venue (the block key names it): all of a venue's buckets share a lock.
        digest = hashlib.sha256(block_key.encode()).hexdigest()[:16]
        return self._dir / f"{digest}.json"

    def _locked(self, block_key: str, fn: Any) -> Any:
        path = self._path(block_key)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = b""
            while chunk := os.read(fd, 65536):
                raw += chunk
            state: dict[str, float] = json.loads(raw) if raw.strip() else {}
            result, state = fn(state, self._clock())
            data = json.dumps(state).encode()
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
            return result
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def reserve(
        self, *, block_key: str, buckets: Sequence[tuple[Bucket, float]], max_wait: float
    ) -> float:
        def step(state: dict[str, float], now: float) -> tuple[float, dict[str, float]]:
            start = max(now, state.get(block_key, 0.0))
            for bucket, _ in buckets:
                start = max(start, state.get(bucket.key, 0.0) - bucket.tolerance)
            wait = start - now
            if wait > max_wait:
                return -wait, state
            for bucket, cost in buckets:
                state[bucket.key] = max(state.get(bucket.key, 0.0), start) + bucket.interval * cost
            self.last_slot = start
            # Forget buckets long idle so the file stays small.
            state = {k: v for k, v in state.items() if v > now - 60}
            return wait, state

        return float(self._locked(block_key, step))

    def block(self, *, block_key: str, seconds: float) -> None:
        def step(state: dict[str, float], now: float) -> tuple[None, dict[str, float]]:
            state[block_key] = max(state.get(block_key, 0.0), now + seconds)
            return None, state

        self._locked(block_key, step)


@dataclass
class VenueRateLimiter:
    """Acquire before every request; report 429/418 with `block`."""

    backend: RateLimitBackend
    prefix: str = "mrmarket:rl"
    safety: float = DEFAULT_SAFETY
    overrides: dict[str, VenueLimits] = field(default_factory=dict)
    sleep: Any = time.sleep

    def limits(self, venue: str) -> VenueLimits:
        return self.overrides.get(venue) or limits_for(venue)

    def _block_key(self, venue: str) -> str:
        return f"{self.prefix}:blocked:{venue}"

    def buckets(
        self, *, venue: str, account: str, weight: float, orders: int, sent: bool = False
    ) -> list[tuple[Bucket, float]]:
        """The (bucket, cost) pairs of one request; `sent` names the order buckets' send
        twins instead of their queues."""
        limits = self.limits(venue)
        out: list[tuple[Bucket, float]] = []
        if weight > 0:
            out.append(
                (
                    Bucket.for_window(f"{self.prefix}:ip:{venue}", limits.ip_weight, self.safety),
                    weight,
                )
            )
        if orders > 0:
            for window in limits.orders:
                key = f"{self.prefix}:orders:{venue}:{account}:{window.limit:g}/{window.seconds:g}"
                key += ":sent" if sent else ""
                out.append((Bucket.for_window(key, window, self.safety), float(orders)))
        return out

    def acquire(
        self,
        *,
        venue: str,
        account: str,
        weight: float = 1.0,
        orders: int = 0,
        max_wait: float = 30.0,
    ) -> float:
        """Wait for a slot; return the seconds waited. RateLimited if it is further than
        `max_wait` (nothing is booked then, so the caller may simply retry later). With
        `orders`, in two phases (see the module docstring): the order queue, then the send."""
        waited = 0.0
        if orders > 0:
            waited = self.queue(venue=venue, account=account, orders=orders, max_wait=max_wait)
        return waited + self.send(
            venue=venue, account=account, weight=weight, orders=orders, max_wait=max_wait
        )

    def queue(self, *, venue: str, account: str, orders: int, max_wait: float = 30.0) -> float:
        """Phase one of an order request: wait for its place in the account's order queue."""
        queue = self.buckets(venue=venue, account=account, weight=0, orders=orders)
        return self._reserve(venue, account, queue, max_wait)

    def send(
        self, *, venue: str, account: str, weight: float, orders: int, max_wait: float = 30.0
    ) -> float:
        """Phase two (or the only one, without orders): the IP weight and the order send
        twins, booked at the moment the request leaves."""
        buckets = self.buckets(
            venue=venue, account=account, weight=weight, orders=orders, sent=True
        )
        return self._reserve(venue, account, buckets, max_wait)

    def _reserve(
        self, venue: str, account: str, buckets: list[tuple[Bucket, float]], max_wait: float
    ) -> float:
        wait = self.backend.reserve(
            block_key=self._block_key(venue), buckets=buckets, max_wait=max_wait
        )
        if wait < 0:
            log.warning("ratelimit_wait_too_long", venue=venue, account=account, wait=-wait)
            raise RateLimited(
                f"rate limit slot for {venue} is {-wait:.1f}s away", retry_after=-wait, venue=venue
            )
        if wait > 0:
            self.sleep(wait)
        return wait

    def block(self, *, venue: str, seconds: float) -> None:
        """The venue said 429/418: nobody sends to it for `seconds`."""
        log.warning("ratelimit_venue_blocked", venue=venue, seconds=seconds)
        self.backend.block(block_key=self._block_key(venue), seconds=seconds)


_default: VenueRateLimiter | None = None


def default_rate_limiter() -> VenueRateLimiter:
    """The process-wide limiter: Redis when REDIS_URL is set, else the file backend."""
    global _default
    if _default is None:
        url = getattr(settings, "REDIS_URL", "")
        backend: RateLimitBackend
        if url:
            backend = RedisBackend(url)
        else:
            backend = FileBackend(Path(settings.VAR_DIR) / "ratelimit")
        _default = VenueRateLimiter(backend=backend)
    return _default
