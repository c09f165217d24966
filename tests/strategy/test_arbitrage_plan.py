"""Two-venue arbitrage with golden books."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchanges.venues.base import OrderSide
from strategy.quoting.arbitrage import ArbitragePlan, common_lot, find_arbitrage, vwap
from tests.strategy.quoting_support import book, market

D = Decimal
BIG = D(10**9)

# A is cheap (asks 100, 101), B is dear (bids 103, 102).
BOOK_A = book(bids=[("99", "5")], asks=[("100", "1"), ("101", "2")])
BOOK_B = book(bids=[("103", "1"), ("102", "2")], asks=[("104", "5")])


def arb(**kw: Any) -> ArbitragePlan | None:
    args: dict[str, Any] = {
        "book_a": BOOK_A,
        "book_b": BOOK_B,
        "market_a": market(),
        "market_b": market(),
        "fee_a": D("0.001"),
        "fee_b": D("0.001"),
        "order_amount": D("2"),
        "min_profitability": D("0.005"),
        "budget_a_base": BIG,
        "budget_a_quote": BIG,
        "budget_b_base": BIG,
        "budget_b_quote": BIG,
    }
    args.update(kw)
    return find_arbitrage(**args)


def test_vwap_walks_the_book() -> None:
    assert vwap(BOOK_A.asks, D("2")) == (D("100.5"), D("101"))
    assert vwap(BOOK_A.asks, D("1")) == (D("100"), D("100"))
    assert vwap(BOOK_A.asks, D("3.5")) is None  # deeper than the book


def test_golden_buy_on_a_sell_on_b() -> None:
    plan = arb()

    assert plan is not None
    assert (plan.buy.venue, plan.buy.side) == ("a", OrderSide.BUY)
    assert (plan.sell.venue, plan.sell.side) == ("b", OrderSide.SELL)
    assert plan.amount == D("2.000")
    assert (plan.buy.vwap, plan.buy.limit_price) == (D("100.5"), D("101.00"))
    assert (plan.sell.vwap, plan.sell.limit_price) == (D("102.5"), D("102.00"))
    # cost 100.5 x 2 x 1.001, proceeds 102.5 x 2 x 0.999
    assert plan.cost == D("201.201")
    assert plan.proceeds == D("204.795")
    assert plan.profit == D("3.594")
    assert plan.profitability == D("3.594") / D("201.201")


def test_reverse_direction_is_found_too() -> None:
    plan = arb(book_a=BOOK_B, book_b=BOOK_A)
    assert plan is not None
    assert (plan.buy.venue, plan.sell.venue) == ("b", "a")
    assert plan.profit == D("3.594")


def test_below_min_profitability_or_eaten_by_fees() -> None:
    assert arb(min_profitability=D("0.018")) is None  # 1.786 % available
    assert arb(min_profitability=D("0.017")) is not None
    assert arb(fee_a=D("0.01"), fee_b=D("0.01")) is None  # 203.01 cost > 202.95 proceeds


def test_no_crossed_prices_no_plan() -> None:
    flat = book(bids=[("99", "5")], asks=[("100", "5")])
    assert arb(book_a=flat, book_b=flat) is None
    assert arb(book_b=book(bids=[], asks=[("104", "1")])) is None


def test_quote_budget_on_the_buy_venue_caps_the_size() -> None:
    plan = arb(budget_a_quote=D("150"))

    # 150 / (101 x 1.001) = 1.48366.. -> 1.483 at the lot
    assert plan is not None
    assert plan.amount == D("1.483")
    assert plan.amount * plan.buy.limit_price * (1 + plan.buy.fee) <= D("150")


def test_base_budget_on_the_sell_venue_caps_the_size() -> None:
    plan = arb(budget_b_base=D("0.5"))
    assert plan is not None
    assert plan.amount == D("0.500")
    assert (plan.buy.vwap, plan.sell.vwap) == (D("100"), D("103"))


def test_no_budget_no_plan() -> None:
    assert arb(budget_b_base=D(0)) is None
    assert arb(budget_a_quote=D("0.05")) is None  # affords 0.0004: below one lot
    small = arb(budget_a_quote=D("50"))  # 50 / (100 x 1.001) = 0.4995 -> 0.499
    assert small is not None and small.amount == D("0.499")


def test_size_is_a_multiple_of_both_lots() -> None:
    plan = arb(
        market_a=market(amount_increment=D("0.01")),
        market_b=market(amount_increment=D("0.025")),
        budget_a_quote=D("150"),
    )
    assert common_lot(D("0.01"), D("0.025")) == D("0.05")
    assert plan is not None
    assert plan.amount == D("1.45")


def test_thin_books_cap_the_size() -> None:
    thin = book(bids=[("99", "5")], asks=[("100", "0.3")])
    plan = arb(book_a=thin)
    assert plan is not None
    assert plan.amount == D("0.300")


def test_venue_minimums_are_honoured() -> None:
    assert arb(market_b=market(min_notional=D("1000"))) is None
    assert arb(market_a=market(min_amount=D("5"))) is None
    assert arb(market_a=market(active=False)) is None
