"""Cheap per-tick checks on live orders, and Hummingbot's refresh tolerance.

These read only the live orders, the reference price and the clock, so the runtime can
run them on every tick for every session without building a proposal (Hummingbot runs
them on every tick of `c_tick`):

- `below_minimum_spread` (`c_cancel_orders_below_min_spread`): a non-hanging order whose
  passive distance from the price, `-(p - ref)/ref` for bids and `(p - ref)/ref` for asks,
  is below `minimum_spread`;
- `past_max_age` (`c_cancel_active_orders_on_max_age_limit`): when *any* non-hanging order
  is older than `max_order_age`, *all* of them are cancelled;
- `hanging_too_far` (`HangingOrdersTracker.remove_orders_far_from_price`): a hanging
  order further than `hanging_orders_cancel_pct` from the price;
- `band_breached`: a resting bid once the price is at/above the (static or moving)
  ceiling, a resting ask at/below the floor. Hummingbot drops those sides from the next
  proposal only; cancelling them at once is the same decision taken a refresh earlier,
  and is what the runtime uses between refreshes.

`tick_cancels` composes the four for one session, in `c_tick`'s order (hanging distance,
max age, minimum spread; the band last), each order cancelled once with the first reason.

`within_tolerance` is Hummingbot's `c_is_within_tolerance`: all-or-nothing per side, on
sorted price lists of equal length; a negative tolerance never defers (always refresh).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from exchanges.venues.base import OrderSide
from strategy.quoting.types import LiveOrder

# Why a check cancelled an order (the cancel intent's reason; `engine.Reason` shares them).
HANGING_FAR = "hanging_far"
MAX_AGE = "max_age"
BELOW_MIN_SPREAD = "below_min_spread"
PRICE_BAND = "price_band"


def passive_distance(order: LiveOrder, price: Decimal) -> Decimal:
    """Signed distance from `price` as a fraction, positive on the passive side."""
    negation = -1 if order.side == OrderSide.BUY else 1
    return negation * (order.price - price) / price


def below_minimum_spread(
    live: Iterable[LiveOrder], *, price: Decimal | None, minimum_spread: Decimal | None
) -> list[LiveOrder]:
    if minimum_spread is None or price is None or price <= 0:
        return []
    return [o for o in live if not o.hanging and passive_distance(o, price) < minimum_spread]


def past_max_age(
    live: Iterable[LiveOrder], *, now: datetime, max_order_age: timedelta
) -> list[LiveOrder]:
    regular = [o for o in live if not o.hanging]
    if any(now - o.created_at > max_order_age for o in regular):
        return regular
    return []


def hanging_too_far(
    live: Iterable[LiveOrder], *, price: Decimal | None, cancel_pct: Decimal
) -> list[LiveOrder]:
    if price is None or price <= 0:
        return []
    return [o for o in live if o.hanging and abs(o.price - price) / price > cancel_pct]


def band_breached(
    live: Iterable[LiveOrder],
    *,
    price: Decimal | None,
    ceiling: Decimal | None,
    floor: Decimal | None,
) -> list[LiveOrder]:
    if price is None:
        return []
    out = []
    for order in live:
        if order.hanging:
            continue
        if order.side == OrderSide.BUY and ceiling is not None and price >= ceiling:
            out.append(order)
        elif order.side == OrderSide.SELL and floor is not None and price <= floor:
            out.append(order)
    return out


def within_tolerance(
    current: Sequence[Decimal], proposed: Sequence[Decimal], tolerance: Decimal
) -> bool:
    """`c_is_within_tolerance`: every sorted pair within `tolerance` (relative to the
    current price), and as many proposed prices as current ones."""
    if tolerance < 0 or len(current) != len(proposed):
        return False
    return all(
        abs(p - c) / c <= tolerance for c, p in zip(sorted(current), sorted(proposed), strict=True)
    )


def tick_cancels(
    live: Sequence[LiveOrder],
    *,
    price: Decimal | None,
    now: datetime,
    minimum_spread: Decimal | None,
    max_order_age: timedelta,
    hanging_enabled: bool,
    hanging_cancel_pct: Decimal,
    ceiling: Decimal | None,
    floor: Decimal | None,
) -> list[tuple[LiveOrder, str]]:
    """The cheap checks of one tick for one session's live orders: (order, reason), each
    order once. With hanging orders disabled every order counts as regular (Hummingbot
    only treats an order as hanging through its tracker). `price` None (no price this
    tick) leaves only the max-age check."""
    if not hanging_enabled:
        live = [o if not o.hanging else _regular(o) for o in live]
    out: dict[str, tuple[LiveOrder, str]] = {}

    def cancel(orders: Iterable[LiveOrder], reason: str) -> None:
        for order in orders:
            out.setdefault(order.client_order_id, (order, reason))

    cancel(hanging_too_far(live, price=price, cancel_pct=hanging_cancel_pct), HANGING_FAR)
    cancel(past_max_age(live, now=now, max_order_age=max_order_age), MAX_AGE)
    cancel(below_minimum_spread(live, price=price, minimum_spread=minimum_spread), BELOW_MIN_SPREAD)
    cancel(band_breached(live, price=price, ceiling=ceiling, floor=floor), PRICE_BAND)
    return list(out.values())


def _regular(order: LiveOrder) -> LiveOrder:
    return LiveOrder(
        client_order_id=order.client_order_id,
        side=order.side,
        level=order.level,
        price=order.price,
        amount=order.amount,
        created_at=order.created_at,
    )
