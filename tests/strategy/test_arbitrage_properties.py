"""Properties of find_arbitrage over random books, lots, fees and budgets."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.venues.base import BookLevel, OrderBook
from strategy.quoting.arbitrage import find_arbitrage
from tests.strategy.quoting_support import NOW, market

D = Decimal
prices = st.integers(min_value=9_000, max_value=11_000).map(lambda c: D(c) / 100)
sizes = st.integers(min_value=1, max_value=500).map(lambda c: D(c) / 100)


@st.composite
def books(draw: st.DrawFn) -> OrderBook:
    mid = draw(prices)
    bids = sorted(
        {mid - D(i) / 100 for i in draw(st.lists(st.integers(1, 300), min_size=1, max_size=4))},
        reverse=True,
    )
    asks = sorted(
        {mid + D(i) / 100 for i in draw(st.lists(st.integers(1, 300), min_size=1, max_size=4))}
    )
    return OrderBook(
        symbol="BTC/USDT",
        bids=tuple(BookLevel(p, draw(sizes)) for p in bids),
        asks=tuple(BookLevel(p, draw(sizes)) for p in asks),
        timestamp=NOW,
    )


@settings(max_examples=300, deadline=None)
@given(
    book_a=books(),
    book_b=books(),
    lot_a=st.sampled_from([D("0.001"), D("0.01"), D("0.025")]),
    lot_b=st.sampled_from([D("0.001"), D("0.02"), D("0.1")]),
    fee_a=st.sampled_from([D(0), D("0.001"), D("0.002")]),
    fee_b=st.sampled_from([D(0), D("0.001"), D("0.002")]),
    order_amount=sizes,
    min_profitability=st.sampled_from([D(0), D("0.001"), D("0.01")]),
    budgets=st.tuples(*[st.integers(0, 2000).map(D)] * 4),
)
def test_plans_are_profitable_within_budgets_and_lots(
    book_a: OrderBook,
    book_b: OrderBook,
    lot_a: Decimal,
    lot_b: Decimal,
    fee_a: Decimal,
    fee_b: Decimal,
    order_amount: Decimal,
    min_profitability: Decimal,
    budgets: tuple[Decimal, Decimal, Decimal, Decimal],
) -> None:
    a_base, a_quote, b_base, b_quote = budgets
    plan = find_arbitrage(
        book_a=book_a,
        book_b=book_b,
        market_a=market(amount_increment=lot_a),
        market_b=market(amount_increment=lot_b),
        fee_a=fee_a,
        fee_b=fee_b,
        order_amount=order_amount,
        min_profitability=min_profitability,
        budget_a_base=a_base,
        budget_a_quote=a_quote,
        budget_b_base=b_base,
        budget_b_quote=b_quote,
    )
    if plan is None:
        return
    buy_quote = a_quote if plan.buy.venue == "a" else b_quote
    sell_base = a_base if plan.sell.venue == "a" else b_base
    assert 0 < plan.amount <= order_amount
    assert plan.amount % lot_a == 0 and plan.amount % lot_b == 0
    assert plan.amount <= sell_base
    assert plan.amount * plan.buy.limit_price * (1 + plan.buy.fee) <= buy_quote
    assert plan.profitability >= min_profitability
    assert plan.profit == plan.proceeds - plan.cost and plan.profit >= 0
    assert plan.buy.limit_price >= plan.buy.vwap and plan.sell.limit_price <= plan.sell.vwap
    assert plan.buy.venue != plan.sell.venue
