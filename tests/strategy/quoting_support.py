"""Builders shared by the quoting tests: a market, a book, parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from exchanges.venues.base import BookLevel, MarketInfo, OrderBook
from strategy.params import PureMarketMakingParams

D = Decimal
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def market(**overrides: Any) -> MarketInfo:
    values: dict[str, Any] = {
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "price_increment": D("0.01"),
        "amount_increment": D("0.001"),
        "min_amount": D("0.001"),
        "min_notional": D("1"),
        "maker_fee": D("0"),
        "taker_fee": D("0.001"),
    }
    values.update(overrides)
    return MarketInfo(**values)


def book(
    bids: list[tuple[str, str]] | None = None,
    asks: list[tuple[str, str]] | None = None,
    symbol: str = "BTC/USDT",
) -> OrderBook:
    bids = [("99.9", "5")] if bids is None else bids
    asks = [("100.1", "5")] if asks is None else asks
    return OrderBook(
        symbol=symbol,
        bids=tuple(BookLevel(D(p), D(a)) for p, a in bids),
        asks=tuple(BookLevel(D(p), D(a)) for p, a in asks),
        timestamp=NOW,
    )


def pmm(**overrides: Any) -> PureMarketMakingParams:
    values: dict[str, Any] = {
        "pair": "BTC/USDT",
        "exchange_name": "paper",
        "bid_spread": D("0.01"),
        "ask_spread": D("0.01"),
        "order_amount": D("1"),
        "order_refresh_time_ms": 10_000,
    }
    values.update(overrides)
    return PureMarketMakingParams(**values)
