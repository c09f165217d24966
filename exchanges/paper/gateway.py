"""`PaperGateway`: the paper venue behind the `VenueGateway` protocol, state in the database.

Market data and trading; every operation on a pair runs in the pair's locked session
(`exchanges.paper.session`: row locks, the engine rebuilt from the rows, the feed advanced,
the diff written back). Deposits, deposit addresses and withdrawals are the wallet's
(`exchanges.paper.wallet`, over `exchanges.paper.services`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import structlog

from exchanges.paper import feed as feed_mod
from exchanges.paper.models import PaperCandle, PaperMarket, PaperOrder, PaperTrade
from exchanges.paper.session import PairSession, feed_settings, market_row, pair_session
from exchanges.paper.wallet import PaperWalletMixin
from exchanges.venues import matching as m
from exchanges.venues.base import (
    BookLevel,
    Candle,
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidOrder,
    MarketInfo,
    OrderBook,
    OrderNotFound,
    OrderSide,
    OrderStatus,
    Ticker,
    UnsupportedRequest,
    VenueOrder,
    VenueTrade,
)
from exchanges.venues.ccxt_gateway import validate_client_order_id

log = structlog.get_logger(__name__)
ZERO = Decimal(0)
_TIMEFRAMES_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}


def market_info(market: PaperMarket) -> MarketInfo:
    return MarketInfo(
        symbol=market.symbol,
        base=market.base,
        quote=market.quote,
        price_increment=market.price_increment,
        amount_increment=market.amount_increment,
        min_amount=market.min_amount or None,
        min_notional=market.min_notional or None,
        maker_fee=market.maker_fee,
        taker_fee=market.taker_fee,
        active=market.active,
    )


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def venue_order(order: PaperOrder | m.EngineOrder, symbol: str) -> VenueOrder:
    filled = order.filled
    return VenueOrder(
        id=order.order_id if isinstance(order, PaperOrder) else order.id,
        client_order_id=order.client_order_id,
        symbol=symbol,
        side=OrderSide(order.side),
        price=order.price,
        amount=order.amount,
        filled=filled,
        remaining=order.amount - filled,
        status=OrderStatus(order.status),
        created_at=_dt(order.created_ms),
        average=(order.cost / filled) if filled else None,
        post_only=order.post_only,
    )


class PaperGateway(PaperWalletMixin):
    """One paper-venue account. Cheap to build; holds no state of its own."""

    def __init__(
        self, *, venue: str = "paper", account: str, clock: Callable[[], float] | None = None
    ) -> None:
        self.venue = venue
        self.account = account
        self._clock = clock or time.time

    # ------------------------------------------------------------------ the locked session

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _market_row(self, symbol: str, *, lock: bool) -> PaperMarket:
        return market_row(self.venue, symbol, lock=lock)

    def _session(self, symbol: str) -> AbstractContextManager[PairSession]:
        return pair_session(
            venue=self.venue, account=self.account, symbol=symbol, now_ms=self._now_ms()
        )

    # ------------------------------------------------------------------ market data

    def load_markets(self, *, reload: bool = False) -> dict[str, MarketInfo]:
        return {
            mk.symbol: market_info(mk)
            for mk in PaperMarket.objects.filter(venue=self.venue, active=True).order_by("symbol")
        }

    def market(self, symbol: str) -> MarketInfo:
        return market_info(self._market_row(symbol, lock=False))

    def fetch_order_book(self, symbol: str, *, limit: int = 20) -> OrderBook:
        with self._session(symbol) as s:
            book = s.engine.books[symbol]
            ext_bids, ext_asks = feed_mod.outside_book(feed_settings(s.market), s.market.feed_price)
            bids = self._merge(book.levels("buy", limit), ext_bids, reverse=True)[:limit]
            asks = self._merge(book.levels("sell", limit), ext_asks, reverse=False)[:limit]
            return OrderBook(
                symbol=symbol, bids=tuple(bids), asks=tuple(asks), timestamp=_dt(s.now_ms)
            )

    @staticmethod
    def _merge(
        own: list[tuple[Decimal, Decimal]], outside: list[m.ExternalLevel], *, reverse: bool
    ) -> list[BookLevel]:
        levels: dict[Decimal, Decimal] = {}
        for price, amount in own:
            levels[price] = levels.get(price, ZERO) + amount
        for lvl in outside:
            levels[lvl.price] = levels.get(lvl.price, ZERO) + lvl.amount
        return [BookLevel(p, levels[p]) for p in sorted(levels, reverse=reverse)]

    def fetch_ticker(self, symbol: str) -> Ticker:
        book = self.fetch_order_book(symbol, limit=1)
        market = self._market_row(symbol, lock=False)
        since = self._now_ms() - 86_400_000
        candles = PaperCandle.objects.filter(market=market, open_time_ms__gte=since)
        base_volume = sum((c.volume for c in candles), ZERO)
        quote_volume = sum((c.volume * c.close for c in candles), ZERO)
        return Ticker(
            symbol=symbol,
            bid=book.best_bid,
            ask=book.best_ask,
            last=market.feed_price,
            base_volume=base_volume,
            quote_volume=quote_volume.quantize(Decimal("0.00000001"), rounding=ROUND_DOWN),
            timestamp=book.timestamp,
        )

    def fetch_tickers(self, symbols: list[str] | None = None) -> dict[str, Ticker]:
        wanted = symbols or list(self.load_markets())
        return {s: self.fetch_ticker(s) for s in wanted}

    def fetch_ohlcv(
        self,
        symbol: str,
        *,
        timeframe: str = "1m",
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        step = _TIMEFRAMES_MS.get(timeframe)
        if step is None:
            raise UnsupportedRequest(
                f"{self.venue} has no {timeframe} candles (it has {', '.join(_TIMEFRAMES_MS)})",
                venue=self.venue,
            )
        with self._session(symbol) as s:
            market = s.market
        qs = PaperCandle.objects.filter(market=market).order_by("open_time_ms")
        if since_ms is not None:
            qs = qs.filter(open_time_ms__gte=since_ms - since_ms % step)
        out: list[Candle] = []
        for c in qs:
            bucket = c.open_time_ms - c.open_time_ms % step
            if out and out[-1].timestamp_ms == bucket:
                last = out[-1]
                out[-1] = Candle(
                    bucket,
                    last.open,
                    max(last.high, c.high),
                    min(last.low, c.low),
                    c.close,
                    last.volume + c.volume,
                )
            else:
                out.append(Candle(bucket, c.open, c.high, c.low, c.close, c.volume))
        if limit:
            out = out[:limit] if since_ms is not None else out[-limit:]
        return out

    # ------------------------------------------------------------------ trading

    def _rounded(
        self, market: PaperMarket, price: Decimal, amount: Decimal
    ) -> tuple[Decimal, Decimal]:
        price_r = (price / market.price_increment).to_integral_value(
            rounding=ROUND_HALF_EVEN
        ) * market.price_increment
        amount_r = (amount / market.amount_increment).to_integral_value(
            rounding=ROUND_DOWN
        ) * market.amount_increment
        return price_r, amount_r

    def place_limit_order(
        self,
        *,
        symbol: str,
        side: OrderSide,
        price: Decimal,
        amount: Decimal,
        client_order_id: str,
        post_only: bool = False,
    ) -> VenueOrder:
        validate_client_order_id(client_order_id)
        market = self._market_row(symbol, lock=False)
        price_r, amount_r = self._rounded(market, price, amount)
        if price_r <= 0 or amount_r <= 0:
            raise InvalidOrder(f"price {price} / amount {amount} round to zero", venue=self.venue)
        if market.min_amount and amount_r < market.min_amount:
            raise InvalidOrder(
                f"amount {amount_r} below minimum {market.min_amount}", venue=self.venue
            )
        if market.min_notional and price_r * amount_r < market.min_notional:
            raise InvalidOrder(f"notional below minimum {market.min_notional}", venue=self.venue)
        if PaperOrder.objects.filter(
            venue=self.venue, account=self.account, client_order_id=client_order_id
        ).exists():
            raise DuplicateClientOrderId(
                f"client order id {client_order_id} already used", venue=self.venue
            )
        with self._session(symbol) as s:
            ext_bids, ext_asks = feed_mod.outside_book(feed_settings(s.market), s.market.feed_price)
            try:
                result = s.engine.place(
                    account=self.account,
                    symbol=symbol,
                    side=str(side),
                    price=price_r,
                    amount=amount_r,
                    client_order_id=client_order_id,
                    post_only=post_only,
                    external=ext_asks if side == OrderSide.BUY else ext_bids,
                )
            except m.InsufficientBalance as exc:
                raise InsufficientFunds(str(exc), venue=self.venue) from exc
            except m.DuplicateClientOrderId as exc:
                raise DuplicateClientOrderId(str(exc), venue=self.venue) from exc
            except m.EngineError as exc:  # post-only cross, bad amount
                raise InvalidOrder(f"{type(exc).__name__}: {exc}", venue=self.venue) from exc
            order = venue_order(result.order, symbol)
        log.info(
            "paper_order_placed",
            venue=self.venue,
            account=self.account,
            symbol=symbol,
            client_order_id=client_order_id,
            order_id=order.id,
            filled=str(order.filled),
        )
        return order

    def _find(self, symbol: str, order_id: str | None, client_order_id: str | None) -> PaperOrder:
        qs = PaperOrder.objects.filter(
            venue=self.venue, account=self.account, market__symbol=symbol
        )
        if order_id:
            qs = qs.filter(order_id=order_id)
        elif client_order_id:
            qs = qs.filter(client_order_id=client_order_id)
        else:
            raise InvalidOrder("order_id or client_order_id is required", venue=self.venue)
        row = qs.first()
        if row is None:
            raise OrderNotFound(
                f"no order {order_id or client_order_id} on {symbol}", venue=self.venue
            )
        return row

    def cancel_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> VenueOrder:
        row = self._find(symbol, order_id, client_order_id)
        with self._session(symbol) as s:
            try:
                order = s.engine.cancel(account=self.account, symbol=symbol, order_id=row.order_id)
            except m.UnknownOrder as exc:
                # Filled (or cancelled) before the cancel arrived: not open any more.
                raise OrderNotFound(f"order {row.order_id} is not open", venue=self.venue) from exc
            return venue_order(order, symbol)

    def fetch_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> VenueOrder:
        with self._session(symbol):
            pass  # bring fills from the feed up to now before answering
        return venue_order(self._find(symbol, order_id, client_order_id), symbol)

    def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]:
        symbols = [symbol] if symbol else list(self.load_markets())
        out: list[VenueOrder] = []
        for sym in symbols:
            with self._session(sym) as s:
                for order in s.engine.orders.values():
                    if order.account == self.account and order.status == "open":
                        out.append(venue_order(order, sym))
        return out

    def fetch_my_trades(
        self, symbol: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[VenueTrade]:
        with self._session(symbol):
            pass
        qs = PaperTrade.objects.filter(
            venue=self.venue, account=self.account, market__symbol=symbol
        ).order_by("timestamp_ms", "pk")
        if since is not None:
            qs = qs.filter(timestamp_ms__gte=int(since.timestamp() * 1000))
        rows = list(qs[:limit] if limit else qs)
        return [
            VenueTrade(
                id=t.trade_id,
                order_id=t.order_id,
                client_order_id=t.client_order_id or None,
                symbol=symbol,
                side=OrderSide(t.side),
                price=t.price,
                amount=t.amount,
                fee_cost=t.fee,
                fee_currency=t.fee_asset,
                taker_or_maker=t.taker_or_maker,
                timestamp=_dt(t.timestamp_ms),
            )
            for t in rows
        ]
