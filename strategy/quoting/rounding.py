"""Rounding to a venue's tick (price increment) and lot (amount increment).

Direction is chosen so rounding never makes a quote more aggressive or bigger than asked:
bids round down, asks round up, amounts round down.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from exchanges.venues.base import MarketInfo, OrderSide


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of `step` that is <= value (step > 0)."""
    if step <= 0:
        raise ValueError("step must be > 0")
    # int() keeps the result at the step's exponent (1000 x 0.001 = 1.000, not 1E+0).
    return int((value / step).to_integral_value(rounding=ROUND_FLOOR)) * step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """Smallest multiple of `step` that is >= value (step > 0)."""
    if step <= 0:
        raise ValueError("step must be > 0")
    return int((value / step).to_integral_value(rounding=ROUND_CEILING)) * step


def round_price(price: Decimal, side: OrderSide, market: MarketInfo) -> Decimal:
    """Bids down, asks up: rounding only ever moves a quote away from the market."""
    if side == OrderSide.BUY:
        return floor_to(price, market.price_increment)
    return ceil_to(price, market.price_increment)


def round_amount(amount: Decimal, market: MarketInfo) -> Decimal:
    """Down to the lot: never quote more than asked (or than the budget allows)."""
    return floor_to(amount, market.amount_increment)


def meets_minimums(price: Decimal, amount: Decimal, market: MarketInfo) -> bool:
    """The venue would accept this size: positive, >= min amount, >= min notional."""
    if amount <= 0 or price <= 0:
        return False
    if market.min_amount is not None and amount < market.min_amount:
        return False
    return not (market.min_notional is not None and price * amount < market.min_notional)
