from __future__ import annotations

from decimal import Decimal

from exchanges.venues.base import OrderSide
from strategy.quoting.stp import RestingOrder, filter_self_trades, would_self_trade
from strategy.quoting.types import DesiredQuote

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def q(side: OrderSide, price: str, level: int = 0) -> DesiredQuote:
    return DesiredQuote(side=side, level=level, price=D(price), amount=D(1))


def rest(side: OrderSide, price: str, session: str = "other") -> RestingOrder:
    return RestingOrder(
        side=side, price=D(price), client_order_id=f"{session}{price}", session_id=session
    )


def test_bid_at_or_above_our_own_ask_is_dropped() -> None:
    resting = [rest(SELL, "100.5"), rest(SELL, "101")]
    result = filter_self_trades(
        quotes=[q(BUY, "100.5"), q(BUY, "100.6", 1), q(BUY, "100.4", 2)], resting=resting
    )
    assert result.dropped == (q(BUY, "100.5"), q(BUY, "100.6", 1))
    assert result.allowed == (q(BUY, "100.4", 2),)


def test_ask_at_or_below_our_own_bid_is_dropped() -> None:
    resting = [rest(BUY, "99.5", session="acct2")]
    result = filter_self_trades(quotes=[q(SELL, "99.5"), q(SELL, "99.51", 1)], resting=resting)
    assert result.dropped == (q(SELL, "99.5"),)
    assert result.allowed == (q(SELL, "99.51", 1),)


def test_same_side_resting_orders_never_block() -> None:
    resting = [rest(BUY, "150"), rest(SELL, "50")]
    result = filter_self_trades(quotes=[q(BUY, "99"), q(SELL, "101")], resting=resting)
    # our bid at 150 blocks our ask at 101 (it would match it); our ask at 50 blocks the bid
    assert result.allowed == ()
    result = filter_self_trades(quotes=[q(BUY, "49"), q(SELL, "151")], resting=resting)
    assert result.dropped == ()


def test_quotes_of_one_batch_do_not_cross_each_other() -> None:
    result = filter_self_trades(quotes=[q(BUY, "100"), q(SELL, "99.9")], resting=[])
    assert result.allowed == (q(BUY, "100"),)
    assert result.dropped == (q(SELL, "99.9"),)


def test_nothing_resting_nothing_dropped() -> None:
    quotes = [q(BUY, "99"), q(SELL, "101")]
    assert filter_self_trades(quotes=quotes, resting=[]).allowed == tuple(quotes)


def test_would_self_trade() -> None:
    assert would_self_trade(q(BUY, "101"), [rest(SELL, "101")])
    assert not would_self_trade(q(BUY, "100.99"), [rest(SELL, "101")])
    assert would_self_trade(q(SELL, "99"), [rest(BUY, "99")])
    assert not would_self_trade(q(SELL, "99"), [rest(SELL, "98")])
