"""Properties of the quote builder over random markets, books, parameters and balances."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from exchanges.venues.base import OrderSide
from strategy.params import AmountChangeType, PriceSourceType
from strategy.quoting.pure_mm import build_quotes
from tests.strategy.quoting_support import NOW, book, market, pmm

D = Decimal

ticks = st.sampled_from([D("0.01"), D("0.5"), D("0.0001"), D("1")])
lots = st.sampled_from([D("0.001"), D("0.1"), D("1"), D("0.00001")])
spreads = st.decimals(min_value=D("0.0001"), max_value=D("0.04"), places=4)
amounts = st.decimals(min_value=D("0.001"), max_value=D("50"), places=3)
money = st.decimals(min_value=D(0), max_value=D("100000"), places=2)


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    tick = draw(ticks)
    mid_ticks = draw(st.integers(min_value=200, max_value=2_000_000))
    half_gap = draw(st.integers(min_value=1, max_value=50))
    best_bid = (mid_ticks - half_gap) * tick
    best_ask = (mid_ticks + half_gap) * tick
    layers = draw(st.integers(min_value=1, max_value=6))
    change_type = draw(st.sampled_from(list(AmountChangeType)))
    change = draw(
        st.decimals(min_value=D(0), max_value=D("2"), places=2)
        if change_type is AmountChangeType.FIXED
        else st.decimals(min_value=D("-50"), max_value=D("50"), places=1)
    )
    source = draw(st.sampled_from(list(PriceSourceType)))
    last = draw(st.integers(min_value=mid_ticks // 2, max_value=mid_ticks * 2)) * tick
    skew = draw(st.one_of(st.none(), st.decimals(min_value=D(0), max_value=D(1), places=2)))
    params = pmm(
        bid_spread=draw(spreads),
        ask_spread=draw(spreads),
        order_amount=draw(amounts),
        number_of_layers=layers,
        amount_change_per_layer=change,
        amount_change_type=change_type,
        price_source_type=source,
        inventory_target_base_ratio=skew,
    )
    return {
        "params": params,
        "market": market(
            price_increment=tick,
            amount_increment=draw(lots),
            min_amount=None,
            min_notional=draw(st.sampled_from([None, D("1"), D("10")])),
            maker_fee=draw(st.sampled_from([D(0), D("0.001"), D("-0.0001")])),
        ),
        "book": book(bids=[(str(best_bid), "3")], asks=[(str(best_ask), "3")]),
        "last_price": last,
        "reference_price": None,
        "base_balance": draw(amounts),
        "quote_balance": draw(money),
        "budget_base": draw(amounts),
        "budget_quote": draw(money),
        "now": NOW,
        "last_fill_at": None,
    }


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_quotes_never_cross_respect_budgets_and_precision(scenario: dict) -> None:
    result = build_quotes(**scenario)
    the_market = scenario["market"]
    the_book = scenario["book"]
    bids = [q for q in result if q.side == OrderSide.BUY]
    asks = [q for q in result if q.side == OrderSide.SELL]

    # no quote crosses the book
    assert all(q.price < the_book.best_ask for q in bids)
    assert all(q.price > the_book.best_bid for q in asks)
    # budgets are never exceeded
    assert sum((q.price * q.amount for q in bids), D(0)) <= scenario["budget_quote"]
    assert sum((q.amount for q in asks), D(0)) <= scenario["budget_base"]
    for q in result:
        # amounts are positive multiples of the lot, prices multiples of the tick
        assert q.amount > 0
        assert q.amount % the_market.amount_increment == 0
        assert q.price > 0
        assert q.price % the_market.price_increment == 0
        if the_market.min_notional is not None:
            assert q.price * q.amount >= the_market.min_notional
    # levels are unique per side and bids sit below asks
    assert len({q.level for q in bids}) == len(bids)
    assert len({q.level for q in asks}) == len(asks)
    if bids and asks:
        assert max(q.price for q in bids) < min(q.price for q in asks)
