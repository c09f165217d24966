"""Public and admin endpoints of the exchanges app (CONTRACT.md paths and field names)."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework import throttling

from exchanges import selectors, services
from exchanges.models import Asset, Exchange, FeeSettings, MarketMakingPair
from exchanges.venues.base import AuthenticationFailed, RateLimited, VenueUnavailable
from mrmarket.models import AuditEvent
from tests.exchanges.factories import (
    AssetFactory,
    ExchangeFactory,
    FakeGateway,
    MarketMakingPairFactory,
    SpotPairFactory,
    VenueAccountFactory,
    patch_gateways,
)

pytestmark = pytest.mark.django_db

PAIR_FIELDS = {
    "id", "symbol", "base_symbol", "quote_symbol", "base_asset_id", "base_icon_url",
    "base_chain_id", "base_chain_icon_url", "quote_asset_id", "quote_icon_url", "quote_chain_id",
    "quote_chain_icon_url", "base_price", "target_price", "exchange_id", "custom_fee_rate", "enable",
}  # fmt: skip


@pytest.fixture
def gateways(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeGateway]:
    return patch_gateways(monkeypatch)


@pytest.fixture
def binance(gateways: dict[str, FakeGateway]) -> Exchange:
    return ExchangeFactory.create(exchange_id="binance", name="Binance")


# ---------------------------------------------------------------------------- grow / spot


def test_grow_info_lists_exchanges_and_market_making_pairs_with_contract_fields(api) -> None:  # type: ignore[no-untyped-def]
    pair = MarketMakingPairFactory.create(
        exchange=ExchangeFactory.create(exchange_id="binance", name="Binance"),
        custom_fee_rate=Decimal("0.0020"),
        base_price=Decimal("95000.50"),
    )
    ExchangeFactory.create(exchange_id="okx", name="OKX", enable=False)

    body = api.get("/grow/info").json()

    assert [e["exchange_id"] for e in body["exchanges"]] == ["binance", "okx"]
    assert body["exchanges"][1] == {
        "exchange_id": "okx",
        "name": "OKX",
        "icon_url": "",
        "enable": False,
    }
    assert body["simply_grow"] == {"tokens": []} and body["arbitrage"] == {"pairs": []}
    assert [e["exchange_id"] for e in body["market_making"]["exchanges"]] == ["binance"]
    (item,) = body["market_making"]["pairs"]
    assert PAIR_FIELDS <= set(item)
    assert item["id"] == str(pair.id)
    assert item["base_asset_id"] == str(pair.base_asset.asset_id)
    assert item["base_chain_id"] == str(pair.base_asset.chain_id)
    assert item["base_icon_url"] == pair.base_asset.icon_url
    assert item["base_price"] == "95000.5"  # the pair's own price
    assert item["target_price"] == "1"  # falls back to the quote asset's registry price
    assert item["custom_fee_rate"] == "0.002"
    assert item["exchange_id"] == "binance" and item["enable"] is True


def test_spot_info_lists_trading_pairs(api) -> None:  # type: ignore[no-untyped-def]
    pair = SpotPairFactory.create(amount_significant_figures=4)
    body = api.get("/spot/info").json()
    (item,) = body["trading_pairs"]
    assert PAIR_FIELDS <= set(item)
    assert item["id"] == str(pair.id) and item["amount_significant_figures"] == 4


# ---------------------------------------------------------------------------- market data


def test_supported_symbols_lists_active_markets(api, binance, gateways) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/market/supported-symbols", {"exchange": "binance"})
    assert response.status_code == 200
    assert response.json() == ["BTC/USDT", "ETH/USDT"]
    assert gateways["binance"].build["options"] == {"ccxt_id": "binance"}
    assert gateways["binance"].account == "binance:0"


def test_tickers_are_a_ccxt_style_map_with_decimal_strings(api, binance) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/market/tickers", {"exchange": "binance", "symbols": "BTC/USDT,ETH/USDT"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"BTC/USDT", "ETH/USDT"}
    assert body["BTC/USDT"] == {
        "symbol": "BTC/USDT",
        "timestamp": 1735787045000,
        "datetime": "2025-01-02T03:04:05.000Z",
        "bid": "95000",
        "ask": "95001",
        "last": "95000.5",
        "close": "95000.5",
        "baseVolume": "12.3",
        "quoteVolume": "1000000",
    }


def test_ohlcv_rows_are_ts_then_decimal_strings(api, binance) -> None:  # type: ignore[no-untyped-def]
    response = api.get(
        "/market/ohlcv",
        {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1m", "since": 1000, "limit": 2},
    )
    assert response.status_code == 200
    assert response.json() == [
        [1000, "100.1", "101", "99.5", "100.25", "0.5"],
        [61000, "100.1", "101", "99.5", "100.25", "0.5"],
    ]


def test_a_burst_of_polls_reaches_the_venue_once(api, binance, gateways) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        assert (
            api.get("/market/tickers", {"exchange": "binance", "symbols": "BTC/USDT"}).status_code
            == 200
        )
    assert gateways["binance"].calls.count("fetch_tickers") == 1
    assert gateways["binance"].calls.count("load_markets") == 1


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ({"exchange": "nope"}, 404, "exchange_not_found"),
        ({"exchange": "binance", "symbols": "DOGE/USDT"}, 404, "symbol_not_listed"),
        ({"exchange": "binance", "symbols": "OLD/USDT"}, 404, "symbol_not_listed"),
        ({}, 400, "validation_error"),
    ],
)
def test_tickers_validation_and_unknowns(api, binance, query, status, error) -> None:  # type: ignore[no-untyped-def]
    response = api.get("/market/tickers", query)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_ohlcv_rejects_an_unknown_timeframe_and_a_huge_limit(api, binance) -> None:  # type: ignore[no-untyped-def]
    base = {"exchange": "binance", "symbol": "BTC/USDT"}
    assert api.get("/market/ohlcv", {**base, "timeframe": "7m"}).status_code == 400
    assert api.get("/market/ohlcv", {**base, "limit": 100000}).status_code == 400


def test_a_timeframe_the_venue_does_not_offer_is_a_400_and_leaves_its_health_alone(api) -> None:  # type: ignore[no-untyped-def]
    # given the paper venue, which has no monthly candles (found by `make fuzz`: it was a 502
    # and marked the venue in error for everyone)
    from exchanges import demo

    demo.seed()
    query = {"exchange": "paper", "symbol": "BTC/USDT", "timeframe": "1M"}

    # when
    response = api.get("/market/ohlcv", query)

    # then
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_by_venue"
    assert "1M" in response.json()["message"]
    assert all(v["status"] != "error" for v in selectors.venue_health_list())
    assert api.get("/market/ohlcv", {**query, "timeframe": "1h"}).status_code == 200


def test_a_disabled_exchange_serves_no_market_data(api, gateways) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance", enable=False)
    response = api.get("/market/supported-symbols", {"exchange": "binance"})
    assert response.status_code == 404
    assert gateways == {}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RateLimited("slow down", retry_after=1.0), 503, "venue_unavailable"),
        (VenueUnavailable("maintenance"), 503, "venue_unavailable"),
        (AuthenticationFailed("bad key"), 502, "venue_error"),
    ],
)
def test_venue_errors_become_502_or_503_and_are_cached_briefly(
    api, binance, gateways, error, status, code
) -> None:  # type: ignore[no-untyped-def]
    api.get("/market/supported-symbols", {"exchange": "binance"})  # build the gateway
    gateways["binance"].error = error
    query = {"exchange": "binance", "symbol": "BTC/USDT"}
    first = api.get("/market/ohlcv", query)
    second = api.get("/market/ohlcv", query)
    assert first.status_code == second.status_code == status
    assert first.json()["error"] == code
    assert first.json()["statusCode"] == status
    assert gateways["binance"].calls.count("fetch_ohlcv") == 1  # the error is served from cache


def test_market_data_is_throttled_per_anonymous_client(api, binance, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(throttling.AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/min"})
    statuses = [
        api.get("/market/supported-symbols", {"exchange": "binance"}).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_the_account_keys_reach_the_gateway_builder(binance, gateways) -> None:  # type: ignore[no-untyped-def]
    VenueAccountFactory.create(
        exchange=binance, index=0, api_key="KEY-000000001234", api_secret="SECRET"
    )
    services.venue_gateway_get(exchange_id="binance")
    creds = gateways["binance"].build["credentials"]
    assert (creds.api_key, creds.secret, creds.password) == ("KEY-000000001234", "SECRET", "")


def test_gateways_are_reused_until_the_config_changes(binance, gateways) -> None:  # type: ignore[no-untyped-def]
    first = services.venue_gateway_get(exchange_id="binance")
    assert services.venue_gateway_get(exchange_id="binance") is first
    services.exchange_update(
        exchange=binance, changes={"options": {"base_url": "http://127.0.0.1:1"}}, actor=None
    )
    rebuilt = services.venue_gateway_get(exchange_id="binance")
    assert rebuilt is not first
    assert rebuilt.build["options"] == {"base_url": "http://127.0.0.1:1", "ccxt_id": "binance"}  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- health


def test_health_lists_enabled_venues_with_their_status(api, binance, gateways) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="okx", ccxt_id="okx")
    ExchangeFactory.create(exchange_id="gate", enable=False)
    api.get("/market/supported-symbols", {"exchange": "okx"})
    gateways["okx"].error = VenueUnavailable("down")
    api.get("/market/tickers", {"exchange": "okx", "symbols": "BTC/USDT"})

    body = api.get("/health").json()

    assert body["exchanges"] == [
        {"name": "binance", "status": "ok"},  # probed with load_markets
        {"name": "okx", "status": "unavailable"},  # the last call failed
    ]


def test_health_survives_a_venue_that_cannot_be_built(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(**_: Any) -> Any:
        raise RuntimeError("bad options")

    services.gateway_cache_clear()
    monkeypatch.setattr(services.gateway_registry, "builder", broken)
    ExchangeFactory.create(exchange_id="binance")
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json()["exchanges"] == [{"name": "binance", "status": "error"}]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_concurrent_cache_misses_reach_the_venue_once(binance, gateways) -> None:  # type: ignore[no-untyped-def]
    import time

    gate = services.venue_gateway_get(exchange_id="binance")
    slow_fetch = gate.fetch_ohlcv

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return slow_fetch(*args, **kwargs)

    gate.fetch_ohlcv = slow  # type: ignore[method-assign]
    selectors.market_symbols_list(exchange_id="binance")
    results: list[Any] = []

    def poll() -> None:
        try:
            results.append(selectors.market_ohlcv_get(exchange_id="binance", symbol="BTC/USDT"))
        finally:
            connection.close()

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert gateways["binance"].calls.count("fetch_ohlcv") == 1


# ---------------------------------------------------------------------------- admin: exchanges


def test_admin_adds_updates_and_removes_an_exchange(admin_api) -> None:  # type: ignore[no-untyped-def]
    added = admin_api.post(
        "/admin/grow/exchange/add",
        {"exchange_id": "mexc", "name": "MEXC", "options": {"base_url": "http://127.0.0.1:9"}},
        format="json",
    )
    assert added.status_code == 201, added.content
    assert added.json()["ccxt_id"] == "mexc" and added.json()["kind"] == "ccxt"

    updated = admin_api.post(
        "/admin/grow/exchange/update/mexc", {"enable": False, "name": "Mexc"}, format="json"
    )
    assert updated.status_code == 200
    assert updated.json()["enable"] is False and updated.json()["name"] == "Mexc"

    assert admin_api.delete("/admin/grow/exchange/remove/mexc").json() == {"ok": True}
    assert not Exchange.objects.exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["exchange.create", "exchange.update", "exchange.remove"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"exchange_id": "Bad Id", "name": "x"}, 400),
        ({"exchange_id": "nosuch", "name": "x", "ccxt_id": "not-a-ccxt-exchange"}, 400),
        ({"exchange_id": "dup", "name": "x", "ccxt_id": "binance"}, 409),
    ],
)
def test_admin_exchange_add_validates(admin_api, body, status) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="dup")
    response = admin_api.post("/admin/grow/exchange/add", body, format="json")
    assert response.status_code == status
    assert Exchange.objects.count() == 1


def test_an_exchange_with_pairs_cannot_be_removed(admin_api) -> None:  # type: ignore[no-untyped-def]
    pair = MarketMakingPairFactory.create()
    response = admin_api.delete(f"/admin/grow/exchange/remove/{pair.exchange_id}")
    assert response.status_code == 409
    assert Exchange.objects.filter(exchange_id=pair.exchange_id).exists()
    assert (
        admin_api.post(
            f"/admin/grow/exchange/update/{pair.exchange_id}", {"exchange_id": "x"}, format="json"
        ).status_code
        == 400
    )
    assert admin_api.delete("/admin/grow/exchange/remove/unknown").status_code == 404


def test_admin_routes_need_an_admin_jwt(api, user_api) -> None:  # type: ignore[no-untyped-def]
    assert api.post("/admin/grow/exchange/add", {}, format="json").status_code == 401
    assert user_api.post("/admin/grow/exchange/add", {}, format="json").status_code == 403
    assert user_api.get("/admin/fee/global").status_code == 403
    assert not Exchange.objects.exists()


# ---------------------------------------------------------------------------- admin: pairs


def _pair_body(**extra: Any) -> dict[str, Any]:
    return {
        "exchange_id": "binance",
        "symbol": "HMT/USDT",
        "base_symbol": "HMT",
        "quote_symbol": "USDT",
        "base_asset_id": "30e340a7-3284-3f04-8594-fbdd8f2da79f",
        "base_icon_url": "https://icons.example/hmt.png",
        "base_chain_id": "43d61dcd-e413-450d-80b8-101d5e903357",
        "base_chain_icon_url": "",
        "quote_asset_id": "4d8c508b-91c5-375b-92b0-ee702ed2dac5",
        "quote_icon_url": "https://icons.example/usdt.png",
        "quote_chain_id": "",
        "quote_chain_icon_url": "",
        "base_price": "",
        "target_price": "",
        "custom_fee_rate": "",
        "enable": True,
        **extra,
    }


def test_admin_adds_a_pair_registering_its_assets(admin_api) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance")
    response = admin_api.post("/admin/grow/market-making/add", _pair_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    pair = MarketMakingPair.objects.get()
    assert body["id"] == str(pair.id)
    assert body["base_icon_url"] == "https://icons.example/hmt.png"
    assert body["base_chain_id"] == "43d61dcd-e413-450d-80b8-101d5e903357"
    assert body["quote_chain_id"] is None and body["custom_fee_rate"] is None
    assert Asset.objects.get(pk=pair.base_asset_id).symbol == "HMT"
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "asset.create",
        "mm_pair.create",
    }


def test_adding_a_pair_never_overwrites_the_registry(admin_api) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance")
    hmt = AssetFactory.create(
        asset_id=uuid.UUID("30e340a7-3284-3f04-8594-fbdd8f2da79f"), symbol="HMT", chain_icon_url=""
    )
    admin_api.post(
        "/admin/grow/market-making/add",
        _pair_body(base_chain_icon_url="https://icons.example/eth.png"),
        format="json",
    )
    hmt.refresh_from_db()
    assert hmt.icon_url == "https://icons.example/HMT.png"  # kept
    assert hmt.chain_icon_url == "https://icons.example/eth.png"  # blank was filled


def test_adding_the_same_pair_id_twice_is_idempotent(admin_api) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance")
    pair_id = str(uuid.uuid4())
    first = admin_api.post("/admin/grow/market-making/add", _pair_body(id=pair_id), format="json")
    again = admin_api.post("/admin/grow/market-making/add", _pair_body(id=pair_id), format="json")
    other = admin_api.post(
        "/admin/grow/market-making/add",
        _pair_body(id=pair_id, symbol="XIN/USDT", base_symbol="XIN"),
        format="json",
    )
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert other.status_code == 409
    assert MarketMakingPair.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"exchange_id": "nope"}, 404),
        ({"base_symbol": "BTC"}, 400),
        ({"symbol": "HMTUSDT"}, 400),
        ({"quote_asset_id": "30e340a7-3284-3f04-8594-fbdd8f2da79f"}, 400),
        ({"custom_fee_rate": "1.5"}, 400),
        ({"base_asset_id": "not-a-uuid"}, 400),
    ],
)
def test_admin_pair_add_validates(admin_api, extra, status) -> None:  # type: ignore[no-untyped-def]
    ExchangeFactory.create(exchange_id="binance")
    response = admin_api.post("/admin/grow/market-making/add", _pair_body(**extra), format="json")
    assert response.status_code == status, response.content
    assert not MarketMakingPair.objects.exists()


def test_admin_updates_a_pair_but_not_its_identity(admin_api) -> None:  # type: ignore[no-untyped-def]
    pair = MarketMakingPairFactory.create()
    url = f"/admin/grow/market-making/update/{pair.id}"
    response = admin_api.post(
        url,
        {"enable": False, "custom_fee_rate": "0.003", "base_icon_url": "https://i.example/n.png"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["enable"] is False and response.json()["custom_fee_rate"] == "0.003"
    assert response.json()["base_icon_url"] == "https://i.example/n.png"
    pair.refresh_from_db()
    assert pair.custom_fee_rate == Decimal("0.003") and pair.base_price is None  # untouched
    unchanged_identity = admin_api.post(url, {"symbol": pair.symbol, "enable": True}, format="json")
    assert unchanged_identity.status_code == 200
    moved = admin_api.post(url, {"symbol": "ZZZ/USDT"}, format="json")
    assert moved.status_code == 400
    assert (
        admin_api.post(
            f"/admin/grow/market-making/update/{uuid.uuid4()}", {}, format="json"
        ).status_code
        == 404
    )


def test_admin_removes_a_pair(admin_api) -> None:  # type: ignore[no-untyped-def]
    pair = MarketMakingPairFactory.create()
    assert admin_api.delete(f"/admin/grow/market-making/remove/{pair.id}").json() == {"ok": True}
    assert not MarketMakingPair.objects.exists()
    assert AuditEvent.objects.filter(action="mm_pair.remove", target_id=str(pair.id)).exists()


# ---------------------------------------------------------------------------- admin: fees


def test_global_fees_default_then_update(admin_api) -> None:  # type: ignore[no-untyped-def]
    assert admin_api.get("/admin/fee/global").json() == {
        "spot_fee": "0.001",
        "market_making_fee": "0.001",
        "enable_spot_fee": True,
        "enable_market_making_fee": True,
    }
    assert not FeeSettings.objects.exists()  # reading writes nothing
    response = admin_api.post(
        "/admin/fee/global",
        {"market_making_fee": "0.0025", "enable_spot_fee": False},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "spot_fee": "0.001",
        "market_making_fee": "0.0025",
        "enable_spot_fee": False,
        "enable_market_making_fee": True,
    }
    assert admin_api.get("/admin/fee/global").json() == response.json()
    assert AuditEvent.objects.get(action="fee_settings.update").payload["changed"] == {
        "market_making_fee": "0.0025",
        "enable_spot_fee": False,
    }


@pytest.mark.parametrize(
    "body", [{}, {"spot_fee": "1"}, {"market_making_fee": "-0.1"}, {"spot_fee": None}]
)
def test_global_fee_update_validates(admin_api, body) -> None:  # type: ignore[no-untyped-def]
    assert admin_api.post("/admin/fee/global", body, format="json").status_code == 400
    assert not FeeSettings.objects.exists()


def test_my_paths_are_in_the_openapi_schema(api) -> None:  # type: ignore[no-untyped-def]
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    paths = json.loads(out.getvalue())["paths"]
    for path in (
        "/grow/info", "/spot/info", "/market/ohlcv", "/market/supported-symbols", "/market/tickers",
        "/admin/exchanges/keys", "/admin/exchanges/keys/{key_id}", "/admin/exchanges/key-pair",
        "/admin/fee/global", "/admin/grow/market-making/add", "/admin/grow/market-making/update/{pair_id}",
        "/admin/grow/market-making/remove/{pair_id}", "/admin/grow/exchange/add",
        "/admin/grow/exchange/update/{exchange_id}", "/admin/grow/exchange/remove/{exchange_id}",
    ):  # fmt: skip
        assert path in paths, path


def test_a_gateway_that_cannot_be_built_is_a_503_not_a_500(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(**_: Any) -> Any:
        raise ModuleNotFoundError("no driver, secret-ish detail")

    services.gateway_cache_clear()
    monkeypatch.setattr(services.gateway_registry, "builder", broken)
    ExchangeFactory.create(exchange_id="binance")
    response = api.get("/market/tickers", {"exchange": "binance", "symbols": "BTC/USDT"})
    assert response.status_code == 503
    assert response.json()["error"] == "venue_misconfigured"
    assert "secret-ish" not in response.content.decode()
