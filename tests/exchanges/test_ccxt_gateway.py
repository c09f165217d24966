"""The ccxt gateway through ccxt's real binance class against the loopback emulator."""

from __future__ import annotations

import time
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from exchanges.venues.base import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderSide,
    OrderStatus,
    RateLimited,
    TransferStatus,
    VenueGateway,
    VenueNetworkError,
    VenueTimeout,
    VenueUnavailable,
)
from exchanges.venues.factory import VenueCredentials, build_gateway
from standins.venues.binance import BinanceEmulator, Fault
from tests.exchanges.conftest import API_KEY, SECRET

D = Decimal


def _orders_sent(emulator: BinanceEmulator) -> list[dict[str, str]]:
    return [
        dict(parse_qsl(r.body.decode()))
        for r in emulator.server.requests
        if r.method == "POST" and r.path == "/api/v3/order"
    ]


def test_gateway_satisfies_the_protocol(gateway) -> None:
    assert isinstance(gateway, VenueGateway)


def test_load_markets_reads_precision_and_limits_from_exchange_info(gateway, emulator) -> None:
    market = gateway.market("BTC/USDT")
    assert (market.base, market.quote) == ("BTC", "USDT")
    assert market.price_increment == D("0.01") and market.amount_increment == D("0.00001")
    assert market.min_amount == D("0.00001") and market.min_notional == D("5")
    # only the spot endpoints were needed to load markets
    assert {r.path for r in emulator.server.requests} == {"/api/v3/exchangeInfo"}


def test_place_rounds_price_to_tick_and_truncates_amount_to_lot(gateway, emulator) -> None:
    order = gateway.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59000.126"),
        amount=D("0.0012399"),
        client_order_id="mm1a",
    )
    (sent,) = _orders_sent(emulator)
    assert (sent["price"], sent["quantity"], sent["type"], sent["newClientOrderId"]) == (
        "59000.13",
        "0.00123",
        "LIMIT",
        "mm1a",
    )
    assert (order.price, order.amount, order.status, order.client_order_id) == (
        D("59000.13"),
        D("0.00123"),
        OrderStatus.OPEN,
        "mm1a",
    )
    assert isinstance(order.price, Decimal)


def test_post_only_goes_out_as_limit_maker_and_a_cross_is_invalid_order(gateway, emulator) -> None:
    gateway.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        price=D("60000"),
        amount=D("0.01"),
        client_order_id="ask1",
    )
    resting = gateway.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59999"),
        amount=D("0.01"),
        client_order_id="bid1",
        post_only=True,
    )
    assert (
        _orders_sent(emulator)[-1]["type"] == "LIMIT_MAKER" and resting.status == OrderStatus.OPEN
    )
    with pytest.raises(InvalidOrder) as info:
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("60000"),
            amount=D("0.01"),
            client_order_id="bid2",
            post_only=True,
        )
    assert not info.value.retryable


@pytest.mark.parametrize("client_order_id", ["a" * 29, "has-dash", "", "sp ace"])
def test_client_order_id_must_be_at_most_28_alphanumerics_and_nothing_is_sent(
    gateway, emulator, client_order_id
) -> None:
    with pytest.raises(InvalidOrder):
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("100"),
            amount=D("1"),
            client_order_id=client_order_id,
        )
    assert _orders_sent(emulator) == []


def test_below_min_notional_or_min_amount_is_rejected_before_sending(gateway, emulator) -> None:
    with pytest.raises(InvalidOrder, match="notional"):
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("100"),
            amount=D("0.01"),
            client_order_id="small1",
        )
    with pytest.raises(InvalidOrder):
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("60000"),
            amount=D("0.000001"),
            client_order_id="small2",
        )
    assert _orders_sent(emulator) == []


def test_venue_filter_failure_maps_to_invalid_order(gateway, emulator) -> None:
    # given the venue tightened its NOTIONAL filter after we loaded markets
    gateway.load_markets()
    m = emulator.markets["BTC/USDT"]
    emulator.by_id[m.id] = type(m)(**{**m.__dict__, "min_notional": D("1000")})
    with pytest.raises(InvalidOrder, match="-1013"):
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("50000"),
            amount=D("0.001"),
            client_order_id="flt1",
        )


def test_insufficient_balance_is_final(gateway) -> None:
    with pytest.raises(InsufficientFunds) as info:
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.SELL,
            price=D("60000"),
            amount=D("3"),
            client_order_id="big1",
        )
    assert not info.value.retryable


def test_duplicate_client_order_id_is_resolved_by_fetch_order(gateway) -> None:
    first = gateway.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("50000"),
        amount=D("0.001"),
        client_order_id="dup1",
    )
    with pytest.raises(DuplicateClientOrderId):
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("50000"),
            amount=D("0.001"),
            client_order_id="dup1",
        )
    assert gateway.fetch_order(symbol="BTC/USDT", client_order_id="dup1").id == first.id


