"""Properties of diff_quotes: after the plan, every desired level has exactly one order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.venues.base import OrderSide
from strategy.quoting.diff import diff_quotes
from strategy.quoting.types import DesiredQuote, LiveOrder
from tests.strategy.quoting_support import NOW

D = Decimal
sides = st.sampled_from([OrderSide.BUY, OrderSide.SELL])
prices = st.integers(min_value=9_000, max_value=11_000).map(lambda c: D(c) / 100)
amounts = st.integers(min_value=1, max_value=300).map(lambda c: D(c) / 100)


@st.composite
def desired_quotes(draw: st.DrawFn) -> list[DesiredQuote]:
    keys = draw(st.sets(st.tuples(sides, st.integers(0, 4)), max_size=10))
    return [DesiredQuote(side, level, draw(prices), draw(amounts)) for side, level in sorted(keys)]


@st.composite
def live_orders(draw: st.DrawFn) -> list[LiveOrder]:
    count = draw(st.integers(0, 10))
    return [
        LiveOrder(
            client_order_id=f"o{i}",
            side=draw(sides),
            level=draw(st.one_of(st.none(), st.integers(0, 4))),
            price=draw(prices),
            amount=draw(amounts),
            created_at=NOW - timedelta(seconds=draw(st.integers(0, 4000))),
            hanging=draw(st.booleans()),
        )
        for i in range(count)
    ]


@settings(max_examples=300, deadline=None)
@given(
    desired=desired_quotes(),
    live=live_orders(),
    tolerance=st.sampled_from([D(0), D("0.001"), D("0.01"), D("0.05")]),
    hanging_enabled=st.booleans(),
)
def test_plan_partitions_live_orders_and_covers_every_desired_level(
    desired: list[DesiredQuote],
    live: list[LiveOrder],
    tolerance: Decimal,
    hanging_enabled: bool,
) -> None:
    plan = diff_quotes(
        desired=desired,
        live=live,
        refresh_tolerance_pct=tolerance,
        max_order_age=timedelta(minutes=30),
        now=NOW,
        hanging_orders_enabled=hanging_enabled,
        reference_price=D(100),
        minimum_spread=D("0.001"),
    )

    # every live order is either kept or cancelled, never both
    kept = {o.client_order_id for o in plan.keeps}
    cancelled = set(plan.cancel_ids)
    assert kept.isdisjoint(cancelled)
    assert kept | cancelled == {o.client_order_id for o in live}
    assert set(plan.reasons) == cancelled
    # after the plan, each desired side+level has exactly one regular order
    regular_kept = [o for o in plan.keeps if not (hanging_enabled and o.hanging)]
    regular_places = [q for q in plan.places if not q.hanging]
    after = [(o.side, o.level) for o in regular_kept] + [(q.side, q.level) for q in regular_places]
    assert sorted(after) == sorted((q.side, q.level) for q in desired)
    # a kept regular order is within tolerance and never bigger than its desired quote
    wanted = {(q.side, q.level): q for q in desired}
    for order in regular_kept:
        quote = wanted[(order.side, order.level)]  # type: ignore[index]
        assert abs(quote.price - order.price) / order.price <= tolerance
        assert order.amount <= quote.amount
    # deterministic
    assert plan == diff_quotes(
        desired=desired,
        live=live,
        refresh_tolerance_pct=tolerance,
        max_order_age=timedelta(minutes=30),
        now=NOW,
        hanging_orders_enabled=hanging_enabled,
        reference_price=D(100),
        minimum_spread=D("0.001"),
    )
