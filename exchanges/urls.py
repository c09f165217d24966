"""exchanges routes: CONTRACT.md's paths, no trailing slash."""

from django.urls import path

from exchanges import apis

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
]
