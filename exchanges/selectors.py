"""exchanges: reads. Market data goes through the venue gateway behind a short shared cache.

Market-data cache. The UI polls tickers every few seconds from every open tab; a venue must
not see one request per poll. Each answer is kept in the Django cache (Redis in production,
so shared by every web process) for the exchange's `*_cache_seconds`. On a miss only one
caller fetches (a `cache.add` lock, atomic on Redis); the others wait briefly for its answer.
A venue failure is cached too, for `ERROR_CACHE_SECONDS`, so a failing venue is not hammered
either. Cached values are the rendered JSON (decimal strings), never gateway objects.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet

from exchanges.enums import ExchangeKind, VenueHealth
from exchanges.exceptions import (
    ExchangeNotFound,
    PairNotFound,
    SymbolNotListed,
    VenueBadGateway,
    VenueRequestUnsupported,
    VenueTemporarilyUnavailable,
)
from exchanges.models import (
    ArbitragePair,
    Asset,
    AssetNetwork,
    Exchange,
    FeeSettings,
    MarketMakingPair,
    SimplyGrowToken,
    SpotPair,
    VenueAccount,
)
from exchanges.services.gateways import venue_gateway_get
from exchanges.venues.base import RetryableVenueError, UnsupportedRequest, VenueError
from exchanges.venues.profiles import profile_for
from mrmarket.money import money_str

log = structlog.get_logger(__name__)

CACHE_PREFIX = "exchanges:md"
# How long one caller may hold the fetch lock, and how long the others wait for its answer.
LOCK_SECONDS = 10
WAIT_SECONDS = 3.0
WAIT_STEP_SECONDS = 0.05
# A venue error is served from the cache this long, so a burst during an outage is one request.
ERROR_CACHE_SECONDS = 2
# /health probes a venue at most this often (the last outcome is served in between).
HEALTH_PROBE_SECONDS = 60
HEALTH_KEY = "exchanges:health"

# ccxt's common timeframes (the unified set every exchange maps from).
TIMEFRAMES = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)  # fmt: skip
OHLCV_MAX_LIMIT = 1000
OHLCV_DEFAULT_LIMIT = 200


decimal_str = money_str  # the project-wide formatter, under the name this app's callers use


# ---------------------------------------------------------------------------- registry


def exchange_get(*, exchange_id: str, enabled_only: bool = False) -> Exchange:
    qs = Exchange.objects.filter(exchange_id=exchange_id)
    if enabled_only:
        qs = qs.filter(enable=True)
    exchange = qs.first()
    if exchange is None:
        suffix = " or is disabled" if enabled_only else ""
        raise ExchangeNotFound(f"exchange {exchange_id!r} does not exist{suffix}.")
    return exchange


def exchange_list() -> QuerySet[Exchange]:
    return Exchange.objects.all()


def venue_wallets_split(*, exchange: Exchange) -> bool:
    """Whether the venue keeps deposits and withdrawals (its funding wallet) apart from
    trading: the profile's data (what the gateway's `needs_internal_transfer()` answers),
    read without building a gateway, so a disabled or unreachable venue still answers."""
    if exchange.kind != ExchangeKind.CCXT:
        return False
    ccxt_id = (exchange.options or {}).get("ccxt_id") or exchange.ccxt_id or exchange.exchange_id
    return profile_for(ccxt_id).needs_internal_transfer


def market_making_pair_get(*, pair_id: Any, enabled_only: bool = False) -> MarketMakingPair:
    """A market-making pair by id; with `enabled_only`, also its exchange must be enabled."""
    qs = MarketMakingPair.objects.select_related("exchange", "base_asset", "quote_asset")
    if enabled_only:
        qs = qs.filter(enable=True, exchange__enable=True)
    pair = qs.filter(pk=pair_id).first()
    if pair is None:
        raise PairNotFound(f"market-making pair {pair_id} does not exist or is disabled.")
    return pair


def market_making_pair_list() -> QuerySet[MarketMakingPair]:
    return MarketMakingPair.objects.select_related("exchange", "base_asset", "quote_asset")


def spot_pair_list() -> QuerySet[SpotPair]:
    return SpotPair.objects.select_related("exchange", "base_asset", "quote_asset")


def asset_get(*, asset_id: Any) -> Asset | None:
    return Asset.objects.filter(pk=asset_id).first()


def asset_network_get(*, asset_id: Any, exchange_id: str) -> AssetNetwork | None:
    """How a Mixin asset moves to/from a venue (its currency code and ccxt network), if registered."""
    return (
        AssetNetwork.objects.select_related("asset")
        .filter(asset_id=asset_id, exchange_id=exchange_id)
        .first()
    )


def venue_account_list() -> QuerySet[VenueAccount]:
    return VenueAccount.objects.select_related("exchange")


def venue_account_get(*, key_id: int) -> VenueAccount | None:
    return VenueAccount.objects.filter(pk=key_id).first()


def fee_settings_get() -> FeeSettings:
    """The global fee settings (defaults until an operator saves them; nothing is written by a read)."""
    return FeeSettings.objects.filter(pk=1).first() or FeeSettings(
        pk=1, market_making_fee=settings.MARKET_MAKING_FEE_DEFAULT
    )


def grow_info_get() -> dict[str, Any]:
    """`/grow/info`: every exchange and market-making pair with its `enable` flag (the UI filters)."""
    exchanges = list(exchange_list())
    pairs = list(market_making_pair_list())
    with_pairs = {p.exchange_id for p in pairs}
    return {
        "exchanges": exchanges,
        "simply_grow": {"tokens": list(SimplyGrowToken.objects.all())},
        "arbitrage": {
            "pairs": list(ArbitragePair.objects.select_related("base_asset", "quote_asset"))
        },
        "market_making": {
            "pairs": pairs,
            "exchanges": [e for e in exchanges if e.exchange_id in with_pairs],
        },
    }


# ---------------------------------------------------------------------------- market data


def _key(*parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f"{CACHE_PREFIX}:{parts[0]}:{digest}"


def _venue_error(exchange_id: str, exc: Exception) -> dict[str, str]:
    retryable = isinstance(exc, RetryableVenueError)
    log.warning(
        "market_data_venue_error",
        venue=exchange_id,
        error_type=type(exc).__name__,
        retryable=retryable,
    )
    return {
        "__venue_error__": "unavailable" if retryable else "bad_gateway",
        "type": type(exc).__name__,
    }


def _raise_cached_error(exchange_id: str, marker: dict[str, str]) -> None:
    if marker["__venue_error__"] == "unavailable":
        raise VenueTemporarilyUnavailable(
            f"{exchange_id} is temporarily unavailable ({marker['type']}); try again shortly."
        )
    raise VenueBadGateway(f"{exchange_id} rejected the request ({marker['type']}).")


def _health_record(exchange_id: str, status: str) -> None:
    """The outcome of the latest call; `since` is when the venue entered this status."""
    now = time.time()
    previous = cache.get(f"{HEALTH_KEY}:{exchange_id}")
    since = (
        previous.get("since", previous["at"]) if previous and previous["status"] == status else now
    )
    cache.set(f"{HEALTH_KEY}:{exchange_id}", {"status": status, "at": now, "since": since}, 3600)


def _fetch_cached(*, exchange_id: str, key: str, ttl: int, fetch: Callable[[], Any]) -> Any:
    """Single-flight, cached fetch from a venue; venue errors become 502/503 domain errors."""

    def run() -> Any:
        try:
            value = fetch()
        except UnsupportedRequest as exc:
            # The caller asked for something the venue does not offer: a 400, and the venue's
            # health is not the caller's to flip.
            raise VenueRequestUnsupported(str(exc)) from None
        except VenueError as exc:
            marker = _venue_error(exchange_id, exc)
            _health_record(
                exchange_id,
                VenueHealth.UNAVAILABLE
                if isinstance(exc, RetryableVenueError)
                else VenueHealth.ERROR,
            )
            cache.set(key, marker, ERROR_CACHE_SECONDS)
            return marker
        _health_record(exchange_id, VenueHealth.OK)
        if ttl > 0:
            cache.set(key, value, ttl)
        return value

    value = cache.get(key)
    if value is None:
        lock = f"{key}:lock"
        if cache.add(lock, "1", LOCK_SECONDS):
            try:
                value = run()
            finally:
                cache.delete(lock)
        else:
            deadline = time.monotonic() + WAIT_SECONDS
            while value is None and time.monotonic() < deadline:
                time.sleep(WAIT_STEP_SECONDS)
                value = cache.get(key)
                if value is None and cache.get(lock) is None:
                    value = cache.get(key)
                    break
            if value is None:
                # The fetcher died or is slow: answer this caller anyway.
                value = run()
    if isinstance(value, dict) and "__venue_error__" in value:
        _raise_cached_error(exchange_id, value)
    return value


def _gateway(exchange: Exchange) -> Any:
    return venue_gateway_get(exchange_id=exchange.exchange_id)


def market_symbols_list(*, exchange_id: str) -> list[str]:
    """`/market/supported-symbols`: the exchange's active unified symbols, sorted."""
    exchange = exchange_get(exchange_id=exchange_id, enabled_only=True)

    def fetch() -> list[str]:
        markets = _gateway(exchange).load_markets()
        return sorted(symbol for symbol, market in markets.items() if market.active)

    result: list[str] = _fetch_cached(
        exchange_id=exchange_id,
        key=_key(exchange_id, "symbols"),
        ttl=exchange.markets_cache_seconds,
        fetch=fetch,
    )
    return result


