"""Faults at the service's boundaries, driven by a plan every process reads from Redis.

Custody (the fake wallet) and venue (the paper exchange) calls are wrapped at the class
level, so every caller in the process goes through them. With probability `rate` a call
fails the way the real network fails it:

- `timeout_before`, `reset_before`, `5xx`, `429`: the call never reached the other side;
- `timeout_after`, `reset_after`: the other side applied it and the answer was lost (writes
  only: sends, withdrawals, orders, cancels) — the caller must ask before trying again.

Each raises the gateway's own retryable error class (what the Mixin client and the ccxt
gateway raise for those network outcomes). Task messages are duplicated with probability
`dup` at `Celery.send_task` (a broker redelivering, or a producer retrying a publish).
Every injected fault is counted in Redis for the run's figures.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import Any

import redis

from exchanges.venues.base import RateLimited, VenueNetworkError, VenueTimeout, VenueUnavailable
from orders.custody.base import (
    CustodyNetworkError,
    CustodyRateLimited,
    CustodyTimeout,
    CustodyUnavailable,
)

PREFIX = "chaos:"
KINDS_READ = ("timeout_before", "reset_before", "5xx", "429")
KINDS_WRITE = (*KINDS_READ, "timeout_after", "reset_after")

CUSTODY_WRITES = ("transfer", "withdraw")
CUSTODY_READS = ("transaction", "snapshots_since", "wallet_balance", "withdrawal_fee")
VENUE_WRITES = ("withdraw", "place_limit_order", "cancel_order")
VENUE_READS = (
    "fetch_withdrawals",
    "fetch_deposits",
    "fetch_deposit_address",
    "fetch_balances",
    "fetch_open_orders",
    "fetch_my_trades",
    "fetch_order",
)


class Plan:
    """The shared plan: `rate` and `dup` probabilities, and the counts of what was injected."""

    def __init__(self, url: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def set(self, *, rate: float, dup: float) -> None:
        self.redis.mset({PREFIX + "rate": str(rate), PREFIX + "dup": str(dup)})

    def _float(self, name: str) -> float:
        try:
            value = self.redis.get(PREFIX + name)
        except redis.RedisError:
            return 0.0
        return float(value) if value else 0.0

    def rate(self) -> float:
        return self._float("rate")

    def dup(self) -> float:
        return self._float("dup")

    def count(self, what: str) -> None:
        try:
            self.redis.hincrby(PREFIX + "counts", what, 1)
        except redis.RedisError:
            pass

    def counts(self) -> dict[str, int]:
        raw: dict[Any, Any] = self.redis.hgetall(PREFIX + "counts")
        return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}

    def reset(self) -> None:
        self.redis.delete(PREFIX + "counts", PREFIX + "rate", PREFIX + "dup")


def _error(side: str, kind: str, where: str) -> Exception:
    message = f"chaos: injected {kind} on {where}"
    if side == "custody":
        return {
            "timeout": CustodyTimeout,
            "reset": CustodyNetworkError,
            "5xx": CustodyUnavailable,
            "429": CustodyRateLimited,
        }[kind.split("_")[0]](message, code=kind)
    cls = {
        "timeout": VenueTimeout,
        "reset": VenueNetworkError,
        "5xx": VenueUnavailable,
        "429": RateLimited,
    }[kind.split("_")[0]]
    return cls(message, venue="paper")


def _wrap(plan: Plan, side: str, name: str, method: Callable[..., Any], write: bool) -> Any:
    kinds = KINDS_WRITE if write else KINDS_READ

    @functools.wraps(method)
    def faulty(self: Any, *args: Any, **kwargs: Any) -> Any:
        rate = plan.rate()
        if rate <= 0 or random.random() >= rate:  # noqa: S311 - chaos, not security
            return method(self, *args, **kwargs)
        kind = random.choice(kinds)  # noqa: S311
        plan.count(f"{side}.{kind}")
        if kind.endswith("_after"):
            method(self, *args, **kwargs)  # applied, then the answer is lost
        raise _error(side, kind, f"{side}.{name}")

    return faulty


def install(url: str) -> Plan:
    """Wrap the fake custody's and the paper venue's methods, and duplicate task messages."""
    from celery import Celery

    from exchanges.paper.gateway import PaperGateway
    from standins.custody.gateway import FakeCustody

    plan = Plan(url)
    for cls, side, writes, reads in (
        (FakeCustody, "custody", CUSTODY_WRITES, CUSTODY_READS),
        (PaperGateway, "venue", VENUE_WRITES, VENUE_READS),
    ):
        for name in (*writes, *reads):
            original = getattr(cls, name, None)
            if original is None or getattr(original, "_chaos", False):
                continue
            wrapped = _wrap(plan, side, name, original, name in writes)
            wrapped._chaos = True
            setattr(cls, name, wrapped)

    send_task = Celery.send_task
    if not getattr(send_task, "_chaos", False):

        @functools.wraps(send_task)
        def duplicating(self: Celery, *args: Any, **kwargs: Any) -> Any:
            result = send_task(self, *args, **kwargs)
            if random.random() < plan.dup():  # noqa: S311
                plan.count("broker.duplicate")
                send_task(self, *args, **kwargs)
            return result

        duplicating._chaos = True  # type: ignore[attr-defined]  # a marker on the wrapper: patched once
        Celery.send_task = duplicating  # type: ignore[method-assign,assignment]  # chaos patches Celery in place
    return plan
