"""Inventory skew: Hummingbot's bid/ask size ratios.

Follows `hummingbot/strategy/pure_market_making/inventory_skew_calculator.pyx`
(`c_calculate_bid_ask_ratios_from_base_asset_ratio` and `calculate_total_order_size`):

    total_value  = base * price + quote                      (in quote)
    target_value = total_value * target_base_ratio
    range_value  = min(base_asset_range * price, 0.5 * total_value)     <- the range cap
    left  = max(target_value - range_value, 0)
    right = target_value + range_value
    below target: bid = interp(interp(base_value, [left, target], [0, .5]), [0, .5], [2, 1])
    at/above    : bid = interp(interp(base_value, [target, right], [.5, 1]), [.5, 1], [1, 0])
    ask = 2 - bid

`interp` is numpy's: linear inside the knots, clamped outside. With no value at all or a
non-positive range Hummingbot returns (0, 0): quote nothing.

The range cap (in Hummingbot since 2020) matters whenever the quoted size is worth more
than half the inventory, common for small accounts: without it the range swallows the
whole portfolio and the skew stays weak (0.69/1.31 where Hummingbot gives 0/2).

Arithmetic. Hummingbot computes the ratio in IEEE double (`cdef double`) and converts it
exactly with `Decimal(float)`; its own test vectors (`test_pmm.py::test_inventory_skew`:
0.651349, not 0.65135) depend on it. The ratio is a dimensionless weight, not an amount:
`hummingbot_ratios` reproduces Hummingbot bit for bit (the default, decision 0600), and
`exact_ratios` computes the same formula in Decimal (opt-in `exactSkewArithmetic`). Every
amount stays a Decimal either way and is floored to the lot afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

_HALF = Decimal("0.5")


@dataclass(frozen=True)
class SkewRatios:
    bid: Decimal  # multiply every bid size by this (0..2)
    ask: Decimal  # multiply every ask size by this (0..2); bid + ask == 2 unless both 0


def _interp(x: Decimal, xp: tuple[Decimal, Decimal], fp: tuple[Decimal, Decimal]) -> Decimal:
    """numpy.interp for two knots: clamped outside [xp0, xp1], linear inside."""
    (x0, x1), (f0, f1) = xp, fp
    if x <= x0:
        return f0
    if x >= x1:
        return f1
    return f0 + (f1 - f0) * (x - x0) / (x1 - x0)


def _finterp(x: float, xp: tuple[float, float], fp: tuple[float, float]) -> float:
    """numpy.interp for two increasing knots, in double, with numpy's own formula."""
    (x0, x1), (f0, f1) = xp, fp
    if x <= x0:
        return f0
    if x >= x1:
        return f1
    # numpy: slope = (f1 - f0) / (x1 - x0); result = slope * (x - x0) + f0
    return (f1 - f0) / (x1 - x0) * (x - x0) + f0


def total_order_size(level_amounts: list[Decimal]) -> Decimal:
    """Both sides' total quoted size: 2 x sum of the level amounts (Hummingbot).

    Hummingbot writes the sum in closed form for its fixed per-level step
    (`2 * (n * start + n * (n - 1) / 2 * step)`); summing the levels gives the same number
    and also covers Mr.Market's percentage step.
    """
    return 2 * sum(level_amounts, Decimal(0))


def exact_ratios(
    *,
    base_amount: Decimal,
    quote_amount: Decimal,
    price: Decimal,
    target_base_ratio: Decimal,
    base_asset_range: Decimal,
) -> SkewRatios:
    """Hummingbot's formula, range cap included, in exact Decimal arithmetic."""
    total_value = base_amount * price + quote_amount
    if total_value <= 0 or base_asset_range <= 0:
        return SkewRatios(Decimal(0), Decimal(0))
    base_value = base_amount * price
    range_value = min(base_asset_range * price, total_value * _HALF)
    target_value = total_value * target_base_ratio
    left_limit = max(target_value - range_value, Decimal(0))
    right_limit = target_value + range_value
    if base_value < target_value:
        left_ratio = _interp(base_value, (left_limit, target_value), (Decimal(0), _HALF))
        bid = _interp(left_ratio, (Decimal(0), _HALF), (Decimal(2), Decimal(1)))
    else:
        right_ratio = _interp(base_value, (target_value, right_limit), (_HALF, Decimal(1)))
        bid = _interp(right_ratio, (_HALF, Decimal(1)), (Decimal(1), Decimal(0)))
    return SkewRatios(bid=bid, ask=Decimal(2) - bid)


def hummingbot_ratios(
    *,
    base_amount: Decimal,
    quote_amount: Decimal,
    price: Decimal,
    target_base_ratio: Decimal,
    base_asset_range: Decimal,
) -> SkewRatios:
    """Hummingbot's ratios bit for bit: its double arithmetic, converted exactly."""
    b, q, p = float(base_amount), float(quote_amount), float(price)
    t, r = float(target_base_ratio), float(base_asset_range)
    total_value = b * p + q
    if total_value <= 0.0 or r <= 0.0:
        return SkewRatios(Decimal(0), Decimal(0))
    base_value = b * p
    range_value = min(r * p, total_value * 0.5)
    target_value = total_value * t
    left_limit = max(target_value - range_value, 0.0)
    right_limit = target_value + range_value
    if base_value < target_value:
        left_ratio = _finterp(base_value, (left_limit, target_value), (0.0, 0.5))
        bid = _finterp(left_ratio, (0.0, 0.5), (2.0, 1.0))
    else:
        right_ratio = _finterp(base_value, (target_value, right_limit), (0.5, 1.0))
        bid = _finterp(right_ratio, (0.5, 1.0), (1.0, 0.0))
    return SkewRatios(bid=Decimal(bid), ask=Decimal(2.0 - bid))


def bid_ask_ratios(
    *,
    base_amount: Decimal,
    quote_amount: Decimal,
    price: Decimal,
    target_base_ratio: Decimal,
    base_asset_range: Decimal,
    exact: bool = False,
) -> SkewRatios:
    """Hummingbot's ratios (default) or the exact-Decimal variant (`exact=True`)."""
    compute = exact_ratios if exact else hummingbot_ratios
    return compute(
        base_amount=base_amount,
        quote_amount=quote_amount,
        price=price,
        target_base_ratio=target_base_ratio,
        base_asset_range=base_asset_range,
    )


def soften(ratios: SkewRatios, factor: Decimal) -> SkewRatios:
    """Mr.Market's `inventorySkewFactor`: blend from no skew (0) to Hummingbot's (1)."""
    if ratios.bid == 0 and ratios.ask == 0:
        return ratios  # "quote nothing" is not a skew and is not softened
    return SkewRatios(
        bid=1 + factor * (ratios.bid - 1),
        ask=1 + factor * (ratios.ask - 1),
    )
