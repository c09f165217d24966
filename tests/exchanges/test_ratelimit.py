"""The shared rate limiter: GCRA buckets, blocking on 429/418, and many processes together."""

from __future__ import annotations

import math
import multiprocessing
import os
import uuid
from pathlib import Path

import pytest

from exchanges.venues.base import RateLimited
from exchanges.venues.ratelimit import (
    VENUE_LIMITS,
    Bucket,
    FileBackend,
    RedisBackend,
    VenueLimits,
    VenueRateLimiter,
    Window,
)


def test_published_limits_cover_the_required_venues_with_a_source() -> None:
    assert {"binance", "okx", "gate", "mexc", "bybit"} <= set(VENUE_LIMITS)
    assert all(v.source.startswith("https://") for v in VENUE_LIMITS.values())


@pytest.mark.parametrize("limit,seconds", [(10, 1), (100, 10), (6000, 60), (20, 2)])
def test_bucket_never_admits_more_than_the_limit_in_any_window(limit: int, seconds: float) -> None:
    bucket = Bucket.for_window("k", Window(limit, seconds), 0.97)
    # GCRA admits at most floor((W + tau) / T) + 1 requests in any window of length W
    assert math.floor((seconds + bucket.tolerance) / bucket.interval + 1e-9) + 1 <= limit


T0 = 1_750_000_000.0
WIDE_IP = Window(1000, 1)  # an IP limit no test here reaches