def test_fetch_cancel_open_orders_and_trades(gateway, emulator) -> None:
    order = gateway.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59000"),
        amount=D("0.002"),
        client_order_id="life1",
    )
    assert [o.id for o in gateway.fetch_open_orders("BTC/USDT")] == [order.id]
    assert [o.id for o in gateway.fetch_open_orders()] == [order.id]
    emulator.external_trade("BTC/USDT", D("58990"), D("0.0005"))
    fetched = gateway.fetch_order(symbol="BTC/USDT", order_id=order.id)
    assert (fetched.filled, fetched.remaining, fetched.status) == (
        D("0.0005"),
        D("0.0015"),
        OrderStatus.OPEN,
    )
    (trade,) = gateway.fetch_my_trades("BTC/USDT")
    assert (trade.order_id, trade.price, trade.amount, trade.taker_or_maker) == (
        order.id,
        D("59000"),
        D("0.0005"),
        "maker",
    )
    assert (trade.fee_cost, trade.fee_currency) == (D("0.0000005"), "BTC")
    canceled = gateway.cancel_order(symbol="BTC/USDT", client_order_id="life1")
    assert (canceled.status, canceled.client_order_id, canceled.filled) == (
        OrderStatus.CANCELED,
        "life1",
        D("0.0005"),
    )
    assert gateway.fetch_open_orders("BTC/USDT") == []
    balances = gateway.fetch_balances()
    assert balances["BTC"].free == D("2.0004995") and balances["USDT"].used == D("0")


def test_cancel_or_fetch_unknown_order_is_order_not_found(gateway) -> None:
    with pytest.raises(OrderNotFound):
        gateway.cancel_order(symbol="BTC/USDT", order_id="999")
    with pytest.raises(OrderNotFound):
        gateway.fetch_order(symbol="BTC/USDT", client_order_id="nope1")


def test_market_data_book_ticker_tickers_ohlcv(gateway, emulator) -> None:
    gateway.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        price=D("59000"),
        amount=D("0.01"),
        client_order_id="md1",
    )
    gateway.place_limit_order(
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        price=D("61000"),
        amount=D("0.02"),
        client_order_id="md2",
    )
    emulator.external_trade("BTC/USDT", D("60000"), D("0.5"))
    book = gateway.fetch_order_book("BTC/USDT", limit=5)
    assert (book.best_bid, book.best_ask, book.asks[0].amount) == (
        D("59000"),
        D("61000"),
        D("0.02"),
    )
    ticker = gateway.fetch_ticker("BTC/USDT")
    assert (ticker.bid, ticker.ask, ticker.last, ticker.base_volume) == (
        D("59000"),
        D("61000"),
        D("60000"),
        D("0.5"),
    )
    assert set(gateway.fetch_tickers()) == {"BTC/USDT", "ETH/USDT"}
    (candle,) = gateway.fetch_ohlcv("BTC/USDT", timeframe="1m")
    assert (candle.open, candle.close, candle.volume) == (D("60000"), D("60000"), D("0.5"))


def test_deposit_address_deposits_and_idempotent_withdraw(gateway, emulator) -> None:
    address = gateway.fetch_deposit_address("USDT", network="ETH")
    assert address.address.startswith("0x") and address == gateway.fetch_deposit_address(
        "USDT", network="ETH"
    )
    emulator.credit_deposit(
        api_key=API_KEY, coin="USDT", amount=D("25"), txid="0xdep1", network="ETH"
    )
    (deposit,) = gateway.fetch_deposits("USDT")
    assert (deposit.amount, deposit.txid, deposit.status) == (D("25"), "0xdep1", TransferStatus.OK)
    first = gateway.withdraw(
        asset="USDT", amount=D("10"), address="0xabc", client_id="wd1", network="ETH"
    )
    again = gateway.withdraw(
        asset="USDT", amount=D("10"), address="0xabc", client_id="wd1", network="ETH"
    )
    assert first == again and first.txid and first.client_id == "wd1"
    assert [w.id for w in gateway.fetch_withdrawals("USDT")] == [first.id]
    applies = [r for r in emulator.server.requests if r.path == "/sapi/v1/capital/withdraw/apply"]
    assert len(applies) == 1
    assert gateway.fetch_balances()["USDT"].free == D("100015")


def test_wrong_secret_is_authentication_failed(emulator, limiter) -> None:
    gw = build_gateway(
        kind="ccxt",
        venue="binance",
        account="binance:0",
        credentials=VenueCredentials(api_key=API_KEY, secret="wrong"),
        options={"base_url": emulator.base_url, "rate_limiter": limiter},
    )
    with pytest.raises(AuthenticationFailed, match="-1022"):
        gw.fetch_balances()


@pytest.mark.parametrize("api_key,code", [("UnknownKey123", "-2015"), ("bad", "-2014")])
def test_unknown_or_malformed_api_key_is_authentication_failed(
    emulator, limiter, api_key, code
) -> None:
    gw = build_gateway(
        kind="ccxt",
        venue="binance",
        account="binance:0",
        credentials=VenueCredentials(api_key=api_key, secret=SECRET),
        options={"base_url": emulator.base_url, "rate_limiter": limiter},
    )
    with pytest.raises(AuthenticationFailed, match=code):
        gw.fetch_balances()


