"""The plumbing every part of the ccxt gateway shares: the client, the venue's profile, the
shared limiter hook, and the translation of every ccxt exception at the call site."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog

from exchanges.venues.base import MarketInfo, VenueError
from exchanges.venues.ccxt_gateway.client import build_client
from exchanges.venues.ccxt_gateway.errors import retry_after_seconds, translate
from exchanges.venues.profiles import VenueProfile, profile_for
from exchanges.venues.ratelimit import VenueRateLimiter

log = structlog.get_logger(__name__)


class GatewayCore:
    def __init__(
        self,
        *,
        venue: str,
        account: str,
        ccxt_id: str,
        api_key: str = "",
        secret: str = "",
        password: str = "",
        base_url: str | None = None,
        timeout_ms: int = 10_000,
        limiter: VenueRateLimiter | None = None,
        rate_limit_venue: str | None = None,
        ccxt_options: Mapping[str, Any] | None = None,
        profile: VenueProfile | None = None,
    ) -> None:
        self.venue = venue
        self.account = account
        self.ccxt_id = ccxt_id
        self.profile = profile or profile_for(ccxt_id)
        if self.profile.passphrase_required and api_key and not password:
            raise VenueError(
                f"{ccxt_id} API keys need their passphrase; store it with the key", venue=venue
            )
        self.limiter = limiter
        self.rate_limit_venue = rate_limit_venue or ccxt_id
        options: dict[str, Any] = dict(self.profile.ccxt_options)
        options.update(ccxt_options or {})
        self.client: Any = build_client(
            ccxt_id=ccxt_id,
            api_key=api_key,
            secret=secret,
            password=password,
            timeout_ms=timeout_ms,
            options=options,
            base_url=base_url,
            before_request=self._before_request,
        )
        self._markets: dict[str, MarketInfo] | None = None

    def _before_request(self, *, path: str, method: str, params: Any, cost: float) -> None:
        if self.limiter is None:
            return
        limits = self.limiter.limits(self.rate_limit_venue)
        self.limiter.acquire(
            venue=self.rate_limit_venue,
            account=self.account,
            weight=float(cost or 1) * limits.weight_per_ccxt_cost,
            orders=self.profile.orders_in(path, method, params),
        )

    def _retry_after(self) -> float | None:
        return retry_after_seconds(
            self.profile, self.client.last_response_headers, self.client.milliseconds()
        )

    def _rate_limited(self, wait: float | None) -> None:
        if self.limiter is not None:
            self.limiter.block(venue=self.rate_limit_venue, seconds=wait or 1.0)

    def _translate(self, exc: Exception) -> VenueError:
        return translate(
            exc,
            profile=self.profile,
            venue=self.venue,
            retry_after=self._retry_after,
            on_rate_limited=self._rate_limited,
        )

    @contextmanager
    def _calling(self, operation: str) -> Iterator[None]:
        try:
            yield
        except VenueError:
            raise
        except Exception as exc:
            error = self._translate(exc)
            log.info(
                "venue_call_failed",
                venue=self.venue,
                account=self.account,
                operation=operation,
                error=type(error).__name__,
                code=error.code,
                retryable=error.retryable,
            )
            raise error from exc
