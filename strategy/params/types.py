"""Value types and limits of the strategy parameters."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from exchanges.venues.base import OrderSide

# Spreads are capped at 50 %: a quote half the price away never fills and is almost
# always a unit mistake (a percent typed where a fraction is expected).
MAX_SPREAD = Decimal("0.5")
MAX_LAYERS = 20
MIN_REFRESH_MS = 1000  # the tick runs every second; refreshing faster is meaningless
MAX_DELAY_MS = 86_400_000  # a day: longer delays are misconfiguration, not strategy
MAX_FEE = Decimal("0.1")  # no venue charges 10 % a trade; higher is a unit mistake
# Keys of the DTO that identify the session rather than parameterise the strategy.
IDENTITY_KEYS = frozenset({"userId", "clientId"})


class PriceSourceType(StrEnum):
    """Hummingbot's `price_type` (`custom` needs a custom API: not offered)."""

    MID_PRICE = "mid_price"
    BEST_ASK = "best_ask"
    BEST_BID = "best_bid"
    LAST_PRICE = "last_price"
    LAST_OWN_TRADE_PRICE = "last_own_trade_price"
    INVENTORY_COST = "inventory_cost"


class AmountChangeType(StrEnum):
    FIXED = "fixed"  # level i amount = orderAmount + i * amountChangePerLayer (Hummingbot)
    PERCENTAGE = "percentage"  # orderAmount * (1 + amountChangePerLayer/100)^i (Mr.Market)


@dataclass(frozen=True)
class OrderOverride:
    """One entry of Hummingbot's `order_override`: a level given explicitly."""

    name: str
    side: OrderSide
    spread: Decimal  # fraction from the reference price (Hummingbot: percent)
    amount: Decimal  # base
