"""What one upstream subscription fetches, per kind (sync code, run in a worker thread).

- orderbook: the shared market-data cache of the strategy runtime (`strategy.marketdata`):
  `market_data_refresh` fetches the book at most once per market-data slot across every
  process (a cache lock), then the slot's snapshot is read back. The socket therefore adds
  no venue request to what the strategy tick already makes for a traded pair, and at most
  one per slot for a pair only the socket watches.
- ticker / tickers / ohlcv: the cached market-data reads behind `/market/tickers` and
  `/market/ohlcv` (`exchanges.selectors`, cached per venue's `ticker_cache_seconds` /
  `ohlcv_cache_seconds`), so sockets and REST share one upstream call per TTL.

Every value is JSON-ready: prices and amounts as decimal strings (CONTRACT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchanges.selectors import (
    TIMEFRAMES,
    decimal_str,
    exchange_get,
    market_ohlcv_get,
    market_symbols_list,
    market_tickers_get,
)
from strategy import marketdata, venues

ORDERBOOK, TICKER, TICKERS, OHLCV = "orderbook", "ticker", "tickers", "ohlcv"
KINDS = (ORDERBOOK, TICKER, TICKERS, OHLCV)
EVENTS = {
    ORDERBOOK: "orderBookData",
    TICKER: "tickerData",
    TICKERS: "tickersData",
    OHLCV: "OHLCVData",
}
OHLCV_ROWS = 100


@dataclass(frozen=True)
class Topic:
    """One upstream subscription: what is fetched once and pushed to all its subscribers."""

    kind: str
    exchange: str
    symbols: tuple[str, ...]  # one symbol, or the sorted set of a tickers subscription
    timeframe: str = ""

    @property
    def room(self) -> str:
        return f"{self.kind}:{self.exchange}:{','.join(self.symbols)}:{self.timeframe}"

    @property
    def event(self) -> str:
        return EVENTS[self.kind]


class FeedError(Exception):
    """A subscription the service cannot serve (unknown venue or symbol, bad timeframe)."""


def topic_validate(topic: Topic) -> None:
    """Raise FeedError unless the venue is enabled and lists every symbol (cached reads)."""
    from mrmarket.exceptions import DomainError

    if topic.kind == OHLCV and topic.timeframe not in TIMEFRAMES:
        raise FeedError(f"timeframe must be one of {', '.join(TIMEFRAMES)}")
    try:
        exchange_get(exchange_id=topic.exchange, enabled_only=True)
        listed = set(market_symbols_list(exchange_id=topic.exchange))
    except DomainError as exc:
        raise FeedError(exc.message) from exc
    missing = [s for s in topic.symbols if s not in listed]
    if missing:
        raise FeedError(f"{', '.join(missing)} not listed on {topic.exchange}")


def _levels(levels: Any) -> list[dict[str, str | None]]:
    return [{"price": decimal_str(lv.price), "amount": decimal_str(lv.amount)} for lv in levels]


def orderbook_fetch(topic: Topic) -> dict[str, Any] | None:
    symbol = topic.symbols[0]
    marketdata.market_data_refresh(exchange_id=topic.exchange, symbol=symbol)
    snap = marketdata.snapshot_get(
        exchange_id=topic.exchange, symbol=symbol, tick=marketdata.tick_of(venues.now())
    )
    if snap is None:
        return None  # the venue failed this slot: nothing new to push
    return {
        "exchange": topic.exchange,
        "symbol": symbol,
        "bids": _levels(snap.book.bids),
        "asks": _levels(snap.book.asks),
        "timestamp": int(snap.book.timestamp.timestamp() * 1000),
    }


def feed_fetch(topic: Topic) -> Any:
    """The payload of one push of `topic` (None: nothing to push this round)."""
    if topic.kind == ORDERBOOK:
        return orderbook_fetch(topic)
    if topic.kind == TICKER:
        symbol = topic.symbols[0]
        ticker = market_tickers_get(exchange_id=topic.exchange, symbols=[symbol]).get(symbol)
        return None if ticker is None else {"exchange": topic.exchange, **ticker}
    if topic.kind == TICKERS:
        tickers = market_tickers_get(exchange_id=topic.exchange, symbols=list(topic.symbols))
        return {"exchange": topic.exchange, "tickers": tickers}
    rows = market_ohlcv_get(
        exchange_id=topic.exchange,
        symbol=topic.symbols[0],
        timeframe=topic.timeframe,
        limit=OHLCV_ROWS,
    )
    return {
        "exchange": topic.exchange,
        "symbol": topic.symbols[0],
        "timeframe": topic.timeframe,
        "ohlcv": rows,
    }
