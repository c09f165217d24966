"""One contract for every venue: the same behaviours through the gateway on the Binance, OKX
and Bybit emulators (ccxt's real classes) and the paper venue. Behaviours a venue cannot have
(a network timeout, a 429 or a bad key on the in-process paper venue) are skipped with the
reason, never faked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.venues.base import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    InsufficientFunds,
    OrderNotFound,
    OrderSide,
    OrderStatus,
    RateLimited,
    TransferStatus,
    VenueGateway,
    VenueTimeout,
)
from tests.exchanges.conformance.conftest import PLACE_ENDPOINT, SYMBOL, Harness

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def _needs_network(venue: Harness) -> None:
    if not venue.emulated:
        pytest.skip("the paper venue is in-process: no network, no HTTP status, no API key")


def test_gateway_implements_the_protocol(venue: Harness) -> None:
    assert isinstance(venue.gateway, VenueGateway)


def test_place_with_client_id_answers_the_whole_order(venue: Harness) -> None:
    order = venue.gateway.place_limit_order(
        symbol=SYMBOL, side=BUY, price=D("50000"), amount=D("0.01"), client_order_id="conf1"
    )
    # every field comes from the venue (partial answers are completed by a look-up)
    assert (order.client_order_id, order.side, order.price, order.amount) == (
        "conf1", BUY, D("50000"), D("0.01"),
    )  # fmt: skip
    assert order.status == OrderStatus.OPEN and order.filled == 0
    assert order.created_at.year > 2000


def test_look_up_by_client_id_after_a_timeout_finds_the_order(venue: Harness) -> None:
    _needs_network(venue)
    # given the venue applies the order but answers after the client gave up
    venue.inject(PLACE_ENDPOINT[venue.name], "hang", seconds=2.5, apply=True)
    with pytest.raises(VenueTimeout):
        venue.gateway.place_limit_order(
            symbol=SYMBOL, side=BUY, price=D("50000"), amount=D("0.01"), client_order_id="late1"
        )
    # then the order is there under our client id
    found = venue.gateway.fetch_order(symbol=SYMBOL, client_order_id="late1")
    assert (found.client_order_id, found.status, found.amount) == ("late1", OrderStatus.OPEN, D("0.01"))  # fmt: skip


def test_cancel_answers_the_canceled_order(venue: Harness) -> None:
    venue.gateway.place_limit_order(
        symbol=SYMBOL, side=BUY, price=D("50000"), amount=D("0.01"), client_order_id="cx1"
    )
    canceled = venue.gateway.cancel_order(symbol=SYMBOL, client_order_id="cx1")
    assert (canceled.client_order_id, canceled.status, canceled.price) == (
        "cx1", OrderStatus.CANCELED, D("50000"),
    )  # fmt: skip
    assert venue.gateway.fetch_open_orders(SYMBOL) == []


def test_open_orders_list_only_resting_orders(venue: Harness) -> None:
    for i, price in enumerate(("50000", "51000", "52000")):
        venue.gateway.place_limit_order(
            symbol=SYMBOL, side=BUY, price=D(price), amount=D("0.01"), client_order_id=f"oo{i}"
        )
    venue.gateway.cancel_order(symbol=SYMBOL, client_order_id="oo1")
    open_ids = sorted(o.client_order_id or "" for o in venue.gateway.fetch_open_orders(SYMBOL))
    assert open_ids == ["oo0", "oo2"]


def test_fills_are_read_across_pages(venue: Harness) -> None:
    venue.page_limit(3)
    for i in range(7):
        venue.gateway.place_limit_order(
            symbol=SYMBOL, side=SELL, price=D("61000"), amount=D("0.001"), client_order_id=f"pg{i}"
        )
    venue.outside_trade(D("61000"), D("0.007"), SELL)
    trades = venue.gateway.fetch_my_trades(SYMBOL)
    assert len(trades) == 7 and len({t.id for t in trades}) == 7
    assert sum((t.amount for t in trades), D(0)) == D("0.007")


@pytest.mark.parametrize("maker_fee", ["0.001", "0", "-0.0001"])
def test_maker_fees_zero_fees_and_rebates_keep_their_sign(make_venue, maker_fee: str) -> None:  # type: ignore[no-untyped-def]
    venue = make_venue(maker_fee=D(maker_fee))
    before = venue.gateway.fetch_balances()
    venue.gateway.place_limit_order(
        symbol=SYMBOL, side=SELL, price=D("61000"), amount=D("0.01"), client_order_id="fee1"
    )
    venue.outside_trade(D("61000"), D("0.01"), SELL)
    (trade,) = venue.gateway.fetch_my_trades(SYMBOL)
    after = venue.gateway.fetch_balances()
    assert trade.taker_or_maker == "maker"
    if venue.name == "bybit" and D(maker_fee) < 0:
        # Bybit spot pays a maker rebate in the coin the order gave away: base for a sell
        # (a negative execFee, which ccxt reads as such)
        assert (trade.fee_cost, trade.fee_currency) == (D("0.01") * D(maker_fee), "BTC")
    else:
        # a sell receives quote: the fee is 610 USDT x rate, a rebate negative
        assert trade.fee_cost == D("610") * D(maker_fee)
        if trade.fee_cost:
            assert trade.fee_currency == "USDT"
    # the balances moved as the trade says: the fee (or rebate) in its own currency
    fee = {trade.fee_currency: trade.fee_cost} if trade.fee_cost else {}
    for asset, traded in (("BTC", D("-0.01")), ("USDT", D("610"))):
        assert after[asset].total - before[asset].total == traded - fee.get(asset, D(0))


def test_balances_per_wallet_and_an_idempotent_internal_transfer(venue: Harness) -> None:
    gw = venue.gateway
    venue.deposit("BTC", D("0.5"), "0xdep1")
    split = gw.needs_internal_transfer()
    assert split == (venue.name in ("okx", "bybit"))
    funding = gw.fetch_balances(wallet="funding")["BTC"].free
    trading = gw.fetch_balances(wallet="trading")["BTC"].free
    assert (funding, trading) == ((D("0.5"), D("2")) if split else (D("2.5"), D("2.5")))
    # when: the same move is asked twice (a retry)
    for _ in range(2):
        moved = gw.transfer_internal(
            asset="BTC", amount=D("0.5"), from_wallet="funding", to_wallet="trading",
            client_id="mv1",
        )  # fmt: skip
        assert moved.status == TransferStatus.OK and moved.amount == D("0.5")
    # then: it was applied once
    assert gw.fetch_balances(wallet="trading")["BTC"].free == D("2.5")
    if split:
        assert gw.fetch_balances(wallet="funding").get("BTC") in (None,) or (
            gw.fetch_balances(wallet="funding")["BTC"].free == 0
        )


def test_deposit_address_is_stable(venue: Harness) -> None:
    first = venue.gateway.fetch_deposit_address("USDT")
    again = venue.gateway.fetch_deposit_address("USDT")
    assert first.address and first.address == again.address and first.asset == "USDT"


def test_a_deposit_is_listed_once_with_its_txid_and_exact_amount(venue: Harness) -> None:
    venue.deposit("USDT", D("123.45"), "0xmatch")
    venue.deposit("USDT", D("123.45"), "0xmatch")  # the same chain transaction seen twice
    deposits = [d for d in venue.gateway.fetch_deposits("USDT") if d.txid == "0xmatch"]
    assert [(d.amount, d.status) for d in deposits] == [(D("123.45"), TransferStatus.OK)]


def test_a_withdrawal_retried_with_its_client_id_is_applied_once(venue: Harness) -> None:
    gw = venue.gateway
    venue.deposit("USDT", D("100"), "0xfund")
    before = gw.fetch_balances(wallet="funding")["USDT"].free
    first = gw.withdraw(asset="USDT", amount=D("40"), address="0xabc", client_id="wd1")
    again = gw.withdraw(asset="USDT", amount=D("40"), address="0xabc", client_id="wd1")
    assert first.id == again.id
    assert gw.fetch_balances(wallet="funding")["USDT"].free == before - D("40")
    assert [w.id for w in gw.fetch_withdrawals("USDT")] == [first.id]


def test_insufficient_funds_is_final_and_places_nothing(venue: Harness) -> None:
    with pytest.raises(InsufficientFunds):
        venue.gateway.place_limit_order(
            symbol=SYMBOL, side=BUY, price=D("60000"), amount=D("100"), client_order_id="poor1"
        )
    assert venue.gateway.fetch_open_orders(SYMBOL) == []


def test_an_unknown_order_is_not_found(venue: Harness) -> None:
    with pytest.raises(OrderNotFound):
        venue.gateway.cancel_order(symbol=SYMBOL, client_order_id="nosuch1")
    with pytest.raises(OrderNotFound):
        venue.gateway.fetch_order(symbol=SYMBOL, client_order_id="nosuch1")


def test_a_duplicate_client_id_is_recognised_as_such(venue: Harness) -> None:
    venue.gateway.place_limit_order(
        symbol=SYMBOL, side=BUY, price=D("50000"), amount=D("0.01"), client_order_id="dup1"
    )
    with pytest.raises(DuplicateClientOrderId):
        venue.gateway.place_limit_order(
            symbol=SYMBOL, side=BUY, price=D("50001"), amount=D("0.01"), client_order_id="dup1"
        )
    assert len(venue.gateway.fetch_open_orders(SYMBOL)) == 1


def test_a_429_is_rate_limited_and_blocks_the_shared_limiter(make_venue) -> None:  # type: ignore[no-untyped-def]
    venue = make_venue(order_limit=(1, 10.0))  # a window shorter than max_wait
    _needs_network(venue)
    venue.gateway.place_limit_order(
        symbol=SYMBOL, side=BUY, price=D("50000"), amount=D("0.01"), client_order_id="rl1"
    )
    waits: list[float] = []
    venue.limiter.sleep = waits.append  # record instead of sleeping
    with pytest.raises(RateLimited):
        venue.gateway.place_limit_order(
            symbol=SYMBOL, side=BUY, price=D("50000"), amount=D("0.01"), client_order_id="rl2"
        )
    # the next request waits out the block instead of hitting the venue again at once
    venue.gateway.fetch_open_orders(SYMBOL)
    assert waits and waits[0] > 0


def test_a_wrong_secret_is_an_authentication_failure(venue: Harness) -> None:
    _needs_network(venue)
    assert venue.make_gateway is not None
    bad = venue.make_gateway(secret="not-the-secret")
    with pytest.raises(AuthenticationFailed):
        bad.fetch_balances()