def _require_listed(exchange_id: str, symbols: list[str]) -> None:
    listed = set(market_symbols_list(exchange_id=exchange_id))
    missing = [s for s in symbols if s not in listed]
    if missing:
        raise SymbolNotListed(f"{', '.join(missing)} not listed on {exchange_id}.")


def _iso_ms(ts_ms: int) -> str:
    return (
        datetime.fromtimestamp(ts_ms / 1000, tz=UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def ticker_json(ticker: Any) -> dict[str, Any]:
    """A gateway `Ticker` as a ccxt-style ticker with decimal strings."""
    ts = int(ticker.timestamp.timestamp() * 1000)
    return {
        "symbol": ticker.symbol,
        "timestamp": ts,
        "datetime": _iso_ms(ts),
        "bid": decimal_str(ticker.bid),
        "ask": decimal_str(ticker.ask),
        "last": decimal_str(ticker.last),
        "close": decimal_str(ticker.last),
        "baseVolume": decimal_str(ticker.base_volume),
        "quoteVolume": decimal_str(ticker.quote_volume),
    }


def market_tickers_get(*, exchange_id: str, symbols: list[str]) -> dict[str, dict[str, Any]]:
    """`/market/tickers`: {symbol: ccxt-style ticker}; no symbols means every listed symbol."""
    exchange = exchange_get(exchange_id=exchange_id, enabled_only=True)
    wanted = sorted(set(symbols))
    if wanted:
        _require_listed(exchange_id, wanted)

    def fetch() -> dict[str, dict[str, Any]]:
        tickers = _gateway(exchange).fetch_tickers(wanted or None)
        return {symbol: ticker_json(t) for symbol, t in sorted(tickers.items())}

    result: dict[str, dict[str, Any]] = _fetch_cached(
        exchange_id=exchange_id,
        key=_key(exchange_id, "tickers", ",".join(wanted)),
        ttl=exchange.ticker_cache_seconds,
        fetch=fetch,
    )
    return result


def market_ohlcv_get(
    *,
    exchange_id: str,
    symbol: str,
    timeframe: str = "1m",
    since_ms: int | None = None,
    limit: int | None = None,
) -> list[list[Any]]:
    """`/market/ohlcv`: ccxt rows `[timestamp_ms, open, high, low, close, volume]`, prices as strings."""
    exchange = exchange_get(exchange_id=exchange_id, enabled_only=True)
    _require_listed(exchange_id, [symbol])
    limit = limit or OHLCV_DEFAULT_LIMIT

    def fetch() -> list[list[Any]]:
        candles = _gateway(exchange).fetch_ohlcv(
            symbol, timeframe=timeframe, since_ms=since_ms, limit=limit
        )
        return [
            [
                c.timestamp_ms,
                decimal_str(c.open),
                decimal_str(c.high),
                decimal_str(c.low),
                decimal_str(c.close),
                decimal_str(c.volume),
            ]
            for c in candles
        ]

    result: list[list[Any]] = _fetch_cached(
        exchange_id=exchange_id,
        key=_key(exchange_id, "ohlcv", symbol, timeframe, since_ms, limit),
        ttl=exchange.ohlcv_cache_seconds,
        fetch=fetch,
    )
    return result


# ---------------------------------------------------------------------------- health


def venue_health_list(*, with_since: bool = False) -> list[dict[str, Any]]:
    """`[{name, status}]` of every enabled venue, for /health (`since`, epoch seconds the venue
    has been in that status, for system status when `with_since`).

    The status is the outcome of the last call made to the venue through the market-data path
    (shared cache, so every process contributes). With none in the last HEALTH_PROBE_SECONDS,
    the venue is probed with `load_markets` — served from the market cache when warm, so /health
    costs a venue at most one request per exchange per probe period. A probe never raises.
    """
    result: list[dict[str, Any]] = []
    for exchange in Exchange.objects.filter(enable=True).order_by("exchange_id"):
        key = f"{HEALTH_KEY}:{exchange.exchange_id}"
        seen = cache.get(key)
        if not seen or time.time() - seen["at"] > HEALTH_PROBE_SECONDS:
            status = _health_probe(exchange)
            seen = cache.get(key) or {}
        else:
            status = seen["status"]
        row: dict[str, Any] = {"name": exchange.exchange_id, "status": str(status)}
        if with_since:
            row["since"] = seen.get("since", seen.get("at"))
        result.append(row)
    return result


def _health_probe(exchange: Exchange) -> str:
    try:
        venue_gateway_get(exchange_id=exchange.exchange_id).load_markets()
    except RetryableVenueError:
        status = VenueHealth.UNAVAILABLE
    except VenueError:
        status = VenueHealth.ERROR
    except (
        Exception
    ) as exc:  # misconfiguration (bad options, missing factory): report, never crash /health
        log.warning(
            "venue_health_probe_failed", venue=exchange.exchange_id, error_type=type(exc).__name__
        )
        status = VenueHealth.ERROR
    else:
        status = VenueHealth.OK
    _health_record(exchange.exchange_id, status)
    return str(status)


# Asset ids never change symbol: a process keeps what it looked up.
_SYMBOLS: dict[str, str] = {}


def asset_symbol(asset_id: str) -> str:
    """The registry's symbol of an asset id (for people); a short id when it is unknown."""
    if not asset_id:
        return ""
    if asset_id not in _SYMBOLS:
        found = Asset.objects.filter(pk=asset_id).values_list("symbol", flat=True).first()
        if found is None:
            return asset_id[:8] + "…"
        _SYMBOLS[asset_id] = found
    return _SYMBOLS[asset_id]
