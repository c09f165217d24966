"""Market data shared by every session of a tick: fetched once per (venue, pair, slot).

A session run never talks to a venue (DESIGN §5, decision 0570). The tick, after claiming
sessions, sends one `market_data_refresh_task` per (venue, pair) they need — their own
pairs, arbitrage's second venue, oracle venues — before it sends the session batches. The
refresh takes a short per-slot cache lock (`cache.add`), fetches the book (and the last
price when asked) through the gateway and stores a JSON snapshot under
`strategy:md:<venue>:<symbol>:<slot>` (the slot is the tick, or SLOT_MS of ticks when the
tick is shorter) and under `...:latest`. A run only reads the cache: its slot's snapshot,
else the latest one when younger than STRATEGY_MARKET_DATA_MAX_AGE_MS (the refresh of its
slot may still be in flight on another worker), else it skips this tick and its session
stays due. A failed fetch is cached for the slot, so a broken venue costs one request per
slot, and the runs of that slot skip rather than quote on an older book.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache

from exchanges.venues.base import BookLevel, MarketInfo, OrderBook, VenueError
from strategy import venues
from strategy.memo import memoized
from strategy.models import MarketSnapshotRecord

log = structlog.get_logger(__name__)

BOOK_DEPTH = 20
# Snapshots outlive their tick a little (late runs of the same tick still share them).
SNAPSHOT_TTL_SECONDS = 10
LOCK_SECONDS = 5  # a fetcher that died frees the lock after this


@dataclass(frozen=True)
class MarketSnapshot:
    exchange_id: str
    symbol: str
    market: MarketInfo
    book: OrderBook
    last_price: Decimal | None
    fetched_at: datetime
    # The slot's MarketSnapshotRecord, written once by the refresh that fetched it, so the
    # decisions made from this snapshot reference it without a query of their own.
    record_id: int | None = None


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


def snapshot_encode(snap: MarketSnapshot) -> dict[str, Any]:
    """The JSON form of a snapshot (the cache's, and the decision records')."""
    return _encode(snap)


def snapshot_decode(exchange_id: str, symbol: str, raw: dict[str, Any]) -> MarketSnapshot:
    return _decode(exchange_id, symbol, raw)


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
        record_id=raw.get("record_id"),
    )


# One snapshot per (venue, pair) and market-data slot of this length, whatever the tick: a
# shorter tick (less lateness) must not multiply requests to the venue (0550).
SLOT_MS = 1000


def slot_of(tick: int) -> int:
    """The market-data slot of a tick: ticks of one SLOT_MS share a snapshot."""
    tick_ms = max(settings.STRATEGY_TICK_MS, 1)
    return tick if tick_ms >= SLOT_MS else tick * tick_ms // SLOT_MS


def _key(exchange_id: str, symbol: str, tick: int) -> str:
    return _key_of_slot(exchange_id, symbol, slot_of(tick))


def _key_of_slot(exchange_id: str, symbol: str, slot: int) -> str:
    return f"strategy:md:{exchange_id}:{symbol}:{slot}"


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


# Decoded snapshots of recent slots in this process: the runs of one batch share one.
_LOCAL: dict[str, MarketSnapshot] = {}
_LOCAL_MAX = 256


def local_snapshots_clear() -> None:
    """Forget this process's decoded snapshots. A slot's snapshot never changes once
    written, so production never needs this; a test whose clock ran ahead (a paper run
    ticks 2 s per step) would otherwise leave snapshots of future slots for the next test."""
    _LOCAL.clear()


def _local_put(key: str, exchange_id: str, symbol: str, raw: dict[str, Any]) -> MarketSnapshot:
    snap = _decode(exchange_id, symbol, raw)
    if len(_LOCAL) >= _LOCAL_MAX:
        _LOCAL.clear()
    _LOCAL[key] = snap
    return snap


def _latest_key(exchange_id: str, symbol: str) -> str:
    return f"strategy:md:{exchange_id}:{symbol}:latest"


def _usable(raw: dict[str, Any] | None, *, with_last: bool) -> bool:
    return raw is not None and not raw.get("error") and (raw.get("with_last") or not with_last)


def market_data_refresh(
    *, exchange_id: str, symbol: str, with_last: bool = False, record: bool = True
) -> bool:
    """Fetch (venue, symbol) for the current slot and cache it; True when this call fetched.

    `record`: also write the slot's decision-record row and cache its id (the tick asks
    for it for the pairs its claimed sessions will decide on; the refreshes of pairs only
    the per-tick checks read skip it, and a run that still needs the row writes it).

    Single flight per slot: a slot already cached (with the last price when asked) or a
    peer holding the slot's lock (`cache.add`) makes this a no-op, so the task is safe to
    run twice. A failed fetch is cached for the slot (unless a good snapshot is already
    there), so a broken venue costs one request per slot and its runs skip."""
    tick = tick_of(venues.now())
    key = _key(exchange_id, symbol, tick)
    cached = cache.get(key)
    if cached is not None and cached.get("error"):
        return False  # this slot's fetch failed already: one request per slot
    if _usable(cached, with_last=with_last):
        return False
    if not cache.add(key + ":lock", 1, timeout=LOCK_SECONDS):
        return False
    try:
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
            cache.add(key, {"error": type(exc).__name__}, timeout=SNAPSHOT_TTL_SECONDS)
            return True
        encoded = _encode(snap)
        raw = encoded | {
            "with_last": with_last,
            "slot": slot_of(tick),  # the slot this snapshot is cached for (and `latest` of)
            "record_id": (
                _record_store(snap, encoded)
                if record and settings.STRATEGY_DECISION_RECORDS
                else None
            ),
        }
        cache.set(key, raw, timeout=SNAPSHOT_TTL_SECONDS)
        cache.set(_latest_key(exchange_id, symbol), raw, timeout=SNAPSHOT_TTL_SECONDS)
    finally:
        # Deleted after the sets: a peer never takes the lock and finds the slot empty.
        cache.delete(key + ":lock")
    return True


def _record_store(snap: MarketSnapshot, payload: dict[str, Any]) -> int:
    """The snapshot's decision-record row (one per venue, pair and slot of its fetch time;
    a second fetch in the slot, with the last price, keeps the first row, as decisions
    always did)."""
    record, _ = MarketSnapshotRecord.objects.get_or_create(
        exchange_id=snap.exchange_id,
        symbol=snap.symbol,
        slot=slot_of(tick_of(snap.fetched_at)),
        defaults={"payload": payload, "created_at": snap.fetched_at},
    )
    return int(record.pk)


def snapshot_get(
    *, exchange_id: str, symbol: str, tick: int, with_last: bool = False
) -> MarketSnapshot | None:
    """The slot's cached snapshot of (venue, symbol); never fetches. When the slot's
    refresh has not landed yet, the latest snapshot stands in if it is younger than
    STRATEGY_MARKET_DATA_MAX_AGE_MS; None (the run skips) when the slot's fetch failed or
    nothing fresh enough is cached. Read once per batch (`strategy.memo`)."""
    return memoized(
        ("snapshot", exchange_id, symbol, tick, with_last),
        lambda: _snapshot_get(exchange_id, symbol, tick, with_last),
    )


def _snapshot_get(
    exchange_id: str, symbol: str, tick: int, with_last: bool
) -> MarketSnapshot | None:
    suffix = ":l" if with_last else ""
    slot_key, latest_key = _key(exchange_id, symbol, tick), _latest_key(exchange_id, symbol)
    local = _LOCAL.get(slot_key + suffix)
    if local is not None:
        return local
    # One round trip for both: the slot's own snapshot, and the latest one standing in for
    # it while the slot's refresh is still queued (the tick sends runs before refreshes).
    found = cache.get_many([slot_key, latest_key])
    raw = found.get(slot_key)
    if raw is not None and raw.get("error"):
        return None
    if raw is not None and _usable(raw, with_last=with_last):
        return _local_put(slot_key + suffix, exchange_id, symbol, raw)
    latest = found.get(latest_key)
    if latest is not None and _usable(latest, with_last=with_last):
        # Kept under the slot it was cached for (never under this tick's slot: the slot's
        # own snapshot must not be shadowed once it lands); one without its slot, written
        # by older code, is only decoded.
        slot = latest.get("slot")
        if slot is None:
            snap = _decode(exchange_id, symbol, latest)
        else:
            own_key = _key_of_slot(exchange_id, symbol, slot) + suffix
            snap = _LOCAL.get(own_key) or _local_put(own_key, exchange_id, symbol, latest)
        age_ms = (venues.now() - snap.fetched_at).total_seconds() * 1000
        if age_ms <= settings.STRATEGY_MARKET_DATA_MAX_AGE_MS:
            return snap
    log.info("strategy_market_data_missing", venue=exchange_id, symbol=symbol, tick=tick)
    return None


def reference_mid(snap: MarketSnapshot) -> Decimal | None:
    """Mid of the book, else the last price: the reference for price sanity and oracles."""
    bid, ask = snap.book.best_bid, snap.book.best_ask
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return snap.last_price
