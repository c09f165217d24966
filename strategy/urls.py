from django.urls import path

from strategy import apis

urlpatterns = [
    path("strategy/running", apis.StrategyRunningApi.as_view(), name="strategy-running"),
    path("strategy/all-strategies", apis.StrategyAllApi.as_view(), name="strategy-all"),
    path(
        "strategy/intents/by-client",
        apis.StrategyIntentsByClientApi.as_view(),
        name="strategy-intents-by-client",
    ),
    path(
        "strategy/execute-pure-market-making",
        apis.StrategyExecutePureMarketMakingApi.as_view(),
        name="strategy-execute-pmm",
    ),
    path(
        "strategy/stop-marketmaking",
        apis.StrategyStopMarketMakingApi.as_view(),
        name="strategy-stop-pmm",
    ),
    path(
        "strategy/execute-arbitrage",
        apis.StrategyExecuteArbitrageApi.as_view(),
        name="strategy-execute-arbitrage",
    ),
    path(
        "strategy/stop-arbitrage",
        apis.StrategyStopArbitrageApi.as_view(),
        name="strategy-stop-arbitrage",
    ),
    path("admin/strategy/start", apis.AdminStrategyStartApi.as_view(), name="admin-strategy-start"),
    path("admin/strategy/stop", apis.AdminStrategyStopApi.as_view(), name="admin-strategy-stop"),
]
