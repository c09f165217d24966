"""The CoinGecko client behind /coingecko/...: CoinGecko's shapes, cached, rate-limited."""

from __future__ import annotations

import pytest

from exchanges.coingecko import CoinGeckoClient
from exchanges.venues.ratelimit import FileBackend, VenueLimits, VenueRateLimiter, Window
from standins.coingecko import CoinGeckoStandIn

pytestmark = pytest.mark.django_db
NOW = 1_750_100_000.0


@pytest.fixture
def coingecko(settings):  # type: ignore[no-untyped-def]
    server = CoinGeckoStandIn(clock=lambda: NOW, rate_per_minute=None)
    with server:
        settings.COINGECKO_API_BASE = server.api_base
        yield server


def _upstream_calls(server: CoinGeckoStandIn) -> list[str]:
    return [r.path for r in server.requests]


def test_coin_pages_pass_coingecko_shapes_through(api, coingecko) -> None:
    coin = api.get("/coingecko/coins/bitcoin").json()
    assert (coin["id"], coin["symbol"], coin["name"]) == ("bitcoin", "btc", "Bitcoin")
    assert isinstance(coin["market_data"]["current_price"]["usd"], float)
    rows = api.get("/coingecko/coins/markets/usd", {"page": 1, "per_page": 2}).json()
    assert [r["market_cap_rank"] for r in rows] == [1, 2]
    assert rows[0]["id"] == "bitcoin"
    layer1 = api.get("/coingecko/coins/markets/usd/category/layer-1", {"per_page": 50}).json()
    assert {r["id"] for r in layer1} == {"bitcoin", "ethereum", "mixin"}
    chart = api.get("/coingecko/coins/ethereum/market_chart", {"days": 1}).json()
    # 5-minutely within one day (NOW is off the grid: 288 grid points), plus "now"
    assert len(chart["prices"]) == 288 + 1
    assert chart["prices"][-1][0] == int(NOW * 1000)
    ranged = api.get(
        "/coingecko/coins/ethereum/market_chart/range",
        {"from": int(NOW) - 10 * 86400, "to": int(NOW), "vs_currency": "eur"},
    ).json()
    steps = {b[0] - a[0] for a, b in zip(ranged["prices"], ranged["prices"][1:], strict=False)}
    assert steps == {3_600_000}  # hourly between 1 and 90 days


def test_many_readers_of_one_page_cost_one_upstream_call(api, coingecko) -> None:
    for _ in range(5):
        assert api.get("/coingecko/coins/markets/usd", {"per_page": 3}).status_code == 200
    assert _upstream_calls(coingecko) == ["/api/v3/coins/markets"]
    api.get("/coingecko/coins/markets/usd", {"per_page": 4})
    assert len(_upstream_calls(coingecko)) == 2  # another query is another page


def test_unknown_coin_is_a_json_404_and_not_cached(api, coingecko) -> None:
    for _ in range(2):
        response = api.get("/coingecko/coins/no-such-coin")
        assert response.status_code == 404
        assert response.json() == {
            "statusCode": 404,
            "message": "coin not found",
            "error": "coin_not_found",
        }
    assert len(_upstream_calls(coingecko)) == 2


def test_malformed_ids_never_reach_coingecko(api, coingecko) -> None:
    assert api.get("/coingecko/coins/BAD_ID!").status_code == 400
    assert api.get("/coingecko/coins/markets/usd", {"per_page": 999}).status_code == 400
    assert (
        api.get("/coingecko/coins/bitcoin/market_chart/range", {"from": 5, "to": 1}).status_code
        == 400
    )
    assert _upstream_calls(coingecko) == []


def test_a_429_blocks_every_caller_for_its_retry_after(settings, tmp_path) -> None:
    server = CoinGeckoStandIn(clock=lambda: NOW, rate_per_minute=1)
    slept: list[float] = []
    limiter = VenueRateLimiter(
        backend=FileBackend(tmp_path),
        overrides={"coingecko": VenueLimits(ip_weight=Window(1000, 1), orders=())},
        sleep=slept.append,
    )
    with server:
        client = CoinGeckoClient(base_url=server.api_base, limiter=limiter)
        client.coin(coin_id="bitcoin")
        from exchanges.coingecko import CoinGeckoUnavailable

        with pytest.raises(CoinGeckoUnavailable):
            client.coin(coin_id="ethereum")  # the stand-in's minute is used up: 429
        calls = len(server.requests)
        with pytest.raises(CoinGeckoUnavailable):
            client.coin(coin_id="tether")  # blocked for Retry-After: not even sent
        assert len(server.requests) == calls


def test_the_limiter_spaces_calls_at_the_configured_rate(settings, tmp_path) -> None:
    settings.COINGECKO_CALLS_PER_MINUTE = 30
    slept: list[float] = []
    from exchanges.coingecko import _limiter

    limiter = _limiter()
    limiter = VenueRateLimiter(
        backend=FileBackend(tmp_path), overrides=limiter.overrides, sleep=slept.append
    )
    for _ in range(3):
        limiter.acquire(venue="coingecko", account="-", max_wait=60)
    # 30 a minute with the 0.97 safety margin: about 2.06 s apart after the first
    assert slept and all(1.9 < s < 4.3 for s in slept)