def test_timestamp_outside_recv_window_is_retryable(limiter) -> None:
    with BinanceEmulator(clock=lambda: time.time() + 30) as emu:
        emu.add_account(name="x", api_key=API_KEY, secret=SECRET)
        gw = build_gateway(
            kind="ccxt",
            venue="binance",
            account="binance:0",
            credentials=VenueCredentials(api_key=API_KEY, secret=SECRET),
            options={"base_url": emu.base_url, "rate_limiter": limiter},
        )
        with pytest.raises(VenueNetworkError) as info:
            gw.fetch_balances()
    assert info.value.retryable and "-1021" in str(info.value)


def test_injected_429_is_rate_limited_with_retry_after_and_blocks_the_shared_limiter(
    gateway, emulator, limiter
) -> None:
    gateway.load_markets()
    emulator.inject(Fault("GET /api/v3/account", "429", retry_after=3))
    with pytest.raises(RateLimited) as info:
        gateway.fetch_balances()
    assert info.value.retryable and info.value.retry_after == 3
    # then every process now waits for the venue's Retry-After before sending
    waits: list[float] = []
    limiter.sleep = waits.append
    limiter.acquire(venue="binance", account="binance:0", weight=1)
    assert 2.5 < waits[0] <= 3.0


def test_order_rate_limit_429_without_retry_after_is_rate_limited(limiter) -> None:
    with BinanceEmulator(order_limit=(1, 10)) as emu:
        emu.add_account(name="x", api_key=API_KEY, secret=SECRET, balances={"USDT": D("1000")})
        gw = build_gateway(
            kind="ccxt",
            venue="binance",
            account="binance:0",
            credentials=VenueCredentials(api_key=API_KEY, secret=SECRET),
            options={"base_url": emu.base_url, "rate_limit": False},
        )
        gw.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("100"),
            amount=D("0.1"),
            client_order_id="r1",
        )
        with pytest.raises(RateLimited, match="-1015"):
            gw.place_limit_order(
                symbol="BTC/USDT",
                side=OrderSide.BUY,
                price=D("100"),
                amount=D("0.1"),
                client_order_id="r2",
            )


def test_ignoring_a_429_gets_a_418_ban_which_is_rate_limited(limiter) -> None:
    with BinanceEmulator(weight_limit=(25, 60)) as emu:
        emu.add_account(name="x", api_key=API_KEY, secret=SECRET)
        gw = build_gateway(
            kind="ccxt",
            venue="binance",
            account="binance:0",
            credentials=VenueCredentials(api_key=API_KEY, secret=SECRET),
            options={"base_url": emu.base_url, "rate_limit": False},
        )
        gw.load_markets()  # weight 20
        with pytest.raises(RateLimited):
            gw.fetch_balances()  # weight 20 more: 429
        with pytest.raises(RateLimited) as info:
            gw.fetch_balances()  # during the back-off: 418
        assert emu.stats["http_418"] == 1 and info.value.retry_after == 120


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_venue_unavailable_or_timeout_and_retryable(gateway, emulator, status) -> None:
    gateway.load_markets()
    emulator.inject(Fault("GET /api/v3/depth", "status", status=status))
    with pytest.raises((VenueUnavailable, VenueNetworkError)) as info:
        gateway.fetch_order_book("BTC/USDT")
    assert info.value.retryable
    assert gateway.fetch_order_book("BTC/USDT").bids == ()  # the fault was for one request


def test_hang_past_the_timeout_is_venue_timeout_and_the_order_is_found_by_client_id(
    gateway, emulator
) -> None:
    gateway.load_markets()
    emulator.inject(Fault("POST /api/v3/order", "hang", seconds=2.5, apply=True))
    with pytest.raises(VenueTimeout) as info:
        gateway.place_limit_order(
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            price=D("50000"),
            amount=D("0.001"),
            client_order_id="hang1",
        )
    assert info.value.retryable
    # the outcome was unknown to us; the order did land and is found by our id
    assert (
        gateway.fetch_order(symbol="BTC/USDT", client_order_id="hang1").status == OrderStatus.OPEN
    )


def test_latency_below_the_timeout_still_succeeds(gateway, emulator) -> None:
    gateway.load_markets()
    emulator.inject(Fault("GET /api/v3/ticker/24hr", "latency", seconds=0.3))
    assert gateway.fetch_ticker("BTC/USDT").symbol == "BTC/USDT"


def test_credentials_never_show_their_secret_in_repr_or_errors(emulator, limiter) -> None:
    creds = VenueCredentials(api_key=API_KEY, secret="s3cr3t-value-xyz")
    assert "s3cr3t" not in repr(creds)
    gw = build_gateway(
        kind="ccxt",
        venue="binance",
        account="binance:0",
        credentials=creds,
        options={"base_url": emulator.base_url, "rate_limiter": limiter},
    )
    with pytest.raises(AuthenticationFailed) as info:
        gw.fetch_balances()
    assert "s3cr3t" not in str(info.value)
