"""exchanges routes: CONTRACT.md's paths, no trailing slash."""

from django.urls import path

from exchanges import apis, catalog_apis
from exchanges import coingecko_apis as cg

urlpatterns = [
    path("grow/info", apis.GrowInfoApi.as_view(), name="grow-info"),
    path("spot/info", apis.SpotInfoApi.as_view(), name="spot-info"),
    path("market/ohlcv", apis.MarketOhlcvApi.as_view(), name="market-ohlcv"),
    path(
        "market/supported-symbols",
        apis.MarketSupportedSymbolsApi.as_view(),
        name="market-supported-symbols",
    ),
    path("market/tickers", apis.MarketTickersApi.as_view(), name="market-tickers"),
    path(
        "market/tickers/pairs",
        catalog_apis.MarketTickerPairsApi.as_view(),
        name="market-tickers-pairs",
    ),
    path("admin/exchanges/key-pair", apis.ExchangeKeyPairApi.as_view(), name="admin-key-pair"),
    path("admin/exchanges/keys", apis.ExchangeKeysApi.as_view(), name="admin-exchange-keys"),
    path(
        "admin/exchanges/keys/<int:key_id>",
        apis.ExchangeKeyRemoveApi.as_view(),
        name="admin-exchange-key-remove",
    ),
    path("admin/fee/global", apis.FeeGlobalApi.as_view(), name="admin-fee-global"),
    path(
        "admin/grow/market-making/add",
        apis.MarketMakingPairAddApi.as_view(),
        name="admin-mm-pair-add",
    ),
    path(
        "admin/grow/market-making/update/<uuid:pair_id>",
        apis.MarketMakingPairUpdateApi.as_view(),
        name="admin-mm-pair-update",
    ),
    path(
        "admin/grow/market-making/remove/<uuid:pair_id>",
        apis.MarketMakingPairRemoveApi.as_view(),
        name="admin-mm-pair-remove",
    ),
    path("admin/grow/exchange/add", apis.ExchangeAddApi.as_view(), name="admin-exchange-add"),
    path(
        "admin/grow/exchange/update/<str:exchange_id>",
        apis.ExchangeUpdateApi.as_view(),
        name="admin-exchange-update",
    ),
    path(
        "admin/grow/exchange/remove/<str:exchange_id>",
        apis.ExchangeRemoveApi.as_view(),
        name="admin-exchange-remove",
    ),
    # Catalogs and admin reads (exchanges.catalog_apis). "remove-all" before "remove/<id>".
    path(
        "admin/grow/exchange/remove-all",
        catalog_apis.ExchangeRemoveAllApi.as_view(),
        name="admin-exchange-remove-all",
    ),
    path(
        "admin/grow/market-making/remove-all",
        catalog_apis.MarketMakingPairRemoveAllApi.as_view(),
        name="admin-mm-pair-remove-all",
    ),
    path(
        "admin/grow/exchange/supported",
        catalog_apis.ExchangeSupportedApi.as_view(),
        name="admin-exchange-supported",
    ),
    path(
        "admin/grow/exchange/ccxt-supported",
        catalog_apis.ExchangeCcxtSupportedApi.as_view(),
        name="admin-exchange-ccxt-supported",
    ),
    path(
        "admin/grow/exchange/details/<str:exchange_id>",
        catalog_apis.ExchangeDetailsApi.as_view(),
        name="admin-exchange-details",
    ),
    path(
        "admin/grow/exchange/markets/<str:exchange_id>",
        catalog_apis.ExchangeMarketsApi.as_view(),
        name="admin-exchange-markets",
    ),
    path("admin/fee/overrides", catalog_apis.FeeOverridesApi.as_view(), name="admin-fee-overrides"),
]

# CoinGecko (CONTRACT "Also called by the frontend"): CoinGecko's shapes, cached.
urlpatterns += [
    path(
        "coingecko/coins/markets/<str:vs>/category/<str:category>",
        cg.CoinGeckoMarketsCategoryApi.as_view(),
        name="coingecko-markets-category",
    ),
    path(
        "coingecko/coins/markets/<str:vs>",
        cg.CoinGeckoMarketsApi.as_view(),
        name="coingecko-markets",
    ),
    path(
        "coingecko/coins/<str:coin_id>/market_chart/range",
        cg.CoinGeckoChartRangeApi.as_view(),
        name="coingecko-chart-range",
    ),
    path(
        "coingecko/coins/<str:coin_id>/market_chart",
        cg.CoinGeckoChartApi.as_view(),
        name="coingecko-chart",
    ),
    path("coingecko/coins/<str:coin_id>", cg.CoinGeckoCoinApi.as_view(), name="coingecko-coin"),
]

_CATALOGS = [
    ("admin/grow/simply-grow", "asset_id", "uuid", "SimplyGrow"),
    ("admin/grow/arbitrage", "pair_id", "uuid", "Arbitrage"),
    ("admin/spot/trading-pair", "pair_id", "uuid", "SpotPair"),
]
for _prefix, _key, _conv, _name in _CATALOGS:
    _slug = _prefix.rsplit("/", 1)[1]
    urlpatterns += [
        path(
            f"{_prefix}/add",
            getattr(catalog_apis, f"{_name}AddApi").as_view(),
            name=f"admin-{_slug}-add",
        ),
        path(
            f"{_prefix}/update/<{_conv}:{_key}>",
            getattr(catalog_apis, f"{_name}UpdateApi").as_view(),
            name=f"admin-{_slug}-update",
        ),
        path(
            f"{_prefix}/remove/<{_conv}:pk>",
            getattr(catalog_apis, f"{_name}RemoveApi").as_view(),
            name=f"admin-{_slug}-remove",
        ),
        path(
            f"{_prefix}/remove-all",
            getattr(catalog_apis, f"{_name}RemoveAllApi").as_view(),
            name=f"admin-{_slug}-remove-all",
        ),
    ]
