"""Campaign-volume mode: tighten the spreads to pursue a daily volume target.

HuFi campaigns reward traded volume. The only volume we pursue is volume with real
counterparties: tighter quotes rest closer to the market so takers hit them more often.
The quotes still go through the crossing filter (they never take) and self-trade
prevention (they never meet our own orders), so this mode cannot wash-trade.

    elapsed  = 1 - seconds_left / day_seconds                 (0 at the day's start)
    expected = target * elapsed                               (volume a steady pace has by now)
    pace     = done / expected, capped at 1                   (1: on or ahead of pace)
    floor    = max(minimumSpread or 0, tick / reference_price) (never at or through the price)
    spread'  = floor + (spread - floor) * pace                (per side)

On pace (or target met, or nothing expected yet) the configured spreads are kept; the
further behind, the closer to the floor. Spreads only ever tighten, never widen past what
the user configured, and `spread'` is rounded up to 1e-8 so it never ends below the floor.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_CEILING, Decimal

from exchanges.venues.base import MarketInfo
from strategy.params import PureMarketMakingParams

DAY_SECONDS = 86_400
_SPREAD_QUANTUM = Decimal("1e-8")


def volume_pace(
    *,
    daily_volume_target: Decimal,
    volume_done_today: Decimal,
    seconds_left_in_day: int,
    day_seconds: int = DAY_SECONDS,
) -> Decimal:
    """Fraction of the steady-pace volume done so far, in [0, 1] (1 when nothing is owed)."""
    if daily_volume_target <= 0 or volume_done_today >= daily_volume_target:
        return Decimal(1)
    left = min(max(seconds_left_in_day, 0), day_seconds)
    elapsed = Decimal(day_seconds - left) / Decimal(day_seconds)
    expected = daily_volume_target * elapsed
    if expected <= 0:
        return Decimal(1)
    return min(max(volume_done_today, Decimal(0)) / expected, Decimal(1))


def tighten_for_volume(
    *,
    params: PureMarketMakingParams,
    daily_volume_target: Decimal,
    volume_done_today: Decimal,
    seconds_left_in_day: int,
    reference_price: Decimal,
    market: MarketInfo,
) -> PureMarketMakingParams:
    """`params` with spreads tightened toward the floor in proportion to how far behind we are."""
    pace = volume_pace(
        daily_volume_target=daily_volume_target,
        volume_done_today=volume_done_today,
        seconds_left_in_day=seconds_left_in_day,
    )
    if pace >= 1 or reference_price <= 0:
        return params
    floor = max(params.minimum_spread or Decimal(0), market.price_increment / reference_price)

    def tighten(spread: Decimal) -> Decimal:
        if floor >= spread:
            return spread  # the configured spread is already as tight as allowed
        target = floor + (spread - floor) * pace
        return max(target.quantize(_SPREAD_QUANTUM, rounding=ROUND_CEILING), floor)

    return replace(
        params, bid_spread=tighten(params.bid_spread), ask_spread=tighten(params.ask_spread)
    )
