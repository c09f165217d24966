"""Market metadata and public market data through ccxt (spot markets only, per the profile's
`fetchMarkets` option; anything ccxt still returns that is not spot is dropped)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import ccxt

from exchanges.venues.base import (
    BookLevel,
    Candle,
    InvalidOrder,
    MarketInfo,
    OrderBook,
    Ticker,
    UnsupportedRequest,
)
from exchanges.venues.ccxt_gateway.core import GatewayCore
from exchanges.venues.ccxt_gateway.parsing import dec, dec0, ts


class MarketsMixin(GatewayCore):
    def load_markets(self, *, reload: bool = False) -> dict[str, MarketInfo]:
        if self._markets is not None and not reload:
            return self._markets
        with self._calling("load_markets"):
            raw = self.client.load_markets(reload)
        markets: dict[str, MarketInfo] = {}
        for symbol, m in raw.items():
            if not m.get("spot", True):
                continue
            limits = m.get("limits") or {}
            markets[symbol] = MarketInfo(
                symbol=symbol,
                base=m["base"],
                quote=m["quote"],
                price_increment=self._increment(m["precision"].get("price")),
                amount_increment=self._increment(m["precision"].get("amount")),
                min_amount=dec((limits.get("amount") or {}).get("min")),
                max_amount=dec((limits.get("amount") or {}).get("max")),
                min_notional=dec((limits.get("cost") or {}).get("min")),
                # A venue's maker fee may be 0 or negative (a rebate): only a missing one
                # falls back to the default.
                maker_fee=_fee(m.get("maker")),
                taker_fee=_fee(m.get("taker")),
                active=m.get("active") is not False,
            )
        self._markets = markets
        return markets

    def _increment(self, precision: Any) -> Decimal:
        value = dec(precision)
        if value is None:
            return Decimal("0.00000001")
        if self.client.precisionMode == ccxt.TICK_SIZE:
            return value
        # DECIMAL_PLACES / SIGNIFICANT_DIGITS: a number of digits.
        return Decimal(1).scaleb(-int(value))

    def market(self, symbol: str) -> MarketInfo:
        markets = self.load_markets()
        if symbol not in markets:
            raise InvalidOrder(f"unknown market {symbol}", venue=self.venue)
        return markets[symbol]

    def fetch_order_book(self, symbol: str, *, limit: int = 20) -> OrderBook:
        with self._calling("fetch_order_book"):
            book = self.client.fetch_order_book(symbol, limit)
        return OrderBook(
            symbol=symbol,
            bids=tuple(BookLevel(dec0(p), dec0(a)) for p, a, *_ in book["bids"]),
            asks=tuple(BookLevel(dec0(p), dec0(a)) for p, a, *_ in book["asks"]),
            timestamp=ts(book.get("timestamp") or self.client.milliseconds()),
        )

    def _ticker(self, symbol: str, t: Mapping[str, Any]) -> Ticker:
        return Ticker(
            symbol=symbol,
            bid=dec(t.get("bid")),
            ask=dec(t.get("ask")),
            last=dec(t.get("last")),
            base_volume=dec(t.get("baseVolume")),
            quote_volume=dec(t.get("quoteVolume")),
            timestamp=ts(t.get("timestamp") or self.client.milliseconds()),
        )

    def fetch_ticker(self, symbol: str) -> Ticker:
        with self._calling("fetch_ticker"):
            raw = self.client.fetch_ticker(symbol)
        return self._ticker(symbol, raw)

    def fetch_tickers(self, symbols: list[str] | None = None) -> dict[str, Ticker]:
        with self._calling("fetch_tickers"):
            raw = self.client.fetch_tickers(symbols)
        return {s: self._ticker(s, t) for s, t in raw.items()}

    def fetch_ohlcv(
        self,
        symbol: str,
        *,
        timeframe: str = "1m",
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        offered = getattr(self.client, "timeframes", None) or {}
        if offered and timeframe not in offered:
            raise UnsupportedRequest(
                f"{self.venue} has no {timeframe} candles (it has {', '.join(offered)})",
                venue=self.venue,
            )
        with self._calling("fetch_ohlcv"):
            rows = self.client.fetch_ohlcv(symbol, timeframe, since_ms, limit)
        return [
            Candle(int(r[0]), dec0(r[1]), dec0(r[2]), dec0(r[3]), dec0(r[4]), dec0(r[5]))
            for r in rows
        ]


def _fee(value: Any) -> Decimal:
    fee = dec(value)
    return Decimal("0.001") if fee is None else fee
