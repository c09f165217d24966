"""CONTRACT.md as a table: every route the frontend calls, who may call it, what it answers,
and every field the UI reads with its type. `test_contract_walk` calls each one.

Field specs: a dotted path into the JSON answer (`[]` steps into every item of a list,
`*` into every value of a map) and a type: `str`, `int`, `bool`, `list`, `dict`, `dec`
(a decimal string), `time` (ISO-8601 UTC), `num|dec` (a number or a decimal string); a
trailing `?` allows null. `{name}` in a path is filled from the walk's world (ids of the
order, the pairs, ...). `body` is sent as JSON; `query` as the query string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # CONTRACT's path, with {placeholders}
    auth: str  # "public" | "user" | "admin"
    status: int
    fields: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    order: int = 0  # destructive calls go last (higher runs later)
    capture: dict[str, str] = field(default_factory=dict)  # world name <- field of the answer


MM_PAIR = {
    f"{p}": t
    for p, t in {
        "id": "str",
        "symbol": "str",
        "base_symbol": "str",
        "quote_symbol": "str",
        "base_asset_id": "str",
        "base_icon_url": "str",
        "base_chain_id": "str?",
        "base_chain_icon_url": "str",
        "quote_asset_id": "str",
        "quote_icon_url": "str",
        "quote_chain_id": "str?",
        "quote_chain_icon_url": "str",
        "base_price": "dec?",
        "target_price": "dec?",
        "exchange_id": "str",
        "custom_fee_rate": "dec?",
        "enable": "bool",
    }.items()
}
ORDER = {
    "orderId": "str",
    "userId": "str",
    "pair": "str",
    "exchangeName": "str",
    "state": "str",
    "createdAt": "time",
    "bidSpread": "dec?",
    "askSpread": "dec?",
    "orderAmount": "dec?",
    "orderRefreshTime": "int?",
    "numberOfLayers": "int?",
    "priceSourceType": "str?",
    "amountChangePerLayer": "dec?",
    "amountChangeType": "str?",
    "ceilingPrice": "dec?",
    "floorPrice": "dec?",
    "balanceA": "dec",
    "balanceB": "dec",
    "rewardAddress": "str",
    "amount": "dec?",
    "profit": "dec?",
    "target": "dec?",
}
PAYMENT = {
    "orderId": "str",
    "userId": "str",
    "type": "str",
    "state": "str",
    "symbol": "str",
    "baseAssetId": "str",
    "baseAssetAmount": "dec",
    "baseAssetSnapshotId": "str?",
    "quoteAssetId": "str",
    "quoteAssetAmount": "dec",
    "quoteAssetSnapshotId": "str?",
    "baseFeeAssetId": "str",
    "baseFeeAssetAmount": "dec",
    "quoteFeeAssetId": "str",
    "quoteFeeAssetAmount": "dec",
    "requiredBaseWithdrawalFee": "dec",
    "requiredQuoteWithdrawalFee": "dec",
    "requiredStrategyFeePercentage": "dec",
    "createdAt": "time",
    "updatedAt": "time",
}
QUEUE = {k: "int" for k in ("waiting", "active", "completed", "failed", "delayed")}
SESSION = {"id": "int", "strategyKey": "str", "clientId": "str", "pair": "str", "status": "str"}
TOKEN = {
    "asset_id": "str",
    "name": "str",
    "symbol": "str",
    "icon_url": "str",
    "apy": "dec",
    "enable": "bool",
}
ARB = {
    "id": "str",
    "symbol": "str",
    "base_symbol": "str",
    "quote_symbol": "str",
    "base_asset_id": "str",
    "base_icon_url": "str",
    "quote_asset_id": "str",
    "quote_icon_url": "str",
    "base_price": "dec?",
    "target_price": "dec?",
    "base_exchange_id": "str",
    "target_exchange_id": "str",
    "enable": "bool",
}
TICKER = {"symbol": "str", "timestamp": "int", "bid": "dec?", "ask": "dec?", "last": "dec?"}
FEE_QUOTE = {
    k: "str"
    for k in (
        "base_asset_id",
        "quote_asset_id",
        "base_fee_id",
        "quote_fee_id",
        "base_fee_symbol",
        "quote_fee_symbol",
        "direction",
    )
} | {
    k: "dec"
    for k in (
        "base_fee_amount",
        "quote_fee_amount",
        "base_fee_price_usd",
        "quote_fee_price_usd",
        "base_asset_price_usd",
        "quote_asset_price_usd",
        "market_making_fee_percentage",
    )
}


def _prefixed(prefix: str, spec: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}{k}": v for k, v in spec.items()}


MM = "/user-orders/market-making"
ROUTES: list[Route] = [
    # ---------------------------------------------------------------- public / app
    Route(
        "GET",
        "/",
        "public",
        200,
        {
            "mixin_app_id": "str",
            "app_hash": "str",
            "recording_oracle_url": "str",
            "campaign_launcher_url": "str",
            "timestamp": "time",
        },
    ),
    Route("GET", "/docs", "public", 200),
    Route("POST", "/auth/login", "public", 200, {"access_token": "str"}, body={"password": "{pw}"}),
    Route("GET", "/auth/oauth", "public", 200, {"token": "str"}, query={"code": "{oauth_code}"}),
    Route(
        "GET",
        "/health",
        "public",
        200,
        {"ok": "bool", "timestamp": "time", "exchanges[].name": "str", "exchanges[].status": "str"},
    ),
    Route("GET", "/health/ping", "public", 200),
    Route(
        "GET",
        "/health/system-status",
        "public",
        # The walk's world runs no worker and no beat: health says so honestly (503 with
        # the same body the admin widget reads; 200 when every part is up).
        503,
        {
            "timestamp": "time",
            "ok": "bool",
            "queues": "dict",
            "tick.running": "bool",
            "tick.tickSizeMs": "int",
            "tick.lastTickAtMs": "int?",
            "tick.lastTickAt": "time?",
            "tick.tickCount": "int",
            "tick.recentlyTicked": "bool",
            "issues": "list",
        }
        | _prefixed("queues.snapshots.", QUEUE)
        | _prefixed("queues.marketMaking.", QUEUE),
    ),
    Route(
        "GET",
        "/grow/info",
        "public",
        200,
        {"exchanges[].exchange_id": "str", "exchanges[].name": "str"}
        | _prefixed("simply_grow.tokens[].", TOKEN)
        | _prefixed("arbitrage.pairs[].", ARB)
        | _prefixed("market_making.pairs[].", MM_PAIR)
        | {"market_making.exchanges[].exchange_id": "str"},
    ),
    Route("GET", "/spot/info", "public", 200, _prefixed("trading_pairs[].", MM_PAIR)),
    Route(
        "GET",
        "/fees/market-making/fee",
        "public",
        200,
        FEE_QUOTE,
        query={"exchange": "paper", "pair": "BTC/USDT", "direction": "deposit_to_exchange"},
    ),
    Route(
        "GET",
        "/market/ohlcv",
        "public",
        200,
        {"[]": "list"},
        query={"exchange": "paper", "symbol": "BTC/USDT", "timeframe": "1m", "limit": "5"},
    ),
    Route(
        "GET",
        "/market/supported-symbols",
        "public",
        200,
        {"[]": "str"},
        query={"exchange": "paper"},
    ),
    Route(
        "GET",
        "/market/tickers",
        "public",
        200,
        _prefixed("*.", TICKER),
        query={"exchange": "paper", "symbols": "BTC/USDT,ETH/USDT"},
    ),
    # ---------------------------------------------------------------- user orders
    Route(
        "POST",
        f"{MM}/intent",
        "user",
        200,
        {"orderId": "str", "memo": "str", "expiresAt": "time"},
        body={"marketMakingPairId": "{pair_id}"},
    ),
    Route(
        "GET",
        "/user-orders/payment-state/market-making/{order_id}",
        "user",
        200,
        {"code": "int", "message": "str"} | _prefixed("data.", PAYMENT),
    ),
    Route("GET", f"{MM}/all", "user", 200, _prefixed("[].", ORDER), query={"userId": "{user_id}"}),
    Route(
        "GET",
        "/user-orders/all",
        "user",
        200,
        {"simply_grow": "list", "total": "int"} | _prefixed("market_making[].", ORDER),
        query={"userId": "{user_id}"},
    ),
    Route("GET", f"{MM}/{{order_id}}", "user", 200, ORDER),
    Route("POST", f"{MM}/{{order_id}}/pause", "user", 200, {"ok": "bool"}, order=1),
    Route("POST", f"{MM}/{{order_id}}/resume", "user", 200, {"ok": "bool"}, order=2),
    Route("POST", f"{MM}/{{order_id}}/stop", "user", 200, {"ok": "bool"}, order=3),
    Route("POST", f"{MM}/{{order_id}}/exit-withdrawal", "user", 200, {"ok": "bool"}, order=4),
    Route(
        "GET",
        f"{MM}/history/instance/{{order_id}}",
        "user",
        200,
        {"[].amount": "dec", "[].price": "dec", "[].side": "str", "[].status": "str"}
        | {"[].executedAt": "time"},
    ),
    Route(
        "GET",
        f"{MM}/lifecycle/{{order_id}}",
        "user",
        200,
        {
            "ok": "bool",
            "orderId": "str",
            "strategyKey": "str",
            "intents": "list",
            "openOrders": "list",
            "history": "list",
            "trades": "list",
            "ledgerEntries": "list",
            "outboxSummary.total": "int",
            "outboxSummary.topicCounts": "dict",
            "outboxSummary.firstCreatedAt": "time?",
            "outboxSummary.lastCreatedAt": "time?",
            "outbox": "list",
        },
    ),
    Route(
        "GET",
        "/metrics/execution-report",
        "user",
        200,
        {
            "orderId": "str",
            "from": "time?",
            "to": "time?",
            "totals.trades": "int",
            "totals.volume": "dec",
            "totals.buyVolume": "dec",
            "totals.sellVolume": "dec",
            "byDay": "list",
            "facts.source": "str",
            "facts.fields": "list",
            "facts.sample": "list",
        },
        query={"orderId": "{order_id}"},
    ),
    # ---------------------------------------------------------------- strategy
    Route("GET", "/strategy/running", "admin", 200, _prefixed("[].", SESSION)),
    Route("GET", "/strategy/all-strategies", "admin", 200, _prefixed("[].", SESSION)),
    Route(
        "GET",
        "/strategy/intents/by-client",
        "user",
        200,
        {"[]": "dict"},
        query={"clientId": "{order_id}", "limit": "10"},
    ),
    Route(
        "POST",
        "/strategy/execute-pure-market-making",
        "admin",
        200,
        {"ok": "bool"} | _prefixed("session.", SESSION),
        body={"$dto": "pmm"},
    ),
    Route(
        "GET",
        "/strategy/stop-marketmaking",
        "admin",
        200,
        {"ok": "bool"},
        query={"clientId": "walk-pmm", "userId": "{operator_id}"},
        order=1,
    ),
    Route(
        "POST",
        "/strategy/execute-arbitrage",
        "admin",
        200,
        {"ok": "bool"} | _prefixed("session.", SESSION),
        body={"$dto": "arbitrage"},
        capture={"session_id": "session.id"},
    ),
    Route(
        "GET",
        "/strategy/stop-arbitrage",
        "admin",
        200,
        {"ok": "bool"},
        query={"clientId": "walk-arb", "userId": "{operator_id}"},
        order=4,
    ),
    # ---------------------------------------------------------------- admin
    Route(
        "GET",
        "/admin/exchanges/keys",
        "admin",
        200,
        {"[].key_id": "int", "[].exchange": "str", "[].name": "str", "[].api_secret": "str"},
    ),
    Route(
        "POST",
        "/admin/exchanges/keys",
        "admin",
        201,
        {"key_id": "int"},
        body={"$dto": "key"},
        capture={"key_id": "key_id"},
    ),
    Route("DELETE", "/admin/exchanges/keys/{key_id}", "admin", 200, {"ok": "bool"}, order=5),
    Route("GET", "/admin/exchanges/key-pair", "admin", 200, {"publicKey": "str"}),
    Route(
        "GET",
        "/admin/fee/global",
        "admin",
        200,
        {
            "spot_fee": "dec",
            "market_making_fee": "dec",
            "enable_spot_fee": "bool",
            "enable_market_making_fee": "bool",
        },
    ),
    Route(
        "POST", "/admin/fee/global", "admin", 200, {"spot_fee": "dec"}, body={"spot_fee": "0.002"}
    ),
    Route(
        "POST",
        "/admin/grow/market-making/add",
        "admin",
        201,
        MM_PAIR,
        body={"$dto": "mm"},
        capture={"new_mm_id": "id"},
    ),
    Route(
        "POST",
        "/admin/grow/market-making/update/{new_mm_id}",
        "admin",
        200,
        MM_PAIR,
        body={"custom_fee_rate": "0.002"},
    ),
    Route(
        "DELETE",
        "/admin/grow/market-making/remove/{new_mm_id}",
        "admin",
        200,
        {"ok": "bool"},
        order=6,
    ),
    Route(
        "POST",
        "/admin/grow/exchange/add",
        "admin",
        201,
        {"exchange_id": "str", "name": "str", "enable": "bool"},
        body={"exchange_id": "walkx", "name": "Walk", "kind": "paper"},
    ),
    Route(
        "POST",
        "/admin/grow/exchange/update/{new_exchange}",
        "admin",
        200,
        {"exchange_id": "str", "name": "str"},
        body={"name": "Walk two"},
    ),
    Route(
        "DELETE",
        "/admin/grow/exchange/remove/{new_exchange}",
        "admin",
        200,
        {"ok": "bool"},
        order=7,
    ),
    Route(
        "GET",
        "/admin/ledger",
        "admin",
        200,
        {"ok": "bool", "entries": "list"},
        query={"orderId": "{order_id}"},
    ),
    Route(
        "GET",
        "/admin/outbox",
        "admin",
        200,
        {"ok": "bool", "events[].topic": "str", "events[].toState": "str"},
        query={"orderId": "{order_id}"},
    ),
    Route(
        "POST",
        "/admin/strategy/stop",
        "admin",
        200,
        {"ok": "bool"},
        body={"sessionId": "{session_id}", "reason": "contract walk"},
        order=2,
    ),
    Route(
        "POST",
        "/admin/strategy/start",
        "admin",
        200,
        {"ok": "bool"},
        body={"sessionId": "{session_id}", "reason": "contract walk"},
        order=1,
    ),
    Route(
        "GET",
        "/admin/fee/overrides",
        "admin",
        200,
        {"[].type": "str", "[].id": "str", "[].symbol": "str", "[].custom_fee_rate": "dec"},
    ),
    Route(
        "GET",
        "/admin/grow/exchange/supported",
        "admin",
        200,
        {"[].exchange_id": "str", "[].name": "str"},
    ),
    Route("GET", "/admin/grow/exchange/ccxt-supported", "admin", 200, {"[]": "str"}),
    Route(
        "GET",
        "/admin/grow/exchange/details/{venue}",
        "admin",
        200,
        {"id": "str", "name": "str", "has": "dict", "timeframes": "list"},
    ),
    Route(
        "GET",
        "/admin/grow/exchange/markets/{venue}",
        "admin",
        200,
        {"[].symbol": "str", "[].base": "str", "[].quote": "str", "[].active": "bool"},
    ),
    Route(
        "DELETE",
        "/admin/grow/exchange/remove-all",
        "admin",
        409,
        {"statusCode": "int", "message": "str", "error": "str"},
        order=8,
    ),
    Route(
        "DELETE",
        "/admin/grow/market-making/remove-all",
        "admin",
        409,
        {"statusCode": "int", "message": "str", "error": "str"},
        order=8,
    ),
    Route(
        "POST",
        "/admin/grow/simply-grow/add",
        "admin",
        201,
        TOKEN,
        body={"$dto": "token"},
        capture={"token_id": "asset_id"},
    ),
    Route(
        "POST",
        "/admin/grow/simply-grow/update/{token_id}",
        "admin",
        200,
        TOKEN,
        body={"apy": "0.07"},
    ),
    Route(
        "DELETE",
        "/admin/grow/simply-grow/remove/{token_id}",
        "admin",
        200,
        {"ok": "bool"},
        order=6,
    ),
    Route(
        "DELETE",
        "/admin/grow/simply-grow/remove-all",
        "admin",
        200,
        {"ok": "bool", "removed": "int"},
        order=9,
    ),
    Route(
        "POST",
        "/admin/grow/arbitrage/add",
        "admin",
        201,
        ARB,
        body={"$dto": "arb"},
        capture={"arb_id": "id"},
    ),
    Route(
        "POST",
        "/admin/grow/arbitrage/update/{arb_id}",
        "admin",
        200,
        ARB,
        body={"enable": False},
    ),
    Route("DELETE", "/admin/grow/arbitrage/remove/{arb_id}", "admin", 200, {"ok": "bool"}, order=6),
    Route(
        "DELETE",
        "/admin/grow/arbitrage/remove-all",
        "admin",
        200,
        {"ok": "bool", "removed": "int"},
        order=9,
    ),
    Route(
        "POST",
        "/admin/spot/trading-pair/add",
        "admin",
        201,
        MM_PAIR,
        body={"$dto": "spot"},
        capture={"spot_id": "id"},
    ),
    Route(
        "POST",
        "/admin/spot/trading-pair/update/{spot_id}",
        "admin",
        200,
        MM_PAIR,
        body={"custom_fee_rate": "0.003"},
    ),
    Route(
        "DELETE", "/admin/spot/trading-pair/remove/{spot_id}", "admin", 200, {"ok": "bool"}, order=6
    ),
    Route(
        "DELETE",
        "/admin/spot/trading-pair/remove-all",
        "admin",
        200,
        {"ok": "bool", "removed": "int"},
        order=9,
    ),
    # ---------------------------------------------------------------- also called by the frontend
    Route(
        "GET",
        "/market/tickers/pairs",
        "public",
        200,
        {"[].exchange": "str", "[].symbol": "str", "[].last": "dec?", "[].bid": "dec?"},
    ),
    Route(
        "GET",
        "/coingecko/coins/{coin}",
        "public",
        200,
        {"id": "str", "symbol": "str", "name": "str", "market_data.current_price": "dict"},
    ),
    Route(
        "GET",
        "/coingecko/coins/markets/{vs}",
        "public",
        200,
        {"[].id": "str", "[].symbol": "str", "[].current_price": "num|dec?", "[].image": "str"},
        query={"page": "1", "per_page": "5"},
    ),
    Route(
        "GET",
        "/coingecko/coins/markets/{vs}/category/{category}",
        "public",
        200,
        {"[].id": "str", "[].current_price": "num|dec?"},
        query={"page": "1", "per_page": "5"},
    ),
    Route(
        "GET",
        "/coingecko/coins/{coin}/market_chart",
        "public",
        200,
        {"prices": "list", "market_caps": "list", "total_volumes": "list"},
        query={"days": "1", "vs_currency": "usd"},
    ),
    Route(
        "GET",
        "/coingecko/coins/{coin}/market_chart/range",
        "public",
        200,
        {"prices": "list", "market_caps": "list", "total_volumes": "list"},
        query={"from": "{chart_from}", "to": "{chart_to}", "vs_currency": "usd"},
    ),
]

# Socket events of CONTRACT "Market data socket": what the client emits, what it receives.
SOCKET_CLIENT_EVENTS = [
    "subscribeOrderBook",
    "subscribeOHLCV",
    "subscribeTicker",
    "subscribeTickers",
    "unsubscribeData",
]
SOCKET_SERVER_EVENTS = [
    "connected",
    "orderBookData",
    "OHLCVData",
    "tickerData",
    "tickersData",
    "error",
]
