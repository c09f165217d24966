"""Inventory cost basis from fills: Hummingbot's `InventoryCostPriceDelegate`.

The `inventory_cost` price type keeps the average price paid for the base held
(`quote_volume / base_volume`) and never sells below it. Buys add their volume (fees paid
in base reduce the base received, fees paid in quote add to the cost); sells remove base
at the *recorded* average, so profits never move the cost price. A sell with no recorded
cost is an error in Hummingbot ("Sold asset without having inventory price set"); here it
raises `NoCostBasis` and the runtime seeds the basis with `inventoryPrice` first.
Fees in a third asset (BNB) are treated as Hummingbot does: base divided by (1 + fee %).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from exchanges.venues.base import OrderSide


class NoCostBasis(Exception):
    """A sell fill arrived before any cost basis was recorded."""


@dataclass(frozen=True)
class Fee:
    asset: str | None = None  # None: no flat fee
    amount: Decimal = Decimal(0)
    percent: Decimal = Decimal(0)  # used only for a fee in a third asset


@dataclass(frozen=True)
class CostBasis:
    base_volume: Decimal
    quote_volume: Decimal

    @property
    def price(self) -> Decimal | None:
        """Average cost per base unit; None when nothing is held (or held at no cost)."""
        if self.base_volume == 0:
            return None
        return self.quote_volume / self.base_volume

    def to_dict(self) -> dict[str, Any]:
        return {"base_volume": str(self.base_volume), "quote_volume": str(self.quote_volume)}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CostBasis | None:
        if not data:
            return None
        return cls(Decimal(data["base_volume"]), Decimal(data["quote_volume"]))


def apply_fill(
    basis: CostBasis | None,
    *,
    side: OrderSide,
    amount: Decimal,
    price: Decimal,
    base_asset: str,
    quote_asset: str,
    fees: tuple[Fee, ...] = (),
) -> CostBasis:
    """The cost basis after one fill (`process_order_fill_event` + `add_volume`)."""
    quote_volume = amount * price
    base_volume = amount
    for fee in fees:
        if fee.asset is None:
            continue
        if side == OrderSide.BUY:
            if fee.asset == base_asset:
                base_volume -= fee.amount
            elif fee.asset == quote_asset:
                quote_volume += fee.amount
            else:
                base_volume /= 1 + fee.percent
        elif fee.asset == base_asset:
            base_volume += fee.amount
        elif fee.asset == quote_asset:
            quote_volume -= fee.amount  # Hummingbot: without effect on a sell, kept as is
        else:
            base_volume /= 1 + fee.percent
    if side == OrderSide.SELL:
        if basis is None or basis.base_volume == 0:
            raise NoCostBasis("sold base without an inventory cost price set")
        # Profits do not move the cost price: the base leaves at the recorded average.
        quote_volume = -(basis.quote_volume / basis.base_volume * base_volume)
        base_volume = -base_volume
    if basis is None:
        return CostBasis(base_volume=base_volume, quote_volume=quote_volume)
    return CostBasis(basis.base_volume + base_volume, basis.quote_volume + quote_volume)
