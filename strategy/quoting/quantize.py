"""Quantization to a venue's price and amount steps, as Hummingbot's connectors do it.

Hummingbot quantizes with `(value // quantum) * quantum`: prices and amounts are floored,
bids and asks alike. A quantum may depend on the value (Hummingbot's paper exchange uses
significant digits); `Steps` is the usual fixed tick and lot of a `MarketInfo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from exchanges.venues.base import MarketInfo


class Quantizer(Protocol):
    def price_quantum(self, price: Decimal) -> Decimal: ...

    def amount_quantum(self, amount: Decimal) -> Decimal: ...


@dataclass(frozen=True)
class Steps:
    """A fixed tick and lot (a `MarketInfo`'s price and amount increments)."""

    tick: Decimal
    lot: Decimal

    @classmethod
    def of(cls, market: MarketInfo) -> Steps:
        return cls(tick=market.price_increment, lot=market.amount_increment)

    def price_quantum(self, price: Decimal) -> Decimal:
        return self.tick

    def amount_quantum(self, amount: Decimal) -> Decimal:
        return self.lot


def _floor(value: Decimal, quantum: Decimal) -> Decimal:
    return int((value / quantum).to_integral_value(rounding=ROUND_FLOOR)) * quantum


def floor_price(q: Quantizer, price: Decimal) -> Decimal:
    return _floor(price, q.price_quantum(price))


def ceil_price(q: Quantizer, price: Decimal) -> Decimal:
    quantum = q.price_quantum(price)
    return int((price / quantum).to_integral_value(rounding=ROUND_CEILING)) * quantum


def floor_amount(q: Quantizer, amount: Decimal) -> Decimal:
    if amount <= 0:
        return Decimal(0)
    return _floor(amount, q.amount_quantum(amount))
