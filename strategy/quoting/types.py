"""Value types shared by the quote builders, the diff and the filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from exchanges.venues.base import OrderSide


@dataclass(frozen=True)
class DesiredQuote:
    """One limit order a session wants resting: `level` 0 is the innermost.

    `hanging` marks the re-placement of a hanging order renewed past its max age (it gets
    its own client order id, so it never collides with the regular quote of that level).
    """

    side: OrderSide
    level: int
    price: Decimal
    amount: Decimal
    hanging: bool = False

    @property
    def notional(self) -> Decimal:
        return self.price * self.amount


@dataclass(frozen=True)
class LiveOrder:
    """One of the session's own orders resting at the venue, as the runtime tracks it.

    `amount` is what still rests (remaining). `level` is None for an order the session
    cannot attribute to a level (it is then never kept by the refresh diff).
    """

    client_order_id: str
    side: OrderSide
    level: int | None
    price: Decimal
    amount: Decimal
    created_at: datetime
    hanging: bool = False
