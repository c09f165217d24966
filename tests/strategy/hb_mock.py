"""A replay of Hummingbot's test market, driving our pure engine tick by tick.

Built from Hummingbot's own test support so its PMM test vectors can run unchanged:

- `MockPaperExchange.set_balanced_order_book(mid, min, max, step, volume_step)`: bids from
  mid - step/2 down to min, asks from mid + step/2 up to max, sizes volume_step, 2x, ...;
- `QuantizationParams(pair, 6, 6, 6, 6)`: quantum = max(1e(ceil(log10 x) - 6), 1e-6),
  floored (`ConnectorBase.c_quantize_order_price/amount`);
- `PaperTradeExchange.c_match_trade_to_limit_orders`: a market sell trade at p fills every
  one of our bids priced strictly above p, completely (a buy trade: asks strictly below);
  limit orders crossing the book fill on the market's next tick, before the strategy's;
- `Clock.backtest_til(t)`: one tick per second from start + 1 through t;
- zero fees (`MockPaperExchange` uses a 0 % fee schema).

The engine's cancels are synchronous here as in the mock, so when a tick cancels and the
strategy waits for confirmations, the tick runs again at the same time after the cancel
confirmations — what Hummingbot's single tick does with a synchronous exchange.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from exchanges.venues.base import BookLevel, OrderBook, OrderSide
from strategy.params import PureMarketMakingParams
from strategy.quoting import engine
from strategy.quoting.diff import orders_to_hang
from strategy.quoting.proposal import Inputs
from strategy.quoting.pure_mm import PriceSource, reference_price_of
from strategy.quoting.types import LiveOrder

D = Decimal
START = datetime(2019, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SigQuantizer:
    """Hummingbot's MockPaperExchange quantization: significant digits and decimals."""

    price_precision: int = 6
    price_decimals: int = 6
    size_precision: int = 6
    size_decimals: int = 6

    @staticmethod
    def _quantum(x: Decimal, precision: int, decimals: int) -> Decimal:
        floor_q = D(f"1e-{decimals}")
        if x <= 0:
            return floor_q
        ceil_log = x.adjusted() + (0 if x == D(10) ** x.adjusted() else 1)
        return max(D(f"1e{ceil_log - precision}"), floor_q)

    def price_quantum(self, price: Decimal) -> Decimal:
        return self._quantum(price, self.price_precision, self.price_decimals)

    def amount_quantum(self, amount: Decimal) -> Decimal:
        return self._quantum(amount, self.size_precision, self.size_decimals)


def balanced_book(mid: float, lo: float, hi: float, step: float, vol: float) -> OrderBook:
    bids, asks = [], []
    price, size = mid - step / 2, vol
    while price >= lo:
        bids.append(BookLevel(D(repr(price)), D(repr(size))))
        price, size = price - step, size + vol
    price, size = mid + step / 2, vol
    while price <= hi:
        asks.append(BookLevel(D(repr(price)), D(repr(size))))
        price, size = price + step, size + vol
    return OrderBook(symbol="HBOT/ETH", bids=tuple(bids), asks=tuple(asks), timestamp=START)


def widen(book: OrderBook, top_bid: float, top_ask: float) -> OrderBook:
    """`simulate_order_book_widening`: bids above top_bid and asks below top_ask removed."""
    return replace(
        book,
        bids=tuple(b for b in book.bids if b.price <= D(repr(top_bid))),
        asks=tuple(a for a in book.asks if a.price >= D(repr(top_ask))),
    )


