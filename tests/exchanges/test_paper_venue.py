"""The paper venue: database-backed matching, the price feed, deposits and withdrawals."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from exchanges.paper.models import PaperBalance, PaperCandle, PaperMarket, PaperOrder, PaperTrade
from exchanges.paper.services import PaperConflict, paper_deposit_credit, paper_market_ensure
from exchanges.venues.base import (
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderSide,
    OrderStatus,
    VenueGateway,
)
from exchanges.venues.factory import build_gateway
from tests.exchanges.conftest import Clock

D = Decimal


def _market(volatility: str = "0", **kw) -> PaperMarket:  # type: ignore[no-untyped-def]
    return paper_market_ensure(
        venue="paper",
        symbol="BTC/USDT",
        price=D("60000"),
        price_increment=D("0.01"),
        amount_increment=D("0.00001"),
        min_notional=D("5"),
        maker_fee=D("0.001"),
        taker_fee=D("0.002"),
        volatility=D(volatility),
        print_amount=D("0.5"),
        book_half_spread=D("0.001"),
        book_levels=3,
        book_level_amount=D("0.5"),
        **kw,
    )


def _gw(account: str, clock: Clock):  # type: ignore[no-untyped-def]
    return build_gateway(kind="paper", venue="paper", account=account, options={"clock": clock})


def _fund(account: str) -> None:
    paper_deposit_credit(
        venue="paper",
        account=account,
        asset="USDT",
        amount=D("100000"),
        txid=f"seed-{account}-usdt",
    )
    paper_deposit_credit(
        venue="paper", account=account, asset="BTC", amount=D("2"), txid=f"seed-{account}-btc"
    )


@pytest.fixture
def funded(db, clock: Clock):  # type: ignore[no-untyped-def]
    _market()
    _fund("paper:a")
    _fund("paper:b")
    return _gw("paper:a", clock), _gw("paper:b", clock)


def test_paper_gateway_satisfies_the_protocol(db, clock: Clock) -> None:
    assert isinstance(_gw("paper:a", clock), VenueGateway)


def test_crossing_orders_of_two_accounts_fill_at_the_makers_price_with_fees(funded) -> None:
    a, b = funded
    maker = a.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        price=D("60010"),
        amount=D("0.1"),
        client_order_id="a1",
    )
    taker = b.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("60020"),
        amount=D("0.04"),
        client_order_id="b1",
    )
    assert (taker.status, taker.filled, taker.average) == (
        OrderStatus.CLOSED,
        D("0.04"),
        D("60010"),
    )
    maker_now = a.fetch_order(symbol="BTC/USDT", client_order_id="a1")
    assert (maker_now.id, maker_now.filled, maker_now.status) == (
        maker.id,
        D("0.04"),
        OrderStatus.OPEN,
    )
    (ta,) = a.fetch_my_trades("BTC/USDT")
    (tb,) = b.fetch_my_trades("BTC/USDT")
    assert (ta.taker_or_maker, ta.fee_cost, ta.fee_currency) == ("maker", D("2.4004"), "USDT")
    assert (tb.taker_or_maker, tb.fee_cost, tb.fee_currency) == ("taker", D("0.00008"), "BTC")
    assert a.fetch_balances()["BTC"].used == D("0.06")
    assert b.fetch_balances()["BTC"].free == D("2.03992")


def test_a_buy_above_the_outside_ask_takes_simulated_liquidity(funded) -> None:
    a, _ = funded
    # outside asks: 60060, 60120, 60180 (0.1% steps), 0.5 each
    order = a.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("60120"),
        amount=D("0.8"),
        client_order_id="t1",
    )
    assert (order.filled, order.status) == (D("0.8"), OrderStatus.CLOSED)
    assert order.average == (D("60060") * D("0.5") + D("60120") * D("0.3")) / D("0.8")


def test_post_only_crossing_the_outside_book_is_invalid(funded) -> None:
    a, _ = funded
    with pytest.raises(InvalidOrder, match="PostOnly"):
        a.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("60060"),
            amount=D("0.01"),
            client_order_id="p1",
            post_only=True,
        )
    assert not PaperOrder.objects.exists()


def test_book_merges_our_orders_with_the_outside_book(funded) -> None:
    a, _ = funded
    a.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59990"),
        amount=D("0.2"),
        client_order_id="q1",
    )
    book = a.fetch_order_book("BTC/USDT", limit=3)
    assert [(lvl.price, lvl.amount) for lvl in book.bids] == [
        (D("59990"), D("0.2")),
        (D("59940"), D("0.5")),
        (D("59880"), D("0.5")),
    ]
    assert book.best_ask == D("60060")


def test_duplicate_client_order_id_insufficient_funds_and_rounding(funded) -> None:
    a, _ = funded
    order = a.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59000.004"),
        amount=D("0.0123456"),
        client_order_id="d1",
    )
    assert (order.price, order.amount) == (D("59000.00"), D("0.01234"))
    with pytest.raises(DuplicateClientOrderId):
        a.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("59000"),
            amount=D("0.01"),
            client_order_id="d1",
        )
    with pytest.raises(InsufficientFunds):
        a.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.SELL,
            price=D("70000"),
            amount=D("3"),
            client_order_id="d2",
        )
    with pytest.raises(InvalidOrder):
        a.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("100"),
            amount=D("0.01"),
            client_order_id="d3",
        )
    assert PaperOrder.objects.count() == 1


def test_cancel_releases_and_a_second_cancel_is_order_not_found(funded) -> None:
    a, _ = funded
    a.place_limit_order(
        symbol="BTC/USDT", side=OrderSide.BUY, price=D("59000"), amount=D("1"), client_order_id="c1"
    )
    assert a.fetch_balances()["USDT"].used == D("59000")
    canceled = a.cancel_order(symbol="BTC/USDT", client_order_id="c1")
    assert canceled.status == OrderStatus.CANCELED and a.fetch_balances()["USDT"].free == D(
        "100000"
    )
    with pytest.raises(OrderNotFound):
        a.cancel_order(symbol="BTC/USDT", client_order_id="c1")
    with pytest.raises(OrderNotFound):
        a.fetch_order(symbol="BTC/USDT", client_order_id="never")


def test_feed_prints_fill_resting_orders_as_makers_and_build_candles(db, clock: Clock) -> None:
    _market(volatility="0.002", seed=7)
    _fund("paper:mm")
    mm = _gw("paper:mm", clock)
    mm.fetch_ticker("BTC/USDT")  # starts the walk at this step
    bid = mm.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59950"),
        amount=D("0.3"),
        client_order_id="mmb",
    )
    ask = mm.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        price=D("60050"),
        amount=D("0.3"),
        client_order_id="mma",
    )
    # when ten minutes of the seeded walk pass
    clock.advance(600)
    orders = {o.client_order_id: o for o in mm.fetch_open_orders("BTC/USDT")}
    trades = mm.fetch_my_trades("BTC/USDT")
    # then the walk (0.2% per step) crossed at least one quote and filled it as maker, at our price
    assert trades and all(t.taker_or_maker == "maker" for t in trades)
    assert {t.price for t in trades} <= {D("59950"), D("60050")}
    filled = {o: sum(t.amount for t in trades if t.order_id == o) for o in (bid.id, ask.id)}
    for cid, order in (("mmb", bid), ("mma", ask)):
        now = mm.fetch_order(symbol="BTC/USDT", client_order_id=cid)
        assert now.filled == filled[order.id]
        assert (cid in orders) == (now.status == OrderStatus.OPEN)
    # 600 one-second prints span ten or eleven minute buckets depending on the start second
    assert PaperCandle.objects.count() in (10, 11)
    candles = mm.fetch_ohlcv("BTC/USDT", timeframe="1m")
    assert len(candles) == PaperCandle.objects.count() and all(
        c.low <= c.close <= c.high for c in candles
    )
    market = PaperMarket.objects.get()
    assert candles[-1].close == market.feed_price != D("60000")


def test_the_feed_is_reproducible_from_its_seed(db) -> None:
    from exchanges.paper.feed import prints_between
    from exchanges.paper.session import feed_settings

    settings_ = feed_settings(_market(volatility="0.001", seed=42))
    first = prints_between(settings_, D("60000"), 100, 160)
    assert first == prints_between(settings_, D("60000"), 100, 160)
    assert len({p.price for p in first}) > 10


def test_csv_feed_replays_trades(db, clock: Clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "trades.csv"
    path.write_text("timestamp,price,amount\n1,60100,0.2\n2,59800,0.1\n3,60000,0.3\n")
    _market(feed_kind="csv", feed_csv_path=str(path))
    _fund("paper:a")
    a = _gw("paper:a", clock)
    a.fetch_ticker("BTC/USDT")
    a.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59900"),
        amount=D("0.5"),
        client_order_id="csv1",
    )
    clock.advance(3)
    (trade,) = a.fetch_my_trades("BTC/USDT")
    assert (trade.price, trade.amount) == (D("59900"), D("0.1"))  # the 59800 print, 0.1 of volume


def test_state_is_in_the_database_so_a_new_gateway_sees_it(funded, clock: Clock) -> None:
    a, _ = funded
    a.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59000"),
        amount=D("0.1"),
        client_order_id="s1",
    )
    fresh = _gw("paper:a", clock)  # another process, or after a restart
    assert [o.client_order_id for o in fresh.fetch_open_orders()] == ["s1"]


def test_deposit_credit_is_idempotent_by_txid(db, clock: Clock) -> None:
    first = paper_deposit_credit(
        venue="paper", account="paper:x", asset="USDT", amount=D("50"), txid="tx1"
    )
    again = paper_deposit_credit(
        venue="paper", account="paper:x", asset="USDT", amount=D("50"), txid="tx1"
    )
    assert first == again
    with pytest.raises(PaperConflict):
        paper_deposit_credit(
            venue="paper", account="paper:x", asset="USDT", amount=D("51"), txid="tx1"
        )
    gw = _gw("paper:x", clock)
    assert gw.fetch_balances()["USDT"].free == D("50")
    assert [d.txid for d in gw.fetch_deposits("USDT")] == ["tx1"]
    address = gw.fetch_deposit_address("USDT", network="ERC20")
    assert address == gw.fetch_deposit_address(
        "USDT", network="ERC20"
    ) and address.address.startswith("paper-")


def test_withdraw_is_idempotent_by_client_id_and_has_a_txid(db, clock: Clock) -> None:
    paper_deposit_credit(venue="paper", account="paper:x", asset="USDT", amount=D("50"), txid="tx1")
    gw = _gw("paper:x", clock)
    first = gw.withdraw(asset="USDT", amount=D("20"), address="mixin:abc", client_id="w1")
    again = gw.withdraw(asset="USDT", amount=D("20"), address="mixin:abc", client_id="w1")
    assert first == again and first.txid and first.txid.startswith("paper-")
    assert gw.fetch_balances()["USDT"].free == D("30")
    assert [w.client_id for w in gw.fetch_withdrawals()] == ["w1"]
    with pytest.raises(InsufficientFunds):
        gw.withdraw(asset="USDT", amount=D("31"), address="mixin:abc", client_id="w2")
    assert gw.fetch_balances()["USDT"].free == D("30")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_threads_placing_crossing_orders_produce_one_consistent_fill_set(clock: Clock) -> None:
    _market()
    _fund("paper:a")
    _fund("paper:b")
    # given a resting ask of 0.1
    _gw("paper:a", clock).place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        price=D("60010"),
        amount=D("0.1"),
        client_order_id="ask",
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def buy(account: str, cid: str) -> None:
        try:
            barrier.wait()
            _gw(account, clock).place_limit_order(
                symbol="BTC/USDT",
                side=OrderSide.BUY,
                price=D("60010"),
                amount=D("0.08"),
                client_order_id=cid,
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    # when two buyers race for it at once
    threads = [
        threading.Thread(target=buy, args=("paper:b", "b1")),
        threading.Thread(target=buy, args=("paper:a", "a2")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then the ask filled exactly once: 0.08 to the first, 0.02 to the second, the rest rests
    assert errors == []
    ask = PaperOrder.objects.get(client_order_id="ask")
    assert (ask.filled, ask.status) == (D("0.1"), "closed")
    maker_fills = PaperTrade.objects.filter(order_id=ask.order_id)
    assert sorted(t.amount for t in maker_fills) == [D("0.02"), D("0.08")]
    buyers = PaperOrder.objects.filter(client_order_id__in=["b1", "a2"])
    assert sorted(o.filled for o in buyers) == [D("0.02"), D("0.08")]
    # and balances add up: 0.1 BTC changed hands, nothing created
    total_btc = sum(b.free + b.used for b in PaperBalance.objects.filter(asset="BTC"))
    fees_btc = sum(t.fee for t in PaperTrade.objects.filter(fee_asset="BTC"))
    assert total_btc + fees_btc == D("4")