class ManualClock:
    """The limiter's clock, moved only by the test or by the limiter's own sleeps."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _limiter(
    tmp_path: Path,
    limit: float = 10,
    seconds: float = 1,
    clock: ManualClock | None = None,
    ip: Window = WIDE_IP,
) -> VenueRateLimiter:
    # A fixed clock: every wait is then exactly the booked slot's offset from "now".
    return VenueRateLimiter(
        backend=FileBackend(tmp_path, clock=clock or (lambda: T0)),
        prefix="t",
        overrides={"v": VenueLimits(ip_weight=ip, orders=(Window(limit, seconds),))},
    )


def test_orders_are_spaced_at_the_sustained_rate(tmp_path: Path) -> None:
    clock = ManualClock()
    limiter = _limiter(tmp_path, clock=clock)
    limiter.sleep = clock.sleep  # each acquire sleeps until its slot, as a caller would
    sent = []
    for _ in range(5):
        limiter.acquire(venue="v", account="a", weight=1, orders=1)
        sent.append(clock.now - T0)
    # given 10/s with 3% headroom: the orders leave 1/9.7 s apart
    step = 1 / 9.7
    for i, t in enumerate(sent):
        assert abs(t - i * step) < 1e-6  # the state file keeps floats of unix time


def test_a_look_up_is_not_queued_behind_orders_booked_for_later(tmp_path: Path) -> None:
    # given four processes that booked the next four order slots and sleep until them
    clock = ManualClock()
    limiter = _limiter(tmp_path, clock=clock, ip=Window(20, 2))
    limiter.sleep = lambda s: None
    slots = [limiter.queue(venue="v", account="a", orders=1) for _ in range(4)]
    assert slots[-1] > 0.3
    # when another request of the venue (an order look-up) comes now
    # then it goes now: the IP weight of the queued orders is not booked at their slots
    assert limiter.acquire(venue="v", account="a", weight=1 / 3) == 0


def test_a_send_delayed_by_the_ip_weight_delays_the_next_order_as_much(tmp_path: Path) -> None:
    # given two queued orders, and a look-up that took the IP bucket's next slot just now
    clock = ManualClock()
    limiter = _limiter(tmp_path, clock=clock, ip=Window(10, 1))
    limiter.sleep = lambda s: None
    assert limiter.queue(venue="v", account="a", orders=1) == 0
    step = 1 / 9.7
    assert abs(limiter.queue(venue="v", account="a", orders=1) - step) < 1e-6
    limiter.send(venue="v", account="a", weight=1, orders=0)
    # when the first order leaves, it waits for the IP bucket (one slot of it)
    delay = limiter.send(venue="v", account="a", weight=1, orders=1)
    assert abs(delay - step) < 1e-6
    # then the second, due one order step after the first's slot, leaves one order step
    # after the first actually left: the venue never sees two orders closer than allowed
    clock.now = T0 + step
    assert abs(limiter.send(venue="v", account="a", weight=0, orders=1) - step) < 1e-6


def test_accounts_have_separate_order_buckets(tmp_path: Path) -> None:
    limiter = _limiter(tmp_path)
    waits: list[float] = []
    limiter.sleep = waits.append
    limiter.acquire(venue="v", account="a", orders=1)
    got = limiter.acquire(venue="v", account="b", orders=1)
    assert got == 0


def test_a_slot_further_than_max_wait_raises_and_books_nothing(tmp_path: Path) -> None:
    limiter = _limiter(tmp_path, limit=1, seconds=10)
    limiter.sleep = lambda s: None
    limiter.acquire(venue="v", account="a", orders=1)
    with pytest.raises(RateLimited) as info:
        limiter.acquire(venue="v", account="a", orders=1, max_wait=1)
    assert info.value.retry_after is not None and info.value.retry_after > 9


def test_block_makes_everyone_wait_for_retry_after(tmp_path: Path) -> None:
    limiter = _limiter(tmp_path)
    waits: list[float] = []
    limiter.sleep = waits.append
    limiter.block(venue="v", seconds=2)
    limiter.acquire(venue="v", account="other", weight=1)
    assert waits == [2.0]


def _hammer(
    backend_spec: tuple[str, str], prefix: str, n: int, out: multiprocessing.Queue[float]
) -> None:
    kind, where = backend_spec
    backend = RedisBackend(where) if kind == "redis" else FileBackend(Path(where))
    limiter = VenueRateLimiter(
        backend=backend,
        prefix=prefix,
        overrides={"v": VenueLimits(ip_weight=Window(10_000, 1), orders=(Window(40, 1),))},
    )
    for _ in range(n):
        limiter.acquire(venue="v", account="shared", weight=1, orders=1)
        # The booked slot, not when this process woke up: a busy machine delays wake-ups
        # (bunching them) but cannot move the slots the shared bucket handed out.
        assert backend.last_slot is not None
        out.put(backend.last_slot)


def _run_processes(backend_spec: tuple[str, str]) -> list[float]:
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[float] = ctx.Queue()
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    procs = [ctx.Process(target=_hammer, args=(backend_spec, prefix, 20, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    stamps = [queue.get(timeout=30) for _ in range(80)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return sorted(stamps)


def _max_in_window(stamps: list[float], window: float) -> int:
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_four_processes_on_one_file_bucket_never_exceed_it(tmp_path: Path) -> None:
    stamps = _run_processes(("file", str(tmp_path)))
    # 80 orders at 40/s (38.8/s after headroom): about 2 s, never more than 40 in any second
    assert _max_in_window(stamps, 1.0) <= 40
    assert stamps[-1] - stamps[0] > 1.9


@pytest.mark.redis
def test_four_processes_on_one_redis_bucket_never_exceed_it() -> None:
    stamps = _run_processes(("redis", os.environ["REDIS_URL"]))
    assert _max_in_window(stamps, 1.0) <= 40
    assert stamps[-1] - stamps[0] > 1.9


@pytest.mark.redis
def test_redis_block_is_shared() -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    a = VenueRateLimiter(backend=RedisBackend(os.environ["REDIS_URL"]), prefix=prefix)
    b = VenueRateLimiter(backend=RedisBackend(os.environ["REDIS_URL"]), prefix=prefix)
    waits: list[float] = []
    b.sleep = waits.append
    a.block(venue="binance", seconds=1.5)
    b.acquire(venue="binance", account="x", weight=1)
    assert 1.3 < waits[0] <= 1.5
