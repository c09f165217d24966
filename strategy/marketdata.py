"""Market data shared by every session of a tick: fetched once per (venue, pair, tick).

A session run never talks to a venue. The first run of a tick that needs (venue, symbol)
takes a short cache lock (`cache.add`), fetches the book (and the last price when asked)
through the gateway, and stores a JSON snapshot under `strategy:md:<venue>:<symbol>:<slot>`
(the slot is the tick, or SLOT_MS of ticks when the tick is shorter than that); every
other run of that slot — in any worker, on any machine sharing the cache (Redis) —
reads it. A run that finds the lock taken waits briefly for the snapshot and otherwise
skips this tick (its session stays due). A failed fetch is cached for the tick too, so a
broken venue costs one request per tick, not one per session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache

from exchanges.venues.base import BookLevel, MarketInfo, OrderBook, VenueError
from strategy import venues

log = structlog.get_logger(__name__)

BOOK_DEPTH = 20
# Snapshots outlive their tick a little (late runs of the same tick still share them).
SNAPSHOT_TTL_SECONDS = 10
LOCK_SECONDS = 5  # a fetcher that died frees the lock after this
WAIT_SECONDS = 2.0  # how long a run waits for a peer's fetch before skipping the tick


@dataclass(frozen=True)
class MarketSnapshot:
    exchange_id: str
    symbol: str
    market: MarketInfo
    book: OrderBook
    last_price: Decimal | None
    fetched_at: datetime


def tick_of(at: datetime) -> int:
    """The tick sequence number of a moment: STRATEGY_TICK_MS slots since the epoch."""
    return int(at.timestamp() * 1000) // max(settings.STRATEGY_TICK_MS, 1)


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _encode(snap: MarketSnapshot) -> dict[str, Any]:
    m = snap.market
    return {
        "market": {
            "symbol": m.symbol,
            "base": m.base,
            "quote": m.quote,
            "price_increment": str(m.price_increment),
            "amount_increment": str(m.amount_increment),
            "min_amount": _s(m.min_amount),
            "max_amount": _s(m.max_amount),
            "min_notional": _s(m.min_notional),
            "maker_fee": str(m.maker_fee),
            "taker_fee": str(m.taker_fee),
            "active": m.active,
        },
        "bids": [[str(level.price), str(level.amount)] for level in snap.book.bids],
        "asks": [[str(level.price), str(level.amount)] for level in snap.book.asks],
        "book_at": snap.book.timestamp.isoformat(),
        "last": _s(snap.last_price),
        "fetched_at": snap.fetched_at.isoformat(),
    }


def _decode(exchange_id: str, symbol: str, raw: dict[str, Any]) -> MarketSnapshot:
    m = raw["market"]
    market = MarketInfo(
        symbol=m["symbol"],
        base=m["base"],
        quote=m["quote"],
        price_increment=Decimal(m["price_increment"]),
        amount_increment=Decimal(m["amount_increment"]),
        min_amount=_d(m["min_amount"]),
        max_amount=_d(m["max_amount"]),
        min_notional=_d(m["min_notional"]),
        maker_fee=Decimal(m["maker_fee"]),
        taker_fee=Decimal(m["taker_fee"]),
        active=m["active"],
    )
    book = OrderBook(
        symbol=symbol,
        bids=tuple(BookLevel(Decimal(p), Decimal(a)) for p, a in raw["bids"]),
        asks=tuple(BookLevel(Decimal(p), Decimal(a)) for p, a in raw["asks"]),
        timestamp=datetime.fromisoformat(raw["book_at"]),
    )
    return MarketSnapshot(
        exchange_id=exchange_id,
        symbol=symbol,
        market=market,
        book=book,
        last_price=_d(raw["last"]),
        fetched_at=datetime.fromisoformat(raw["fetched_at"]),
    )


# One snapshot per (venue, pair) and market-data slot of this length, whatever the tick: a
# shorter tick (less lateness) must not multiply requests to the venue (0550).
SLOT_MS = 1000


def slot_of(tick: int) -> int:
    """The market-data slot of a tick: ticks of one SLOT_MS share a snapshot."""
    tick_ms = max(settings.STRATEGY_TICK_MS, 1)
    return tick if tick_ms >= SLOT_MS else tick * tick_ms // SLOT_MS


def _key(exchange_id: str, symbol: str, tick: int) -> str:
    return f"strategy:md:{exchange_id}:{symbol}:{slot_of(tick)}"


def _fetch(exchange_id: str, symbol: str, *, with_last: bool) -> MarketSnapshot:
    gateway = venues.gateway_get(exchange_id=exchange_id, account_index=0)
    market = gateway.market(symbol)
    book = gateway.fetch_order_book(symbol, limit=BOOK_DEPTH)
    last = gateway.fetch_ticker(symbol).last if with_last else None
    return MarketSnapshot(
        exchange_id=exchange_id,
        symbol=symbol,
        market=market,
        book=book,
        last_price=last,
        fetched_at=venues.now(),
    )


# Decoded snapshots of recent ticks in this process: the runs of one batch share one.
_LOCAL: dict[str, MarketSnapshot] = {}
_LOCAL_MAX = 256


def snapshot_get(
    *, exchange_id: str, symbol: str, tick: int, with_last: bool = False
) -> MarketSnapshot | None:
    """The tick's snapshot of (venue, symbol), fetched here if nobody has; None when it is
    unavailable this tick (the venue failed, or a peer's fetch did not finish in time)."""
    key = _key(exchange_id, symbol, tick) + (":l" if with_last else "")
    local = _LOCAL.get(key)
    if local is not None:
        return local
    snap = _snapshot_shared(key, exchange_id, symbol, with_last)
    if snap is not None:
        if len(_LOCAL) >= _LOCAL_MAX:
            _LOCAL.clear()
        _LOCAL[key] = snap
    return snap


def _snapshot_shared(
    key: str, exchange_id: str, symbol: str, with_last: bool
) -> MarketSnapshot | None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        raw = cache.get(key)
        if raw is not None:
            if raw.get("error"):
                return None
            return _decode(exchange_id, symbol, raw)
        if cache.add(key + ":lock", 1, timeout=LOCK_SECONDS):
            break
        if time.monotonic() >= deadline:
            log.warning("strategy_market_data_wait_timeout", venue=exchange_id, symbol=symbol)
            return None
        time.sleep(0.01)
    try:
        snap = _fetch(exchange_id, symbol, with_last=with_last)
    except VenueError as exc:
        log.warning(
            "strategy_market_data_failed",
            venue=exchange_id,
            symbol=symbol,
            error_type=type(exc).__name__,
            error=str(exc)[:200],
        )
        cache.set(key, {"error": type(exc).__name__}, timeout=SNAPSHOT_TTL_SECONDS)
        cache.delete(key + ":lock")
        return None
    except BaseException:
        cache.delete(key + ":lock")
        raise
    # Published before the lock goes, so nobody fetches the same tick twice.
    cache.set(key, _encode(snap), timeout=SNAPSHOT_TTL_SECONDS)
    cache.delete(key + ":lock")
    return snap


def reference_mid(snap: MarketSnapshot) -> Decimal | None:
    """Mid of the book, else the last price: the reference for price sanity and oracles."""
    bid, ask = snap.book.best_bid, snap.book.best_ask
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return snap.last_price
