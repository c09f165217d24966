"""A pure-Python limit-order matching engine (Decimal only), shared by the paper venue and the
Binance emulator.

Design:
- One `Book` per symbol; bids best-first (highest price, then oldest), asks best-first
  (lowest price, then oldest): price-time priority. Every order carries a monotonically
  increasing `seq` that breaks price ties.
- Balances are per (account, asset) with `free` and `used`; placing an order moves its
  worst-case cost from free to used (a buy reserves `price * amount` quote, a sell reserves
  `amount` base). A fill settles from `used`; a buy that fills below its limit price gets the
  difference back into `free`. Cancel releases what is left.
- Fees are charged on what the account receives (base for a buy, quote for a sell), like
  Binance's default; a maker rebate (a negative rate) is paid there too, or, on a market
  with `rebate_in_given` (Bybit spot), in what the order gives away. Fees accumulate in
  `fees_collected` (rebates negatively) so that, for every asset,
  `sum(free + used over accounts) + fees_collected - external_in + external_out` is
  constant: the conservation invariant the property tests check.
- "External" liquidity (the paper venue's price feed, the emulator's simulated market) is a
  counterparty outside the accounts: a fill against it moves coins across the boundary and
  is counted in `external_in` / `external_out`.
- Post-only orders that would cross are rejected (`PostOnlyWouldCross`), never repriced.
- The engine holds no I/O: the paper venue loads a market's open orders and the involved
  balances into an engine under a row lock, runs one operation and writes back the diff
  (`touched_orders`, `new_trades`, `touched_balances`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import ROUND_DOWN, Decimal

from exchanges.venues.book import (
    EXTERNAL,
    ZERO,
    Book,
    DuplicateClientOrderId,
    EngineError,
    EngineOrder,
    EngineTrade,
    ExternalLevel,
    InsufficientBalance,
    InvalidAmount,
    MarketSpec,
    PlaceResult,
    PostOnlyWouldCross,
    UnknownMarket,
    UnknownOrder,
)

# The records are part of the engine's interface: callers use `matching.EngineOrder`, ...
__all__ = [
    "EXTERNAL",
    "ZERO",
    "Book",
    "DuplicateClientOrderId",
    "EngineError",
    "EngineOrder",
    "EngineTrade",
    "ExternalLevel",
    "InsufficientBalance",
    "InvalidAmount",
    "MarketSpec",
    "MatchingEngine",
    "PlaceResult",
    "PostOnlyWouldCross",
    "UnknownMarket",
    "UnknownOrder",
]


class MatchingEngine:
    def __init__(
        self,
        markets: Iterable[MarketSpec] = (),
        *,
        id_factory: Callable[[str], str] | None = None,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.markets: dict[str, MarketSpec] = {m.symbol: m for m in markets}
        self.books: dict[str, Book] = {s: Book() for s in self.markets}
        self.orders: dict[str, EngineOrder] = {}
        self.client_ids: dict[tuple[str, str], str] = {}  # (account, client id) -> order id
        self.balances: dict[tuple[str, str], list[Decimal]] = {}  # (account, asset) -> [free, used]
        self.fees_collected: dict[str, Decimal] = {}
        self.external_in: dict[str, Decimal] = {}
        self.external_out: dict[str, Decimal] = {}
        self.trades: list[EngineTrade] = []
        self._counter = 0
        self._seq = 0
        self._id_factory = id_factory or self._default_id
        self._clock_ms = clock_ms or (lambda: 0)
        # Diff of the last operations, for stores that persist the engine (paper venue).
        self.touched_orders: dict[str, EngineOrder] = {}
        self.touched_balances: set[tuple[str, str]] = set()
        self.new_trades: list[EngineTrade] = []

    # ------------------------------------------------------------------ setup / loading

    def _default_id(self, kind: str) -> str:
        self._counter += 1
        return str(self._counter)

    def add_market(self, spec: MarketSpec) -> None:
        self.markets[spec.symbol] = spec
        self.books.setdefault(spec.symbol, Book())

    def load_balance(self, account: str, asset: str, free: Decimal, used: Decimal) -> None:
        self.balances[(account, asset)] = [free, used]

    def load_order(self, order: EngineOrder) -> None:
        """Put a resting order back (loading persisted state); touches nothing."""
        self.orders[order.id] = order
        if order.client_order_id:
            self.client_ids[(order.account, order.client_order_id)] = order.id
        self._seq = max(self._seq, order.seq)
        if order.status == "open":
            self.books[order.symbol].add(order)

    def reset_diff(self) -> None:
        self.touched_orders = {}
        self.touched_balances = set()
        self.new_trades = []

    # ------------------------------------------------------------------ balances

    def balance(self, account: str, asset: str) -> tuple[Decimal, Decimal]:
        free, used = self.balances.get((account, asset), [ZERO, ZERO])
        return free, used

    def _bal(self, account: str, asset: str) -> list[Decimal]:
        self.touched_balances.add((account, asset))
        return self.balances.setdefault((account, asset), [ZERO, ZERO])

    def deposit(self, account: str, asset: str, amount: Decimal) -> None:
        """Coins enter from outside (a deposit): counted as external inflow."""
        if amount <= 0:
            raise InvalidAmount("deposit amount must be positive")
        self._bal(account, asset)[0] += amount
        self.external_in[asset] = self.external_in.get(asset, ZERO) + amount

    def withdraw(self, account: str, asset: str, amount: Decimal) -> None:
        if amount <= 0:
            raise InvalidAmount("withdraw amount must be positive")
        bal = self._bal(account, asset)
        if bal[0] < amount:
            raise InsufficientBalance(f"free {asset} {bal[0]} < {amount}")
        bal[0] -= amount
        self.external_out[asset] = self.external_out.get(asset, ZERO) + amount

    def _external_flow(self, asset: str, delta: Decimal) -> None:
        if delta > 0:
            self.external_in[asset] = self.external_in.get(asset, ZERO) + delta
        elif delta < 0:
            self.external_out[asset] = self.external_out.get(asset, ZERO) - delta

    # ------------------------------------------------------------------ orders

    def _q(self, spec: MarketSpec, value: Decimal) -> Decimal:
        return value.quantize(spec.quote_precision, rounding=ROUND_DOWN)

    def _reserve_for(self, spec: MarketSpec, side: str, price: Decimal, amount: Decimal) -> Decimal:
        # A buy's worst case is its full notional at its limit price, rounded up so that the
        # reservation always covers the quantized quote amount of every fill.
        if side == "buy":
            notional = price * amount
            rounded = self._q(spec, notional)
            return rounded if rounded == notional else rounded + spec.quote_precision
        return amount

    def place(
        self,
        *,
        account: str,
        symbol: str,
        side: str,
        price: Decimal,
        amount: Decimal,
        client_order_id: str | None = None,
        post_only: bool = False,
        external: Iterable[ExternalLevel] = (),
    ) -> PlaceResult:
        spec = self.markets.get(symbol)
        if spec is None:
            raise UnknownMarket(symbol)
        if side not in ("buy", "sell"):
            raise InvalidAmount(f"bad side {side!r}")
        if price <= 0 or amount <= 0:
            raise InvalidAmount("price and amount must be positive")
        if client_order_id and (account, client_order_id) in self.client_ids:
            raise DuplicateClientOrderId(client_order_id)
        book = self.books[symbol]
        opposite = book.asks if side == "buy" else book.bids
        ext = sorted(
            (lvl for lvl in external if lvl.amount > 0),
            key=lambda lvl: lvl.price if side == "buy" else -lvl.price,
        )

        def crosses(p: Decimal) -> bool:
            return p <= price if side == "buy" else p >= price

        if post_only and (
            (opposite and crosses(opposite[0].price)) or (ext and crosses(ext[0].price))
        ):
            raise PostOnlyWouldCross(f"{side} {price} would cross")
        reserve_asset = spec.quote if side == "buy" else spec.base
        reserve = self._reserve_for(spec, side, price, amount)
        bal = self._bal(account, reserve_asset)
        if bal[0] < reserve:
            raise InsufficientBalance(f"free {reserve_asset} {bal[0]} < {reserve}")
        bal[0] -= reserve
        bal[1] += reserve
        now = self._clock_ms()
        self._seq += 1
        order = EngineOrder(
            id=self._id_factory("order"),
            seq=self._seq,
            account=account,
            symbol=symbol,
            side=side,
            price=price,
            amount=amount,
            client_order_id=client_order_id or None,
            post_only=post_only,
            created_ms=now,
            updated_ms=now,
            reserved=reserve,
        )
        self.orders[order.id] = order
        if client_order_id:
            self.client_ids[(account, client_order_id)] = order.id
        self.touched_orders[order.id] = order
        trades: list[EngineTrade] = []
        ext_left = [[lvl.price, lvl.amount] for lvl in ext]
        while order.remaining > 0:
            internal = opposite[0] if opposite and crosses(opposite[0].price) else None
            external_lvl = next((lvl for lvl in ext_left if lvl[1] > 0), None)
            if external_lvl is not None and not crosses(external_lvl[0]):
                external_lvl = None
            if internal is None and external_lvl is None:
                break
            # Price priority across both sources; at equal price the resting order on our
            # book was there first (time priority), so it wins.
            use_internal = internal is not None and (
                external_lvl is None
                or (
                    internal.price <= external_lvl[0]
                    if side == "buy"
                    else internal.price >= external_lvl[0]
                )
            )
            if use_internal:
                assert internal is not None
                qty = min(order.remaining, internal.remaining)
                trades.extend(
                    self._fill(
                        spec, taker=order, maker=internal, price=internal.price, qty=qty, now=now
                    )
                )
                if internal.remaining == 0:
                    opposite.pop(0)
            else:
                assert external_lvl is not None
                qty = min(order.remaining, external_lvl[1])
                external_lvl[1] -= qty
                trades.append(
                    self._fill_external(
                        spec, order, price=external_lvl[0], qty=qty, maker=False, now=now
                    )
                )
        if order.remaining > 0:
            book.add(order)
        else:
            order.status = "closed"
            self._release(spec, order)
        return PlaceResult(order=order, trades=trades)

    def cancel(self, *, account: str, symbol: str, order_id: str) -> EngineOrder:
        order = self.orders.get(order_id)
        if order is None or order.account != account or order.symbol != symbol:
            raise UnknownOrder(order_id)
        if order.status != "open":
            raise UnknownOrder(f"{order_id} is {order.status}")
        spec = self.markets[symbol]
        self.books[symbol].remove(order)
        order.status = "canceled"
        order.updated_ms = self._clock_ms()
        self._release(spec, order)
        self.touched_orders[order.id] = order
        return order

    def order_by_client_id(self, account: str, client_order_id: str) -> EngineOrder | None:
        oid = self.client_ids.get((account, client_order_id))
        return self.orders.get(oid) if oid else None

    def external_trade(
        self, *, symbol: str, price: Decimal, amount: Decimal | None = None
    ) -> list[EngineTrade]:
        """An outside trade printed at `price`: our resting orders at or better than it fill as
        makers (bids at >= price, asks at <= price) in price-time order, up to `amount` on
        each side (None: unlimited)."""
        spec = self.markets[symbol]
        book = self.books[symbol]
        now = self._clock_ms()
        trades: list[EngineTrade] = []
        sides: tuple[tuple[list[EngineOrder], Callable[[Decimal], bool]], ...] = (
            (book.bids, lambda p: p >= price),
            (book.asks, lambda p: p <= price),
        )
        for side_orders, crosses in sides:
            left = amount
            while side_orders and crosses(side_orders[0].price) and (left is None or left > 0):
                maker = side_orders[0]
                qty = maker.remaining if left is None else min(maker.remaining, left)
                trades.append(
                    self._fill_external(
                        spec, maker, price=maker.price, qty=qty, maker=True, now=now
                    )
                )
                if left is not None:
                    left -= qty
                if maker.remaining == 0:
                    side_orders.pop(0)
                    maker.status = "closed"
                    self._release(spec, maker)
        return trades

    # ------------------------------------------------------------------ settlement

    def _release(self, spec: MarketSpec, order: EngineOrder) -> None:
        asset = spec.quote if order.side == "buy" else spec.base
        bal = self._bal(order.account, asset)
        bal[1] -= order.reserved
        bal[0] += order.reserved
        order.reserved = ZERO

    def _settle(
        self, spec: MarketSpec, order: EngineOrder, price: Decimal, qty: Decimal, fee_rate: Decimal
    ) -> tuple[Decimal, Decimal, str, Decimal, Decimal]:
        """Move `order`'s side of a fill out of its reservation and credit what it receives.
        Returns (quote_amount, fee, fee_asset, base_delta_for_counterparty, quote_delta...)."""
        quote_amount = self._q(spec, price * qty)
        order.filled += qty
        order.cost += quote_amount
        order.updated_ms = self._clock_ms()
        self.touched_orders[order.id] = order
        if order.side == "buy":
            # Pays quote from the reservation, receives base minus fee.
            self._bal(order.account, spec.quote)[1] -= quote_amount
            order.reserved -= quote_amount
            if fee_rate < 0 and spec.rebate_in_given:
                fee = self._q(spec, quote_amount * fee_rate)  # negative: a rebate, in quote
                self._bal(order.account, spec.base)[0] += qty
                self._bal(order.account, spec.quote)[0] -= fee
                fee_asset = spec.quote
            else:
                fee = (qty * fee_rate).quantize(spec.base_precision, rounding=ROUND_DOWN)
                self._bal(order.account, spec.base)[0] += qty - fee
                fee_asset = spec.base
            # A buy that filled below its limit price holds more than the rest can cost.
            still_needed = (
                self._reserve_for(spec, "buy", order.price, order.remaining)
                if order.remaining
                else ZERO
            )
            excess = order.reserved - still_needed
            if excess > 0:
                self._bal(order.account, spec.quote)[1] -= excess
                self._bal(order.account, spec.quote)[0] += excess
                order.reserved -= excess
        else:
            self._bal(order.account, spec.base)[1] -= qty
            order.reserved -= qty
            if fee_rate < 0 and spec.rebate_in_given:
                fee = (qty * fee_rate).quantize(spec.base_precision, rounding=ROUND_DOWN)
                self._bal(order.account, spec.quote)[0] += quote_amount
                self._bal(order.account, spec.base)[0] -= fee  # a rebate, in base
                fee_asset = spec.base
            else:
                fee = self._q(spec, quote_amount * fee_rate)
                self._bal(order.account, spec.quote)[0] += quote_amount - fee
                fee_asset = spec.quote
        self.fees_collected[fee_asset] = self.fees_collected.get(fee_asset, ZERO) + fee
        return quote_amount, fee, fee_asset, qty, quote_amount

    def _trade(
        self,
        spec: MarketSpec,
        order: EngineOrder,
        price: Decimal,
        qty: Decimal,
        quote_amount: Decimal,
        fee: Decimal,
        fee_asset: str,
        role: str,
        counterparty: str | None,
        now: int,
    ) -> EngineTrade:
        trade = EngineTrade(
            id=self._id_factory("trade"),
            symbol=spec.symbol,
            order_id=order.id,
            account=order.account,
            side=order.side,
            price=price,
            amount=qty,
            quote_amount=quote_amount,
            fee=fee,
            fee_asset=fee_asset,
            taker_or_maker=role,
            counterparty_order_id=counterparty,
            timestamp_ms=now,
        )
        self.trades.append(trade)
        self.new_trades.append(trade)
        return trade

    def _fill(
        self,
        spec: MarketSpec,
        *,
        taker: EngineOrder,
        maker: EngineOrder,
        price: Decimal,
        qty: Decimal,
        now: int,
    ) -> list[EngineTrade]:
        q_t, fee_t, asset_t, _, _ = self._settle(spec, taker, price, qty, spec.taker_fee)
        q_m, fee_m, asset_m, _, _ = self._settle(spec, maker, price, qty, spec.maker_fee)
        assert q_t == q_m
        if maker.remaining == 0:
            maker.status = "closed"
            self._release(spec, maker)
        return [
            self._trade(spec, taker, price, qty, q_t, fee_t, asset_t, "taker", maker.id, now),
            self._trade(spec, maker, price, qty, q_m, fee_m, asset_m, "maker", taker.id, now),
        ]

    def _fill_external(
        self,
        spec: MarketSpec,
        order: EngineOrder,
        *,
        price: Decimal,
        qty: Decimal,
        maker: bool,
        now: int,
    ) -> EngineTrade:
        fee_rate = spec.maker_fee if maker else spec.taker_fee
        quote_amount, fee, fee_asset, _, _ = self._settle(spec, order, price, qty, fee_rate)
        # The outside counterparty delivers what our account receives and takes what it pays.
        if order.side == "buy":
            self._external_flow(spec.base, qty)
            self._external_flow(spec.quote, -quote_amount)
        else:
            self._external_flow(spec.base, -qty)
            self._external_flow(spec.quote, quote_amount)
        return self._trade(
            spec,
            order,
            price,
            qty,
            quote_amount,
            fee,
            fee_asset,
            "maker" if maker else "taker",
            None,
            now,
        )

    # ------------------------------------------------------------------ invariants
