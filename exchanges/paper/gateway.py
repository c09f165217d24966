"""`PaperGateway`: the paper venue behind the `VenueGateway` protocol, state in the database.

Design:
- Every operation on a pair runs in one transaction that first locks the pair's
  `PaperMarket` row (`select_for_update`), then the balance rows it may touch — of every
  account with an open order on the pair plus the caller — in primary-key order (STYLE §6),
  so two processes matching the same pair queue instead of double-filling, and operations
  on different pairs that share an account's quote balance cannot deadlock.
- Under the lock it rebuilds a `MatchingEngine` from the rows (open orders in time
  priority, balances), advances the price feed to now (outside prints fill resting orders
  as makers), applies the operation, and writes back only the engine's diff.
- Order and trade ids are `<market id>-<seq>` from the market row's counter; client order
  ids are unique per (venue, account) by a database constraint.
- Deposits, deposit addresses and withdrawals live in `exchanges.paper.services`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import structlog
from django.db import IntegrityError, transaction

from exchanges.paper import feed as feed_mod
from exchanges.paper.models import PaperBalance, PaperCandle, PaperMarket, PaperOrder, PaperTrade
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


def feed_settings(market: PaperMarket) -> feed_mod.FeedSettings:
    return feed_mod.FeedSettings(
        kind=market.feed_kind,
        seed=market.feed_seed,
        volatility=market.feed_volatility,
        step_seconds=market.feed_step_seconds,
        csv_path=market.feed_csv_path,
        print_amount=market.feed_print_amount,
        price_increment=market.price_increment,
        amount_increment=market.amount_increment,
        half_spread=market.book_half_spread,
        levels=market.book_levels,
        level_amount=market.book_level_amount,
    )


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


@dataclass
class _Session:
    market: PaperMarket
    engine: m.MatchingEngine
    rows: dict[str, PaperOrder]
    balances: dict[tuple[str, str], PaperBalance]
    now_ms: int


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
        qs = PaperMarket.objects.filter(venue=self.venue, symbol=symbol, active=True)
        if lock:
            qs = qs.select_for_update()
        market = qs.first()
        if market is None:
            raise InvalidOrder(f"unknown market {symbol}", venue=self.venue)
        return market

    @contextmanager
    def _session(self, symbol: str) -> Iterator[_Session]:
        with transaction.atomic():
            market = self._market_row(symbol, lock=True)
            now_ms = self._now_ms()
            orders = list(PaperOrder.objects.filter(market=market, status="open").order_by("seq"))
            accounts = sorted({o.account for o in orders} | {self.account})
            assets = [market.base, market.quote]
            PaperBalance.objects.bulk_create(
                [
                    PaperBalance(venue=self.venue, account=a, asset=s)
                    for a in accounts
                    for s in assets
                ],
                ignore_conflicts=True,
            )
            balance_rows = list(
                PaperBalance.objects.select_for_update()
                .filter(venue=self.venue, account__in=accounts, asset__in=assets)
                .order_by("pk")
            )
            seq = market.next_seq

            def next_id(kind: str) -> str:
                nonlocal seq
                seq += 1
                return f"{market.pk}-{seq}"

            spec = m.MarketSpec(
                market.symbol,
                market.base,
                market.quote,
                maker_fee=market.maker_fee,
                taker_fee=market.taker_fee,
            )
            engine = m.MatchingEngine([spec], id_factory=next_id, clock_ms=lambda: now_ms)
            for b in balance_rows:
                engine.load_balance(b.account, b.asset, b.free, b.used)
            for o in orders:
                engine.load_order(
                    m.EngineOrder(
                        id=o.order_id,
                        seq=o.seq,
                        account=o.account,
                        symbol=market.symbol,
                        side=o.side,
                        price=o.price,
                        amount=o.amount,
                        filled=o.filled,
                        client_order_id=o.client_order_id,
                        post_only=o.post_only,
                        status=o.status,
                        created_ms=o.created_ms,
                        updated_ms=o.updated_ms,
                        cost=o.cost,
                        reserved=o.reserved,
                    )
                )
            # Engine ids double as time priority, so the engine's seq continues the market's.
            engine._seq = max(engine._seq, seq)
            session = _Session(
                market=market,
                engine=engine,
                rows={o.order_id: o for o in orders},
                balances={(b.account, b.asset): b for b in balance_rows},
                now_ms=now_ms,
            )
            self._advance_feed(session)
            yield session
            market.next_seq = max(seq, engine._seq)
            self._write_back(session)

    def _advance_feed(self, s: _Session) -> None:
        market = s.market
        settings = feed_settings(market)
        now_step = s.now_ms // (1000 * settings.step_seconds)
        if market.feed_step == 0:
            market.feed_step = now_step  # a new market starts its walk now
            return
        for p in feed_mod.prints_between(settings, market.feed_price, market.feed_step, now_step):
            s.engine.external_trade(symbol=market.symbol, price=p.price, amount=p.amount)
            self._candle(market, p.step * 1000 * settings.step_seconds, p.price, p.amount)
            market.feed_price = p.price
        market.feed_step = max(market.feed_step, now_step)

    def _candle(self, market: PaperMarket, ts_ms: int, price: Decimal, amount: Decimal) -> None:
        open_time = ts_ms - ts_ms % 60_000
        candle, created = PaperCandle.objects.get_or_create(
            market=market,
            open_time_ms=open_time,
            defaults={"open": price, "high": price, "low": price, "close": price, "volume": amount},
        )
        if not created:
            candle.high = max(candle.high, price)
            candle.low = min(candle.low, price)
            candle.close = price
            candle.volume += amount
            candle.save(update_fields=["high", "low", "close", "volume"])

    def _write_back(self, s: _Session) -> None:
        eng = s.engine
        market = s.market
        for order in eng.touched_orders.values():
            row = s.rows.get(order.id)
            if row is None:
                try:
                    with transaction.atomic():
                        PaperOrder.objects.create(
                            market=market,
                            venue=self.venue,
                            order_id=order.id,
                            seq=order.seq,
                            account=order.account,
                            client_order_id=order.client_order_id,
                            side=order.side,
                            price=order.price,
                            amount=order.amount,
                            filled=order.filled,
                            cost=order.cost,
                            reserved=order.reserved,
                            post_only=order.post_only,
                            status=order.status,
                            created_ms=order.created_ms,
                            updated_ms=order.updated_ms,
                        )
                except IntegrityError as exc:
                    # Same client order id placed concurrently on another pair of this venue.
                    raise DuplicateClientOrderId(
                        f"client order id {order.client_order_id} already used", venue=self.venue
                    ) from exc
            else:
                row.filled, row.cost, row.reserved = order.filled, order.cost, order.reserved
                row.status, row.updated_ms = order.status, order.updated_ms
                row.save(update_fields=["filled", "cost", "reserved", "status", "updated_ms"])
        client_ids = {o.id: o.client_order_id for o in eng.orders.values()}
        PaperTrade.objects.bulk_create(
            [
                PaperTrade(
                    market=market,
                    venue=self.venue,
                    trade_id=t.id,
                    order_id=t.order_id,
                    client_order_id=client_ids.get(t.order_id) or "",
                    account=t.account,
                    side=t.side,
                    price=t.price,
                    amount=t.amount,
                    quote_amount=t.quote_amount,
                    fee=t.fee,
                    fee_asset=t.fee_asset,
                    taker_or_maker=t.taker_or_maker,
                    counterparty_order_id=t.counterparty_order_id or "",
                    timestamp_ms=t.timestamp_ms,
                )
                for t in eng.new_trades
            ]
        )
        own_fills = [
            t
            for t in eng.new_trades
            if t.counterparty_order_id is not None and t.taker_or_maker == "taker"
        ]
        for t in own_fills:  # fills between two of our accounts print on the tape too
            self._candle(market, t.timestamp_ms, t.price, t.amount)
        for key in eng.touched_balances:
            balance = s.balances[key]
            balance.free, balance.used = eng.balances[key]
            balance.save(update_fields=["free", "used", "updated_at"])
        market.save(update_fields=["feed_price", "feed_step", "next_seq"])

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
