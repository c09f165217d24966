"""Matching engine: price-time priority, partial fills, fees, post-only, and conservation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exchanges.venues.engine_checks import conserved_total, reservations_consistent
from exchanges.venues.matching import (
    DuplicateClientOrderId,
    EngineError,
    ExternalLevel,
    InsufficientBalance,
    MarketSpec,
    MatchingEngine,
    PostOnlyWouldCross,
    UnknownOrder,
)

D = Decimal
BTC = MarketSpec("BTC/USDT", "BTC", "USDT", maker_fee=D("0.001"), taker_fee=D("0.002"))
# Maker rebates paid in the coin received (Binance, OKX, paper) or given away (Bybit spot)
REBATE = MarketSpec("BTC/USDT", "BTC", "USDT", maker_fee=D("-0.0002"), taker_fee=D("0.002"))
REBATE_GIVEN = MarketSpec(
    "BTC/USDT", "BTC", "USDT", maker_fee=D("-0.0002"), taker_fee=D("0.002"), rebate_in_given=True
)


def engine() -> MatchingEngine:
    eng = MatchingEngine([BTC])
    for acct in ("a", "b", "c"):
        eng.deposit(acct, "BTC", D("10"))
        eng.deposit(acct, "USDT", D("100000"))
    return eng


def test_price_time_priority_best_price_first_then_oldest() -> None:
    # given three asks: two at 100 (a first, then b) and one better at 99 (c)
    eng = engine()
    a = eng.place(account="a", symbol="BTC/USDT", side="sell", price=D("100"), amount=D("1")).order
    b = eng.place(account="b", symbol="BTC/USDT", side="sell", price=D("100"), amount=D("1")).order
    c = eng.place(account="c", symbol="BTC/USDT", side="sell", price=D("99"), amount=D("1")).order
    # when a buyer takes 2.5 at up to 100
    res = eng.place(account="a", symbol="BTC/USDT", side="buy", price=D("100"), amount=D("2.5"))
    # then c fills first (better price), then a (older at 100), then half of b
    makers = [(t.order_id, t.price, t.amount) for t in res.trades if t.taker_or_maker == "maker"]
    assert makers == [(c.id, D("99"), D("1")), (a.id, D("100"), D("1")), (b.id, D("100"), D("0.5"))]
    assert res.order.status == "closed"
    assert res.order.average == (D("99") + D("100") + D("50")) / D("2.5")
    assert (b.status, b.filled, b.remaining) == ("open", D("0.5"), D("0.5"))
    assert eng.books["BTC/USDT"].levels("sell", 5) == [(D("100"), D("0.5"))]


def test_partial_fill_rests_the_remainder_and_charges_maker_and_taker_fees() -> None:
    eng = engine()
    maker = eng.place(
        account="a", symbol="BTC/USDT", side="buy", price=D("100"), amount=D("2")
    ).order
    res = eng.place(account="b", symbol="BTC/USDT", side="sell", price=D("90"), amount=D("0.5"))
    taker_trade, maker_trade = res.trades
    # then the fill is at the maker's price, the taker pays 0.2% on quote, the maker 0.1% on base
    assert (taker_trade.price, taker_trade.amount, taker_trade.quote_amount) == (
        D("100"),
        D("0.5"),
        D("50"),
    )
    assert taker_trade.fee == D("0.1") and taker_trade.fee_asset == "USDT"
    assert maker_trade.fee == D("0.0005") and maker_trade.fee_asset == "BTC"
    assert maker.remaining == D("1.5") and maker.status == "open"
    assert eng.balance("b", "USDT") == (D("100049.9"), D("0"))
    assert eng.balance("b", "BTC") == (D("9.5"), D("0"))
    assert eng.balance("a", "BTC") == (D("10.4995"), D("0"))
    assert eng.balance("a", "USDT") == (D("99800"), D("150"))
    assert eng.fees_collected == {"USDT": D("0.1"), "BTC": D("0.0005")}


def test_buy_filled_below_its_limit_gets_the_excess_reservation_back() -> None:
    eng = engine()
    eng.place(account="b", symbol="BTC/USDT", side="sell", price=D("90"), amount=D("1"))
    eng.place(account="a", symbol="BTC/USDT", side="buy", price=D("100"), amount=D("1"))
    assert eng.balance("a", "USDT") == (D("99910"), D("0"))
    assert reservations_consistent(eng)


def test_post_only_that_would_cross_is_rejected_and_changes_nothing() -> None:
    eng = engine()
    eng.place(account="a", symbol="BTC/USDT", side="sell", price=D("100"), amount=D("1"))
    before = dict((k, list(v)) for k, v in eng.balances.items())
    with pytest.raises(PostOnlyWouldCross):
        eng.place(
            account="b",
            symbol="BTC/USDT",
            side="buy",
            price=D("100"),
            amount=D("1"),
            post_only=True,
        )
    assert {k: list(v) for k, v in eng.balances.items()} == before
    assert len(eng.books["BTC/USDT"].asks) == 1 and not eng.books["BTC/USDT"].bids


def test_post_only_below_the_ask_rests() -> None:
    eng = engine()
    eng.place(account="a", symbol="BTC/USDT", side="sell", price=D("100"), amount=D("1"))
    res = eng.place(
        account="b", symbol="BTC/USDT", side="buy", price=D("99.99"), amount=D("1"), post_only=True
    )
    assert res.trades == [] and res.order.status == "open"


def test_insufficient_balance_and_duplicate_client_id_are_rejected() -> None:
    eng = engine()
    with pytest.raises(InsufficientBalance):
        eng.place(account="a", symbol="BTC/USDT", side="sell", price=D("1"), amount=D("10.1"))
    eng.place(
        account="a",
        symbol="BTC/USDT",
        side="sell",
        price=D("100"),
        amount=D("1"),
        client_order_id="x1",
    )
    with pytest.raises(DuplicateClientOrderId):
        eng.place(
            account="a",
            symbol="BTC/USDT",
            side="sell",
            price=D("100"),
            amount=D("1"),
            client_order_id="x1",
        )
    # the same client id on another account is fine
    eng.place(
        account="b",
        symbol="BTC/USDT",
        side="sell",
        price=D("100"),
        amount=D("1"),
        client_order_id="x1",
    )


def test_cancel_releases_the_rest_and_cannot_cancel_twice() -> None:
    eng = engine()
    order = eng.place(
        account="a", symbol="BTC/USDT", side="buy", price=D("100"), amount=D("2")
    ).order
    eng.place(account="b", symbol="BTC/USDT", side="sell", price=D("100"), amount=D("0.5"))
    eng.cancel(account="a", symbol="BTC/USDT", order_id=order.id)
    assert order.status == "canceled" and order.filled == D("0.5")
    assert eng.balance("a", "USDT") == (D("99950"), D("0"))
    with pytest.raises(UnknownOrder):
        eng.cancel(account="a", symbol="BTC/USDT", order_id=order.id)


def test_external_trade_fills_resting_orders_at_their_price_up_to_the_print_volume() -> None:
    eng = engine()
    bid1 = eng.place(
        account="a", symbol="BTC/USDT", side="buy", price=D("101"), amount=D("1")
    ).order
    bid2 = eng.place(
        account="b", symbol="BTC/USDT", side="buy", price=D("100"), amount=D("1")
    ).order
    eng.place(account="c", symbol="BTC/USDT", side="buy", price=D("99"), amount=D("1"))
    trades = eng.external_trade(symbol="BTC/USDT", price=D("100"), amount=D("1.5"))
    assert [(t.order_id, t.price, t.amount, t.taker_or_maker) for t in trades] == [
        (bid1.id, D("101"), D("1"), "maker"),
        (bid2.id, D("100"), D("0.5"), "maker"),
    ]
    assert all(conserved_total(eng, a) == 0 for a in ("BTC", "USDT"))


def test_incoming_order_takes_external_liquidity_by_price_with_our_book_first_on_ties() -> None:
    eng = engine()
    resting = eng.place(
        account="a", symbol="BTC/USDT", side="sell", price=D("100"), amount=D("1")
    ).order
    res = eng.place(
        account="b",
        symbol="BTC/USDT",
        side="buy",
        price=D("101"),
        amount=D("3"),
        external=[ExternalLevel(D("100"), D("1")), ExternalLevel(D("99.5"), D("0.5"))],
    )
    taker = [(t.price, t.amount, t.counterparty_order_id) for t in res.trades if t.account == "b"]
    assert taker == [
        (D("99.5"), D("0.5"), None),
        (D("100"), D("1"), resting.id),
        (D("100"), D("1"), None),
    ]
    assert res.order.remaining == D("0.5") and res.order.status == "open"


# ---------------------------------------------------------------------------- properties

ACCOUNTS = ["a", "b", "c"]
prices = st.integers(min_value=90, max_value=110).map(lambda p: D(p) / 2)
amounts = st.integers(min_value=1, max_value=400).map(lambda a: D(a) / 100)
op = st.one_of(
    st.tuples(
        st.just("place"),
        st.sampled_from(ACCOUNTS),
        st.sampled_from(["buy", "sell"]),
        prices,
        amounts,
        st.booleans(),
    ),
    st.tuples(st.just("cancel"), st.sampled_from(ACCOUNTS), st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("external"), prices, st.one_of(st.none(), amounts)),
    st.tuples(
        st.just("deposit"), st.sampled_from(ACCOUNTS), st.sampled_from(["BTC", "USDT"]), amounts
    ),
    st.tuples(
        st.just("withdraw"), st.sampled_from(ACCOUNTS), st.sampled_from(["BTC", "USDT"]), amounts
    ),
    st.tuples(
        st.just("taker_ext"),
        st.sampled_from(ACCOUNTS),
        st.sampled_from(["buy", "sell"]),
        prices,
        amounts,
    ),
)


@pytest.mark.parametrize(
    ("side", "gets", "paid_in", "rebate"),
    [("sell", D("6000"), "BTC", D("-0.00002")), ("buy", D("0.1"), "USDT", D("-1.2"))],
)
def test_a_rebate_in_the_coin_given_away_is_credited_there(
    side: str, gets: Decimal, paid_in: str, rebate: Decimal
) -> None:
    # given a maker order of 0.1 BTC at 60000 on a market that pays rebates like Bybit spot
    eng = MatchingEngine([REBATE_GIVEN])
    eng.deposit("a", "BTC", D("1"))
    eng.deposit("a", "USDT", D("10000"))
    eng.place(account="a", symbol="BTC/USDT", side=side, price=D("60000"), amount=D("0.1"))
    # when an outside trade fills it
    eng.external_trade(symbol="BTC/USDT", price=D("60000"), amount=D("0.1"))
    # then it received the traded coin whole and the rebate came back in the coin it paid
    (trade,) = eng.trades
    assert (trade.fee, trade.fee_asset, trade.taker_or_maker) == (rebate, paid_in, "maker")
    received = "BTC" if side == "buy" else "USDT"
    start = {"BTC": D("1"), "USDT": D("10000")}
    assert eng.balance("a", received)[0] == start[received] + gets
    paid = D("6000") if side == "buy" else D("0.1")
    assert eng.balance("a", paid_in) == (start[paid_in] - paid - rebate, D(0))
    assert all(conserved_total(eng, a) == 0 for a in ("BTC", "USDT"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, max_size=60), st.sampled_from([BTC, REBATE, REBATE_GIVEN]))
def test_balances_are_conserved_across_any_sequence_of_operations(
    ops: list[tuple], spec: MarketSpec
) -> None:
    eng = MatchingEngine([spec])
    for acct in ACCOUNTS:
        eng.deposit(acct, "BTC", D("5"))
        eng.deposit(acct, "USDT", D("300"))
    for item in ops:
        try:
            if item[0] == "place":
                _, acct, side, price, amount, post_only = item
                eng.place(
                    account=acct,
                    symbol="BTC/USDT",
                    side=side,
                    price=price,
                    amount=amount,
                    post_only=post_only,
                )
            elif item[0] == "cancel":
                _, acct, n = item
                eng.cancel(account=acct, symbol="BTC/USDT", order_id=str(n))
            elif item[0] == "external":
                eng.external_trade(symbol="BTC/USDT", price=item[1], amount=item[2])
            elif item[0] == "deposit":
                eng.deposit(item[1], item[2], item[3])
            elif item[0] == "withdraw":
                eng.withdraw(item[1], item[2], item[3])
            else:
                _, acct, side, price, amount = item
                eng.place(
                    account=acct,
                    symbol="BTC/USDT",
                    side=side,
                    price=price,
                    amount=amount,
                    external=[ExternalLevel(price, amount / 2)],
                )
        except EngineError:
            pass
        # then: nothing created or destroyed, reservations match open orders, nothing negative
        assert conserved_total(eng, "BTC") == 0
        assert conserved_total(eng, "USDT") == 0
        assert reservations_consistent(eng)
    # and the books never stay crossed
    book = eng.books["BTC/USDT"]
    if book.bids and book.asks:
        assert book.bids[0].price < book.asks[0].price
    # every filled amount is the sum of its trades
    for order in eng.orders.values():
        assert order.filled == sum((t.amount for t in eng.trades if t.order_id == order.id), D(0))
        assert D(0) <= order.filled <= order.amount
