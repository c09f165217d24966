"""The diff from desired quotes to cancels and places: refresh tolerance, age, hanging orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from exchanges.venues.base import OrderSide
from strategy.quoting.diff import CancelReason, QuotePlan, diff_quotes, orders_to_hang
from strategy.quoting.types import DesiredQuote, LiveOrder
from tests.strategy.quoting_support import NOW

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def want(side: OrderSide, level: int, price: str, amount: str = "1") -> DesiredQuote:
    return DesiredQuote(side=side, level=level, price=D(price), amount=D(amount))


def live(
    cid: str,
    side: OrderSide,
    level: int | None,
    price: str,
    amount: str = "1",
    age_s: int = 5,
    hanging: bool = False,
) -> LiveOrder:
    return LiveOrder(
        client_order_id=cid,
        side=side,
        level=level,
        price=D(price),
        amount=D(amount),
        created_at=NOW - timedelta(seconds=age_s),
        hanging=hanging,
    )


def plan(desired: list[DesiredQuote], orders: list[LiveOrder], **kw: Any) -> QuotePlan:
    args: dict[str, Any] = {
        "desired": desired,
        "live": orders,
        "refresh_tolerance_pct": D("0.001"),
        "max_order_age": timedelta(minutes=30),
        "now": NOW,
    }
    args.update(kw)
    return diff_quotes(**args)


def test_nothing_live_places_everything() -> None:
    desired = [want(BUY, 0, "99"), want(SELL, 0, "101")]
    result = plan(desired, [])
    assert result.places == tuple(desired)
    assert result.cancels == ()


def test_refresh_tolerance_keeps_orders_that_moved_less_than_it() -> None:
    # 0.1 % tolerance: 99.05 vs 99 is 0.0505 % -> kept; 101.2 vs 101 is 0.198 % -> replaced
    desired = [want(BUY, 0, "99.05"), want(SELL, 0, "101.2")]
    orders = [live("b0", BUY, 0, "99"), live("s0", SELL, 0, "101")]

    result = plan(desired, orders)

    assert [o.client_order_id for o in result.keeps] == ["b0"]
    assert result.cancel_ids == ["s0"]
    assert result.reasons == {"s0": CancelReason.PRICE_MOVED}
    assert result.places == (want(SELL, 0, "101.2"),)


def test_tolerance_boundary_is_inclusive() -> None:
    # |99.099 - 99| / 99 = 0.001 exactly
    result = plan([want(BUY, 0, "99.099")], [live("b0", BUY, 0, "99")])
    assert result.is_empty
    result = plan([want(BUY, 0, "99.1")], [live("b0", BUY, 0, "99")])
    assert result.cancel_ids == ["b0"]


def test_zero_tolerance_keeps_only_exact_prices() -> None:
    orders = [live("b0", BUY, 0, "99"), live("b1", BUY, 1, "98")]
    result = plan([want(BUY, 0, "99"), want(BUY, 1, "98.01")], orders, refresh_tolerance_pct=D(0))
    assert [o.client_order_id for o in result.keeps] == ["b0"]
    assert result.cancel_ids == ["b1"]


def test_orders_past_max_age_are_refreshed() -> None:
    orders = [live("b0", BUY, 0, "99", age_s=1801), live("s0", SELL, 0, "101", age_s=1800)]
    result = plan([want(BUY, 0, "99"), want(SELL, 0, "101")], orders)

    assert result.reasons == {"b0": CancelReason.MAX_AGE}
    assert result.places == (want(BUY, 0, "99"),)
    assert [o.client_order_id for o in result.keeps] == ["s0"]


def test_orders_without_a_desired_quote_are_cancelled() -> None:
    # e.g. the ceiling switched the bids off, or the skew zeroed the asks
    orders = [live("b0", BUY, 0, "99"), live("s0", SELL, 0, "101"), live("s1", SELL, 1, "102")]
    result = plan([want(SELL, 0, "101")], orders)
    assert result.reasons == {"b0": CancelReason.NOT_DESIRED, "s1": CancelReason.NOT_DESIRED}
    assert result.places == ()


def test_a_live_order_bigger_than_the_desired_amount_is_replaced() -> None:
    # The budget or the skew shrank the level: keeping 2 would lock more than allowed.
    result = plan([want(BUY, 0, "99", "1.5")], [live("b0", BUY, 0, "99", "2")])
    assert result.reasons == {"b0": CancelReason.AMOUNT_ABOVE_DESIRED}
    assert result.places == (want(BUY, 0, "99", "1.5"),)
    # A partially filled (smaller) order is kept.
    assert plan([want(BUY, 0, "99", "1.5")], [live("b0", BUY, 0, "99", "0.4")]).is_empty


def test_duplicates_and_unattributed_orders_are_cancelled() -> None:
    orders = [
        live("b0", BUY, 0, "99"),
        live("b0bis", BUY, 0, "99"),
        live("x", SELL, None, "150"),
    ]
    result = plan([want(BUY, 0, "99")], orders)
    assert result.reasons == {"x": CancelReason.UNATTRIBUTED, "b0bis": CancelReason.DUPLICATE}
    assert [o.client_order_id for o in result.keeps] == ["b0"]
    assert result.places == ()


def test_live_orders_closer_than_the_minimum_spread_are_cancelled() -> None:
    # The market moved toward the bid: it now sits 0.2 % under the price, minimum 0.5 %.
    orders = [live("b0", BUY, 0, "99.8"), live("s0", SELL, 0, "101")]
    result = plan(
        [want(BUY, 0, "99.8"), want(SELL, 0, "101")],
        orders,
        reference_price=D("100"),
        minimum_spread=D("0.005"),
    )
    assert result.reasons == {"b0": CancelReason.BELOW_MIN_SPREAD}
    assert result.places == (want(BUY, 0, "99.8"),)


def test_two_desired_quotes_for_one_level_is_a_bug() -> None:
    with pytest.raises(ValueError, match="two desired quotes"):
        plan([want(BUY, 0, "99"), want(BUY, 0, "98")], [])


# ---------------------------------------------------------------------------- hanging


def test_a_complete_fill_makes_the_other_side_of_the_level_hang() -> None:
    orders = [live("b0", BUY, 0, "99"), live("s0", SELL, 0, "101"), live("s1", SELL, 1, "102")]
    assert orders_to_hang(live=orders, filled=orders[0]) == ["s0"]
    hanging_fill = live("s9", SELL, 0, "101", hanging=True)
    assert orders_to_hang(live=orders, filled=hanging_fill) == []


def test_hanging_orders_survive_the_refresh() -> None:
    # After b0 filled, s0 hangs at 101 while the new quotes move to 100 / 102.
    orders = [live("s0", SELL, 0, "101", hanging=True)]
    desired = [want(BUY, 0, "100"), want(SELL, 0, "102")]

    result = plan(desired, orders, hanging_orders_enabled=True, reference_price=D("101"))

    assert [o.client_order_id for o in result.keeps] == ["s0"]
    assert result.cancels == ()
    assert result.places == tuple(desired)


def test_hanging_order_too_far_from_the_price_is_cancelled() -> None:
    orders = [live("s0", SELL, 0, "112", hanging=True)]
    kw = {"hanging_orders_enabled": True, "hanging_orders_cancel_pct": D("0.1")}

    far = plan([], orders, reference_price=D("101.8"), **kw)  # 10.02 % away
    near = plan([], orders, reference_price=D("101.9"), **kw)  # 9.91 % away

    assert far.reasons == {"s0": CancelReason.HANGING_FAR}
    assert near.cancels == () and [o.client_order_id for o in near.keeps] == ["s0"]


def test_hanging_order_past_max_age_is_renewed_at_the_same_price() -> None:
    orders = [live("s0", SELL, 0, "101", "0.7", age_s=1801, hanging=True)]

    result = plan([], orders, hanging_orders_enabled=True, reference_price=D("100"))

    assert result.reasons == {"s0": CancelReason.HANGING_RENEW}
    assert result.places == (
        DesiredQuote(side=SELL, level=0, price=D("101"), amount=D("0.7"), hanging=True),
    )


def test_hanging_flag_is_ignored_when_hanging_orders_are_disabled() -> None:
    orders = [live("s0", SELL, 0, "101", hanging=True)]
    result = plan([want(SELL, 0, "102")], orders, hanging_orders_enabled=False)
    assert result.reasons == {"s0": CancelReason.PRICE_MOVED}
