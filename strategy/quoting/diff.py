"""From desired quotes and live orders to a plan: which orders to cancel, which to place.

Refresh tolerance (Hummingbot's `order_refresh_tolerance_pct`): a live order is kept when
the desired quote at the same side and level is within the tolerance of its price,

    |desired.price - live.price| / live.price <= refresh_tolerance_pct,

and it is not older than `max_order_age`, not closer to the reference price than the
minimum spread, and does not rest more than the desired amount (a kept order must never
lock more than the budget-trimmed quote that replaces it). Everything else is cancelled
and the missing quotes are placed.

Hummingbot decides all-or-nothing (`c_is_within_tolerance` compares every buy and every
sell price at once, and one order past max age cancels them all); we decide per side and
level, which keeps strictly more orders in place (fewer cancels and lost queue
positions) and is what each level independently satisfies anyway.

Hanging orders (Hummingbot's `HangingOrdersTracker`): levels are placed as buy/sell pairs;
when one order of a pair fills completely and the other does not, the other becomes
*hanging* (`orders_to_hang`). A hanging order is left out of the refresh: it is not
matched against desired quotes and not cancelled on refresh. It is cancelled once
|price - reference| / reference > hanging_orders_cancel_pct (`remove_orders_far_from_price`)
and renewed (cancelled and re-placed at the same price and amount) once older than
`max_order_age` (`renew_hanging_orders_past_max_order_age`). With hanging orders disabled
an order flagged hanging is treated like any other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from exchanges.venues.base import OrderSide
from strategy.quoting.types import DesiredQuote, LiveOrder


class CancelReason(StrEnum):
    NOT_DESIRED = "not_desired"  # no desired quote at its side and level any more
    PRICE_MOVED = "price_moved"  # beyond the refresh tolerance
    AMOUNT_ABOVE_DESIRED = "amount_above_desired"  # would lock more than the new quote
    MAX_AGE = "max_age"  # older than max_order_age: refreshed
    BELOW_MIN_SPREAD = "below_min_spread"  # closer to the reference price than allowed
    DUPLICATE = "duplicate"  # a second live order on the same side and level
    UNATTRIBUTED = "unattributed"  # no level: cannot be matched, so not kept
    HANGING_FAR = "hanging_far"  # hanging order past hanging_orders_cancel_pct
    HANGING_RENEW = "hanging_renew"  # hanging order past max age, re-placed as is


@dataclass(frozen=True)
class QuotePlan:
    cancels: tuple[LiveOrder, ...]
    places: tuple[DesiredQuote, ...]
    keeps: tuple[LiveOrder, ...]
    reasons: Mapping[str, CancelReason] = field(default_factory=dict)  # client id -> why

    @property
    def cancel_ids(self) -> list[str]:
        return [order.client_order_id for order in self.cancels]

    @property
    def is_empty(self) -> bool:
        return not self.cancels and not self.places


def _distance(order: LiveOrder, reference_price: Decimal) -> Decimal:
    """Signed distance from the reference price, positive when on the passive side."""
    if order.side == OrderSide.BUY:
        return (reference_price - order.price) / reference_price
    return (order.price - reference_price) / reference_price


def orders_to_hang(*, live: list[LiveOrder], filled: LiveOrder) -> list[str]:
    """Client ids that become hanging after `filled` (one of our orders) filled completely.

    Its pair is the live order on the other side at the same level. A hanging order that
    fills makes nothing hang (Hummingbot's `_did_complete_hanging_order`).
    """
    if filled.hanging or filled.level is None:
        return []
    return [
        order.client_order_id
        for order in live
        if not order.hanging
        and order.level == filled.level
        and order.side != filled.side
        and order.client_order_id != filled.client_order_id
    ]


def diff_quotes(
    *,
    desired: list[DesiredQuote],
    live: list[LiveOrder],
    refresh_tolerance_pct: Decimal,
    max_order_age: timedelta,
    now: datetime,
    hanging_orders_enabled: bool = False,
    hanging_orders_cancel_pct: Decimal = Decimal("0.1"),
    reference_price: Decimal | None = None,
    minimum_spread: Decimal | None = None,
) -> QuotePlan:
    """The plan turning `live` into `desired`. Deterministic: ordering follows the inputs."""
    by_key: dict[tuple[OrderSide, int], DesiredQuote] = {}
    for quote in desired:
        key = (quote.side, quote.level)
        if key in by_key:
            raise ValueError(f"two desired quotes for {quote.side} level {quote.level}")
        by_key[key] = quote

    cancels: list[LiveOrder] = []
    keeps: list[LiveOrder] = []
    places: list[DesiredQuote] = []
    reasons: dict[str, CancelReason] = {}

    def cancel(order: LiveOrder, reason: CancelReason) -> None:
        cancels.append(order)
        reasons[order.client_order_id] = reason

    regular: list[LiveOrder] = []
    for order in live:
        if not (hanging_orders_enabled and order.hanging):
            regular.append(order)
            continue
        if (
            reference_price is not None
            and reference_price > 0
            and abs(order.price - reference_price) / reference_price > hanging_orders_cancel_pct
        ):
            cancel(order, CancelReason.HANGING_FAR)
        elif now - order.created_at > max_order_age:
            cancel(order, CancelReason.HANGING_RENEW)
            places.append(
                DesiredQuote(
                    side=order.side,
                    level=order.level if order.level is not None else 0,
                    price=order.price,
                    amount=order.amount,
                    hanging=True,
                )
            )
        else:
            keeps.append(order)

    groups: dict[tuple[OrderSide, int], list[LiveOrder]] = defaultdict(list)
    for order in regular:
        if order.level is None:
            cancel(order, CancelReason.UNATTRIBUTED)
        else:
            groups[(order.side, order.level)].append(order)

    kept_keys: set[tuple[OrderSide, int]] = set()
    for key, orders in groups.items():
        wanted = by_key.get(key)
        for order in orders:
            if wanted is None:
                cancel(order, CancelReason.NOT_DESIRED)
            elif key in kept_keys:
                cancel(order, CancelReason.DUPLICATE)
            elif now - order.created_at > max_order_age:
                cancel(order, CancelReason.MAX_AGE)
            elif (
                minimum_spread is not None
                and reference_price is not None
                and reference_price > 0
                and _distance(order, reference_price) < minimum_spread
            ):
                cancel(order, CancelReason.BELOW_MIN_SPREAD)
            elif abs(wanted.price - order.price) / order.price > refresh_tolerance_pct:
                cancel(order, CancelReason.PRICE_MOVED)
            elif order.amount > wanted.amount:
                cancel(order, CancelReason.AMOUNT_ABOVE_DESIRED)
            else:
                keeps.append(order)
                kept_keys.add(key)

    for key, quote in by_key.items():
        if key not in kept_keys:
            places.append(quote)

    return QuotePlan(
        cancels=tuple(cancels), places=tuple(places), keeps=tuple(keeps), reasons=reasons
    )
