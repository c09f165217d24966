"""The CoinGecko client behind `/coingecko/...` (CONTRACT "Also called by the frontend").

Answers are CoinGecko's own JSON, passed through unchanged, so the frontend's coin pages
read what they read from CoinGecko. Every call goes:

1. through the cache (`COINGECKO_CACHE_SECONDS`, charts `COINGECKO_CHART_CACHE_SECONDS`),
   keyed by path and query, so many users on one coin page cost one upstream call;
2. through the shared rate limiter (the venues' GCRA limiter, bucket "coingecko" at
   `COINGECKO_CALLS_PER_MINUTE`), so all processes together stay under CoinGecko's limit;
   a 429 from CoinGecko blocks every process for its Retry-After;
3. to `COINGECKO_API_BASE` with a short timeout.

Errors: CoinGecko's 404 is ours (`coin_not_found`), its 400 ours (`validation_error`); a
429, a 5xx or a network fault is a 503 `coingecko_unavailable` (nothing cached).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog
from django.conf import settings
from django.core.cache import cache

from exchanges.venues.base import RateLimited
from exchanges.venues.ratelimit import VenueLimits, VenueRateLimiter, Window, default_rate_limiter
from mrmarket.exceptions import NotFound, Unavailable, ValidationFailed

log = structlog.get_logger(__name__)
VENUE = "coingecko"
TIMEOUT_SECONDS = 10.0
MAX_WAIT_SECONDS = 5.0  # a request waits this long for a rate-limit slot, then 503


class CoinNotFound(NotFound):
    code = "coin_not_found"


class CoinGeckoUnavailable(Unavailable):
    code = "coingecko_unavailable"


def _limiter() -> VenueRateLimiter:
    shared = default_rate_limiter()
    limits = VenueLimits(
        ip_weight=Window(settings.COINGECKO_CALLS_PER_MINUTE, 60),
        orders=(),
        source="https://docs.coingecko.com/reference/common-errors-rate-limit",
    )
    return VenueRateLimiter(backend=shared.backend, prefix=shared.prefix, overrides={VENUE: limits})


@dataclass
class CoinGeckoClient:
    base_url: str = field(default_factory=lambda: settings.COINGECKO_API_BASE)
    limiter: VenueRateLimiter = field(default_factory=_limiter)
    transport: httpx.BaseTransport | None = None

    def _get(self, path: str, params: dict[str, Any], ttl: int) -> Any:
        query = {k: v for k, v in sorted(params.items()) if v not in (None, "")}
        digest = hashlib.sha256(f"{path}?{urlencode(query)}".encode()).hexdigest()[:32]
        key = f"coingecko:{digest}"
        cached = cache.get(key)
        if cached is not None:
            return cached
        try:
            self.limiter.acquire(venue=VENUE, account="-", max_wait=MAX_WAIT_SECONDS)
        except RateLimited as exc:
            raise CoinGeckoUnavailable("CoinGecko is rate limited; try again shortly.") from exc
        headers = {"accept": "application/json"}
        if settings.COINGECKO_API_KEY:
            headers[settings.COINGECKO_API_KEY_HEADER] = settings.COINGECKO_API_KEY
        try:
            with httpx.Client(timeout=TIMEOUT_SECONDS, transport=self.transport) as http:
                response = http.get(self.base_url.rstrip("/") + path, params=query, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("coingecko_unreachable", path=path, error_type=type(exc).__name__)
            raise CoinGeckoUnavailable("CoinGecko is unreachable.") from exc
        if response.status_code == 429:
            retry = float(response.headers.get("Retry-After") or 60)
            self.limiter.block(venue=VENUE, seconds=retry)
            raise CoinGeckoUnavailable("CoinGecko is rate limited; try again shortly.")
        if response.status_code == 404:
            raise CoinNotFound(_error_text(response, "not found"))
        if response.status_code in (400, 422):
            raise ValidationFailed(_error_text(response, "rejected by CoinGecko"))
        if response.status_code != 200:
            log.warning("coingecko_error", path=path, status=response.status_code)
            raise CoinGeckoUnavailable(f"CoinGecko answered {response.status_code}.")
        body = response.json()
        cache.set(key, body, timeout=ttl)
        return body

    def coin(self, *, coin_id: str) -> Any:
        return self._get(
            f"/coins/{coin_id}",
            {"localization": "false", "tickers": "false", "sparkline": "false"},
            settings.COINGECKO_CACHE_SECONDS,
        )

    def markets(
        self, *, vs_currency: str, page: int, per_page: int, category: str | None = None
    ) -> Any:
        params = {
            "vs_currency": vs_currency,
            "order": "market_cap_desc",
            "page": page,
            "per_page": per_page,
            "category": category,
        }
        return self._get("/coins/markets", params, settings.COINGECKO_CACHE_SECONDS)

    def market_chart(self, *, coin_id: str, vs_currency: str, days: str) -> Any:
        return self._get(
            f"/coins/{coin_id}/market_chart",
            {"vs_currency": vs_currency, "days": days},
            settings.COINGECKO_CHART_CACHE_SECONDS,
        )

    def market_chart_range(self, *, coin_id: str, vs_currency: str, start: int, end: int) -> Any:
        return self._get(
            f"/coins/{coin_id}/market_chart/range",
            {"vs_currency": vs_currency, "from": start, "to": end},
            settings.COINGECKO_CHART_CACHE_SECONDS,
        )


def _error_text(response: httpx.Response, default: str) -> str:
    try:
        body = response.json()
    except ValueError:
        return default
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return str(body["error"])
        status = body.get("status")
        if isinstance(status, dict) and status.get("error_message"):
            return str(status["error_message"])
    return default


def coingecko_client() -> CoinGeckoClient:
    return CoinGeckoClient()
