"""Reads behind the admin catalog pages and `/market/tickers/pairs` (CONTRACT)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from exchanges.enums import ExchangeKind
from exchanges.models import (
    ArbitragePair,
    Exchange,
    MarketMakingPair,
    SimplyGrowToken,
    SpotPair,
)
from exchanges.selectors import _gateway, exchange_get, market_tickers_get
from mrmarket.exceptions import DomainError

# What the admin page shows of ccxt's `describe()`.
DESCRIBE_KEYS = ("id", "name", "countries", "version", "rateLimit", "certified", "pro", "urls")
# Capabilities the service uses (ccxt `has` keys), so the page tells what will work.
HAS_KEYS = (
    "fetchOrderBook",
    "fetchTicker",
    "fetchTickers",
    "fetchOHLCV",
    "createOrder",
    "cancelOrder",
    "fetchOrder",
    "fetchOpenOrders",
    "fetchMyTrades",
    "fetchBalance",
    "fetchDepositAddress",
    "fetchDeposits",
    "withdraw",
    "fetchWithdrawals",
)


def simply_grow_token_list() -> list[SimplyGrowToken]:
    return list(SimplyGrowToken.objects.all())


def arbitrage_pair_list() -> list[ArbitragePair]:
    return list(ArbitragePair.objects.select_related("base_asset", "quote_asset"))


def fee_override_list() -> list[dict[str, Any]]:
    """Pairs whose own fee rate overrides the global one."""
    rows: list[dict[str, Any]] = []
    for kind, model in (("spot", SpotPair), ("market_making", MarketMakingPair)):
        for pair in model.objects.filter(custom_fee_rate__isnull=False).order_by(
            "exchange_id", "symbol"
        ):
            rows.append(
                {
                    "type": kind,
                    "id": pair.pk,
                    "symbol": pair.symbol,
                    "exchange_id": pair.exchange_id,
                    "custom_fee_rate": pair.custom_fee_rate,
                }
            )
    return rows


def ccxt_supported_list() -> list[str]:
    """The ccxt exchange ids this service can drive (its pinned ccxt's list)."""
    # deferred: ccxt takes ~1.5 s to import; only this admin read and exchange writes need it.
    import ccxt

    return sorted(ccxt.exchanges)


def exchange_description(*, exchange_id: str) -> dict[str, Any]:
    exchange = exchange_get(exchange_id=exchange_id)
    if exchange.kind != ExchangeKind.CCXT:
        described: dict[str, Any] = {
            "id": exchange.exchange_id,
            "name": exchange.name,
            "countries": [],
            "version": None,
            "rateLimit": None,
            "certified": False,
            "pro": False,
            "urls": {},
            "has": {key: True for key in HAS_KEYS},
            "timeframes": [],
            "requiredCredentials": {},
        }
    else:
        # deferred: ccxt takes ~1.5 s to import (see ccxt_supported_list).
        import ccxt

        klass = getattr(ccxt, exchange.ccxt_id)
        raw = klass().describe()  # a class description: no network, no credentials
        described = {key: raw.get(key) for key in DESCRIBE_KEYS}
        described["countries"] = list(raw.get("countries") or [])
        described["certified"] = bool(raw.get("certified"))
        described["pro"] = bool(raw.get("pro"))
        described["has"] = {key: raw.get("has", {}).get(key) for key in HAS_KEYS}
        described["timeframes"] = sorted((raw.get("timeframes") or {}).keys())
        described["requiredCredentials"] = {
            k: bool(v) for k, v in (raw.get("requiredCredentials") or {}).items()
        }
        described["urls"] = {
            k: v for k, v in (raw.get("urls") or {}).items() if k in ("www", "doc", "fees", "logo")
        }
    return {"exchange_id": exchange.exchange_id, "kind": exchange.kind, **described}


def exchange_markets(*, exchange_id: str) -> list[Any]:
    """The venue's markets (`MarketInfo`), sorted by symbol; loads them through its gateway."""
    exchange = exchange_get(exchange_id=exchange_id)
    markets = _gateway(exchange).load_markets()
    return [markets[symbol] for symbol in sorted(markets)]


def ticker_pairs_list() -> list[dict[str, Any]]:
    """`/market/tickers/pairs`: one ticker row per configured, enabled spot and MM pair.

    One cached `fetch_tickers` per venue; a venue that fails gives its rows `error` and
    null prices instead of failing the whole answer."""
    wanted: dict[str, dict[str, str]] = defaultdict(dict)
    for kind, model in (("spot", SpotPair), ("market_making", MarketMakingPair)):
        for pair in model.objects.filter(enable=True, exchange__enable=True).order_by(
            "exchange_id", "symbol"
        ):
            wanted[pair.exchange_id].setdefault(pair.symbol, kind)
    rows: list[dict[str, Any]] = []
    for exchange_id in sorted(wanted):
        symbols = wanted[exchange_id]
        try:
            tickers = market_tickers_get(exchange_id=exchange_id, symbols=sorted(symbols))
            error = None
        except DomainError as exc:
            tickers, error = {}, exc.message
        for symbol in sorted(symbols):
            ticker = tickers.get(symbol) or {}
            rows.append(
                {
                    "exchange": exchange_id,
                    "symbol": symbol,
                    "type": symbols[symbol],
                    "timestamp": ticker.get("timestamp"),
                    "datetime": ticker.get("datetime"),
                    "bid": ticker.get("bid"),
                    "ask": ticker.get("ask"),
                    "last": ticker.get("last"),
                    "close": ticker.get("close"),
                    "baseVolume": ticker.get("baseVolume"),
                    "quoteVolume": ticker.get("quoteVolume"),
                    "error": error or (None if ticker else f"{symbol} has no ticker"),
                }
            )
    return rows


def exchange_list_configured() -> list[Exchange]:
    return list(Exchange.objects.all())
