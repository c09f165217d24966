"""The matching engine's records: markets, orders, trades, the order book per symbol, and
the engine's errors (`exchanges.venues.matching` runs them; the paper venue and the
emulators persist or serve them).

A `Book` keeps bids best-first (highest price, then oldest) and asks best-first (lowest
price, then oldest): price-time priority, ties broken by each order's monotonically
increasing `seq`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)
EXTERNAL = "__external__"  # counterparty name of simulated outside liquidity


class EngineError(Exception):
    """Base of engine rejections; the venue layers map them onto their own error dialects."""


class UnknownMarket(EngineError):
    pass


class InsufficientBalance(EngineError):
    pass


class InvalidAmount(EngineError):
    pass


class PostOnlyWouldCross(EngineError):
    pass


class DuplicateClientOrderId(EngineError):
    pass


class UnknownOrder(EngineError):
    pass


@dataclass(frozen=True)
class MarketSpec:
    symbol: str
    base: str
    quote: str
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    # Quote amounts (notional, fees) are quantized to this, rounding toward the venue so the
    # venue never pays out more than it holds.
    quote_precision: Decimal = Decimal("0.00000001")
    base_precision: Decimal = Decimal("0.00000001")
    # A maker rebate (a negative fee rate) is paid in the asset the order gives away (quote
    # for a buy, base for a sell), as Bybit spot does, instead of the asset it receives.
    rebate_in_given: bool = False


@dataclass
class EngineOrder:
    id: str
    seq: int
    account: str
    symbol: str
    side: str  # "buy" | "sell"
    price: Decimal
    amount: Decimal
    filled: Decimal = ZERO
    client_order_id: str | None = None
    post_only: bool = False
    status: str = "open"  # open | closed | canceled
    created_ms: int = 0
    updated_ms: int = 0
    cost: Decimal = ZERO  # quote filled (sum of price * amount of fills)
    reserved: Decimal = ZERO  # what is still held in `used` for this order

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def average(self) -> Decimal | None:
        return (self.cost / self.filled) if self.filled else None


@dataclass(frozen=True)
class EngineTrade:
    id: str
    symbol: str
    order_id: str
    account: str
    side: str
    price: Decimal
    amount: Decimal
    quote_amount: Decimal
    fee: Decimal
    fee_asset: str
    taker_or_maker: str
    counterparty_order_id: str | None
    timestamp_ms: int


@dataclass
class Book:
    bids: list[EngineOrder] = field(default_factory=list)
    asks: list[EngineOrder] = field(default_factory=list)

    def add(self, order: EngineOrder) -> None:
        if order.side == "buy":
            self.bids.append(order)
            self.bids.sort(key=lambda o: (-o.price, o.seq))
        else:
            self.asks.append(order)
            self.asks.sort(key=lambda o: (o.price, o.seq))

    def remove(self, order: EngineOrder) -> None:
        side = self.bids if order.side == "buy" else self.asks
        side[:] = [o for o in side if o.id != order.id]

    def levels(self, side: str, limit: int) -> list[tuple[Decimal, Decimal]]:
        out: list[tuple[Decimal, Decimal]] = []
        for order in self.bids if side == "buy" else self.asks:
            if out and out[-1][0] == order.price:
                out[-1] = (order.price, out[-1][1] + order.remaining)
            elif len(out) >= limit:
                break
            else:
                out.append((order.price, order.remaining))
        return out


@dataclass(frozen=True)
class ExternalLevel:
    """Outside liquidity an incoming order may take: `amount` at `price` (never rests)."""

    price: Decimal
    amount: Decimal


@dataclass
class PlaceResult:
    order: EngineOrder
    trades: list[EngineTrade]
