"""Inventory skew: Hummingbot's bid/ask size ratios, in Decimal.

Follows `hummingbot/strategy/pure_market_making/inventory_skew_calculator.pyx`
(`c_calculate_bid_ask_ratios_from_base_asset_ratio` and `calculate_total_order_size`):

    total_value  = base * price + quote                      (in quote)
    target_value = total_value * target_base_ratio
    range_value  = base_asset_range * price                   (base_asset_range in base)
    left  = max(target_value - range_value, 0)
    right = target_value + range_value
    below target: bid = interp(interp(base_value, [left, target], [0, .5]), [0, .5], [2, 1])
    at/above    : bid = interp(interp(base_value, [target, right], [.5, 1]), [.5, 1], [1, 0])
    ask = 2 - bid

`interp` is numpy's: linear inside the knots, clamped outside. With no value at all or a
non-positive range Hummingbot returns (0, 0): quote nothing.

`base_asset_range` is `total_order_size * inventory_range_multiplier`, and
`total_order_size` is 2 x the sum of the per-level amounts (both sides). Hummingbot writes
that sum in closed form for its fixed per-level step; summing the levels gives the same
number and also covers Mr.Market's percentage step.
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


def total_order_size(level_amounts: list[Decimal]) -> Decimal:
    """Both sides' total quoted size: 2 x sum of the level amounts (Hummingbot)."""
    return 2 * sum(level_amounts, Decimal(0))


def bid_ask_ratios(
    *,
    base_amount: Decimal,
    quote_amount: Decimal,
    price: Decimal,
    target_base_ratio: Decimal,
    base_asset_range: Decimal,
) -> SkewRatios:
    total_value = base_amount * price + quote_amount
    if total_value <= 0 or base_asset_range <= 0:
        return SkewRatios(Decimal(0), Decimal(0))
    base_value = base_amount * price
    target_value = total_value * target_base_ratio
    left_limit = max(target_value - base_asset_range * price, Decimal(0))
    right_limit = target_value + base_asset_range * price
    if base_value < target_value:
        left_ratio = _interp(base_value, (left_limit, target_value), (Decimal(0), _HALF))
        bid = _interp(left_ratio, (Decimal(0), _HALF), (Decimal(2), Decimal(1)))
    else:
        right_ratio = _interp(base_value, (target_value, right_limit), (_HALF, Decimal(1)))
        bid = _interp(right_ratio, (_HALF, Decimal(1)), (Decimal(1), Decimal(0)))
    return SkewRatios(bid=bid, ask=Decimal(2) - bid)


def soften(ratios: SkewRatios, factor: Decimal) -> SkewRatios:
    """Mr.Market's `inventorySkewFactor`: blend from no skew (0) to Hummingbot's (1)."""
    if ratios.bid == 0 and ratios.ask == 0:
        return ratios  # "quote nothing" is not a skew and is not softened
    return SkewRatios(
        bid=1 + factor * (ratios.bid - 1),
        ask=1 + factor * (ratios.ask - 1),
    )
