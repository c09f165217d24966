"""`make bench-ratelimit`: 4 processes place orders through the ccxt gateway against one
emulated account (Binance, OKX or Bybit dialect) whose emulator allows 10 orders per second
(429 / 50011 / 10006 beyond), with the shared limiter configured to the same 10/s. Prints
achieved/allowed rate, the 429 count and the load average.

Usage: python -m standins.venues.bench_ratelimit [--dialect binance|okx|bybit] [--seconds 30]
       [--processes 4] [--limit 10]
The limiter uses Redis when REDIS_URL is set, else the file backend (single machine).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from exchanges.venues import ccxt_gateway  # noqa: F401  (import ccxt once, before forking)
from exchanges.venues.base import OrderSide, RateLimited, VenueError
from exchanges.venues.factory import VenueCredentials, build_gateway
from exchanges.venues.ratelimit import FileBackend, RateLimitBackend, RedisBackend, VenueRateLimiter
from standins.venues.binance import BinanceEmulator
from standins.venues.bybit import BybitEmulator
from standins.venues.okx import OkxEmulator

API_KEY = "BenchKey00000001"
SECRET = "bench-secret"
PASSPHRASE = "bench-pass"


def _emulator(dialect: str, limit: int) -> Any:
    """The dialect's emulator with one funded account limited to `limit` orders per second."""
    funds = {"USDT": Decimal("1000000000")}
    if dialect == "binance":
        emulator: Any = BinanceEmulator(order_limit=(limit, 1.0))
        emulator.add_account(name="bench", api_key=API_KEY, secret=SECRET, balances=funds)
        return emulator
    cls = OkxEmulator if dialect == "okx" else BybitEmulator
    emulator = cls(order_limit=(limit, 1.0))
    emulator.add_account(
        name="bench", api_key=API_KEY, secret=SECRET, passphrase=PASSPHRASE, balances=funds
    )
    return emulator


def _worker(
    dialect: str,
    index: int,
    base_url: str,
    backend_spec: tuple[str, str],
    prefix: str,
    limit: int,
    seconds: float,
    ready: multiprocessing.Queue[int],
    go: multiprocessing.Queue[float],
    results: multiprocessing.Queue[tuple[int, int, int, float]],
) -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    kind, where = backend_spec
    backend: RateLimitBackend = RedisBackend(where) if kind == "redis" else FileBackend(Path(where))
    gateway = build_gateway(
        kind="ccxt",
        venue=dialect,
        account=f"{dialect}:bench",
        credentials=VenueCredentials(
            api_key=API_KEY, secret=SECRET, password=PASSPHRASE if dialect == "okx" else ""
        ),
        options={
            "ccxt_id": dialect,
            "base_url": base_url,
            "rate_limiter": VenueRateLimiter(backend=backend, prefix=prefix),
            "rate_limits": {"orders": [[limit, 1.0]]},
        },
    )
    gateway.load_markets()
    ready.put(index)
    start_at = go.get()  # the same wall-clock start for every process, once all are ready
    time.sleep(max(0.0, start_at - time.time()))
    stop_at = start_at + seconds
    placed = rate_limited = other = 0
    n = 0
    while time.time() < stop_at:
        n += 1
        try:
            gateway.place_limit_order(
                symbol="BTC/USDT",
                side=OrderSide.BUY,
                price=Decimal("100"),
                amount=Decimal("0.1"),
                client_order_id=f"b{index}n{n}",
            )
            placed += 1
        except RateLimited:
            rate_limited += 1
        except VenueError:
            other += 1
    results.put((placed, rate_limited, other, time.time()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dialect", choices=["binance", "okx", "bybit"], default="binance")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument(
        "--limit", type=int, default=10, help="orders per second (emulator and limiter)"
    )
    args = parser.parse_args()

    redis_url = os.environ.get("REDIS_URL", "")
    tmp = tempfile.mkdtemp(prefix="bench-rl-")
    backend_spec = ("redis", redis_url) if redis_url else ("file", tmp)
    prefix = f"bench:{uuid.uuid4().hex[:8]}"
    emulator = _emulator(args.dialect, args.limit)
    base_url = emulator.start()
    ctx = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[tuple[int, int, int, float]] = ctx.Queue()
    ready: multiprocessing.Queue[int] = ctx.Queue()
    go: multiprocessing.Queue[float] = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(
                args.dialect,
                i,
                base_url,
                backend_spec,
                prefix,
                args.limit,
                args.seconds,
                ready,
                go,
                results,
            ),
        )
        for i in range(args.processes)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=120)
    start_at = time.time() + 0.5
    for _ in procs:
        go.put(start_at)
    totals = [results.get(timeout=args.seconds + 60) for _ in procs]
    for p in procs:
        p.join()
    emulator.stop()
    placed = sum(t[0] for t in totals)
    # The last orders may finish a little after the deadline (they had booked slots before
    # it): measure until the last one finished, not the nominal duration.
    elapsed = max(t[3] for t in totals) - start_at
    achieved = placed / elapsed
    print(f"dialect              : {args.dialect}")
    print(f"limiter backend      : {backend_spec[0]}")
    print(f"processes x seconds  : {args.processes} x {args.seconds:g} (measured {elapsed:.2f} s)")
    print(f"orders accepted      : {placed} (emulator counted {emulator.stats['orders_accepted']})")
    print(f"achieved / allowed   : {achieved:.2f}/s / {args.limit}/s = {achieved / args.limit:.3f}")
    print(f"HTTP 429 from venue  : {emulator.stats['http_429']}")
    print(f"RateLimited / other  : {sum(t[1] for t in totals)} / {sum(t[2] for t in totals)}")
    print(f"load average         : {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