def with_rows(
    book: OrderBook, bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> OrderBook:
    """`OrderBook.apply_diffs` with rows newer than every row already in the book (a zero
    amount removes the row), then `truncateOverlapEntriesCentralised`: while the top bid
    crosses the top ask, the ask goes if the bid is newer, else the bid goes."""

    def merge(
        levels: tuple[BookLevel, ...], rows: list[tuple[str, str]], reverse: bool
    ) -> list[BookLevel]:
        by_price = {lv.price: lv.amount for lv in levels}
        for p, a in rows:
            by_price[D(p)] = D(a)
        kept = [BookLevel(p, a) for p, a in by_price.items() if a > 0]
        return sorted(kept, key=lambda lv: lv.price, reverse=reverse)

    new_bids = {D(p) for p, _ in bids}
    new_asks = {D(p) for p, _ in asks}
    bid_levels, ask_levels = merge(book.bids, bids, True), merge(book.asks, asks, False)
    while bid_levels and ask_levels and bid_levels[0].price >= ask_levels[0].price:
        if bid_levels[0].price in new_bids and ask_levels[0].price not in new_asks:
            ask_levels.pop(0)
        else:
            bid_levels.pop(0)
    return replace(book, bids=tuple(bid_levels), asks=tuple(ask_levels))


@dataclass
class Sim:
    params: PureMarketMakingParams
    book: OrderBook = field(default_factory=lambda: balanced_book(100, 1, 200, 1, 10))
    base: Decimal = D(500)  # HBOT
    quote: Decimal = D(5000)  # ETH
    ext_book: OrderBook | None = None  # external price source (OrderBookAssetPriceDelegate)
    custom_price: Decimal | None = None  # MockAssetPriceDelegate
    quantizer: SigQuantizer = field(default_factory=SigQuantizer)
    market_ticks: bool = True  # the market is on the clock (fills crossed limit orders)
    now: datetime = START
    state: engine.EngineState = field(default_factory=engine.EngineState)
    live: list[LiveOrder] = field(default_factory=list)
    fills: list[tuple[OrderSide, Decimal, Decimal]] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    potential: set[str] = field(default_factory=set)  # pairs' other sides, hung at refresh
    cancels_in_flight: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    # -- views ---------------------------------------------------------------------------

    @property
    def buys(self) -> list[LiveOrder]:
        return [o for o in self.live if o.side == OrderSide.BUY]

    @property
    def sells(self) -> list[LiveOrder]:
        return [o for o in self.live if o.side == OrderSide.SELL]

    @property
    def hanging_ids(self) -> list[str]:
        return [o.client_order_id for o in self.live if o.hanging]

    def locked(self, *, hanging_only: bool = False) -> tuple[Decimal, Decimal]:
        orders = [o for o in self.live if o.hanging or not hanging_only]
        base = sum((o.amount for o in orders if o.side == OrderSide.SELL), D(0))
        quote = sum((o.amount * o.price for o in orders if o.side == OrderSide.BUY), D(0))
        return base, quote

    # -- market events -------------------------------------------------------------------

    def _fill(self, order: LiveOrder) -> None:
        self.live.remove(order)
        if order.side == OrderSide.BUY:
            self.base += order.amount
            self.quote -= order.amount * order.price
        else:
            self.base -= order.amount
            self.quote += order.amount * order.price
        self.fills.append((order.side, order.price, order.amount))
        self.potential.discard(order.client_order_id)
        if self.params.hanging_orders_enabled:
            self.potential |= set(orders_to_hang(live=self.live, filled=order))
        self.state = engine.on_fill(
            self.params,
            self.state,
            side=order.side,
            amount=order.amount,
            price=order.price,
            base_asset="HBOT",
            quote_asset="ETH",
        )
        self.state = engine.on_order_completed(
            self.params,
            self.state,
            side=order.side,
            price=order.price,
            hanging=order.hanging,
            now=self.now,
        )

    def trade(self, *, is_buy: bool, price: str) -> None:
        """`simulate_maker_market_trade(is_buy, quantity, price)` (quantity never binds)."""
        p = D(price)
        self.last_trade = p  # OrderBook.apply_trade sets the last trade price
        if is_buy:
            hit = sorted((o for o in self.sells if o.price < p), key=lambda o: o.price)
        else:
            hit = sorted((o for o in self.buys if o.price > p), key=lambda o: -o.price)
        for order in hit:
            self._fill(order)

    def _fill_crossed(self) -> None:
        for order in list(self.live):
            if (
                order.side == OrderSide.BUY
                and self.book.best_ask is not None
                and order.price >= self.book.best_ask
            ):
                self._fill(order)
            elif (
                order.side == OrderSide.SELL
                and self.book.best_bid is not None
                and order.price <= self.book.best_bid
            ):
                self._fill(order)

    def cancel(self, order: LiveOrder) -> None:
        self.live.remove(order)
        self.potential.discard(order.client_order_id)
        self.cancelled.append(order.client_order_id)

    # -- the strategy --------------------------------------------------------------------

    def inputs(self) -> Inputs | None:
        if self.custom_price is not None:
            price: Decimal | None = self.custom_price
        else:
            source = PriceSource(book=self.ext_book or self.book, last_price=self.last_trade)
            price = reference_price_of(
                params=self.params,
                source=source,
                last_own_trade_price=self.state.last_own_trade_price,
            )
        if price is None:
            return None
        hanging_base, hanging_quote = self.locked(hanging_only=True)
        own_buy = self.buys[-1].amount if self.buys else D(0)
        own_sell = self.sells[-1].amount if self.sells else D(0)
        cost = self.state.cost_basis.price if self.state.cost_basis else None
        return Inputs(
            price=price,
            book=self.book,
            quantizer=self.quantizer,
            maker_fee=D(0),
            taker_fee=D(0),
            base_balance=self.base,
            quote_balance=self.quote,
            budget_base=self.base - hanging_base,
            budget_quote=self.quote - hanging_quote,
            now=self.now,
            cost_price=cost,
            own_buy_size=own_buy,
            own_sell_size=own_sell,
        )

    last_trade: Decimal | None = None

    def _strategy_tick(self) -> None:
        for _ in range(2):  # the second pass: after synchronous cancel confirmations
            decision = engine.tick(
                self.params,
                self.state,
                inputs=self.inputs(),
                live=list(self.live),
                now=self.now,
                cancels_in_flight=self.cancels_in_flight,
                potential_hanging=frozenset(self.potential),
            )
            self.state = decision.state
            hung = {o.client_order_id for o in decision.to_hang}
            self.potential -= hung
            self.live = [
                replace(o, hanging=True) if o.client_order_id in hung else o for o in self.live
            ]
            for order, _reason in decision.cancels:
                self.cancel(order)
            for order in decision.renew:
                self._place(order.side, order.price, order.amount, level=order.level, hanging=True)
            if decision.places is not None:
                for b in decision.places.buys:
                    self._place(OrderSide.BUY, b.price, b.size, level=b.level)
                for s in decision.places.sells:
                    self._place(OrderSide.SELL, s.price, s.size, level=s.level)
            if not decision.cancels or decision.places is not None:
                return

    def _place(
        self,
        side: OrderSide,
        price: Decimal,
        amount: Decimal,
        *,
        level: int | None,
        hanging: bool = False,
    ) -> None:
        self.live.append(
            LiveOrder(
                client_order_id=f"OID-{next(self._ids)}",
                side=side,
                level=level,
                price=price,
                amount=amount,
                created_at=self.now,
                hanging=hanging,
            )
        )

    def backtest_til(self, seconds: float) -> None:
        target = START + timedelta(seconds=seconds)
        while self.now < target:
            if self.market_ticks:
                # The market ticks before the strategy, whose clock still reads the
                # previous tick: fills it reports are stamped with that time.
                self._fill_crossed()
            self.now += timedelta(seconds=1)
            self._strategy_tick()
