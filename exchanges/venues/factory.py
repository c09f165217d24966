"""Build a `VenueGateway` for one venue account: the one entry point other apps call.

Options (all optional):
- ccxt: `ccxt_id` (default: `venue`), `base_url` (point every API url at e.g. the loopback
  emulator), `timeout_ms` (default 10000), `ccxt_options` (merged into ccxt's `options`),
  `rate_limit_venue` (key into the published limits table; default `ccxt_id`),
  `rate_limits` ({"ip_weight": [limit, seconds], "orders": [[limit, seconds], ...],
  "weight_per_ccxt_cost": x} overriding the table), `rate_limiter` (a `VenueRateLimiter`;
  default: the process-wide Redis/file one), `rate_limit: False` (no limiter; tests only).
- paper: `clock` (a `() -> float` of unix seconds; tests only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from exchanges.venues.base import VenueGateway
from exchanges.venues.ratelimit import (
    VenueLimits,
    VenueRateLimiter,
    Window,
    default_rate_limiter,
    limits_for,
)


@dataclass(frozen=True)
class VenueCredentials:
    api_key: str
    secret: str
    password: str = ""

    def __repr__(self) -> str:  # never print secrets, not even in a traceback
        return f"VenueCredentials(api_key={self.api_key[:4]}…, secret=***)"


def _limiter(venue_key: str, opts: Mapping[str, Any]) -> VenueRateLimiter | None:
    if opts.get("rate_limit") is False:
        return None
    limiter: VenueRateLimiter = opts.get("rate_limiter") or default_rate_limiter()
    custom = opts.get("rate_limits")
    if not custom:
        return limiter
    base = limiter.limits(venue_key) if venue_key in limiter.overrides else limits_for(venue_key)
    limits = VenueLimits(
        ip_weight=Window(*custom["ip_weight"]) if "ip_weight" in custom else base.ip_weight,
        orders=tuple(Window(*w) for w in custom["orders"]) if "orders" in custom else base.orders,
        weight_per_ccxt_cost=float(custom.get("weight_per_ccxt_cost", base.weight_per_ccxt_cost)),
        source="override",
    )
    return replace(limiter, overrides={**limiter.overrides, venue_key: limits})


def build_gateway(
    *,
    kind: str,
    venue: str,
    account: str,
    credentials: VenueCredentials | None = None,
    options: Mapping[str, Any] | None = None,
) -> VenueGateway:
    opts = dict(options or {})
    if kind == "ccxt":
        # deferred: the ccxt gateway imports ccxt (~1.5 s); built only when a venue is used.
        from exchanges.venues.ccxt_gateway import CcxtGateway

        ccxt_id = opts.get("ccxt_id") or venue
        rate_limit_venue = opts.get("rate_limit_venue") or ccxt_id
        return CcxtGateway(
            venue=venue,
            account=account,
            ccxt_id=ccxt_id,
            api_key=credentials.api_key if credentials else "",
            secret=credentials.secret if credentials else "",
            password=credentials.password if credentials else "",
            base_url=opts.get("base_url"),
            timeout_ms=int(opts.get("timeout_ms", 10_000)),
            limiter=_limiter(rate_limit_venue, opts),
            rate_limit_venue=rate_limit_venue,
            ccxt_options=opts.get("ccxt_options"),
        )
    if kind == "paper":
        # deferred: the paper gateway imports ccxt too (its client-id check), and the paper
        # venue's models; built only when a paper venue is used.
        from exchanges.paper.gateway import PaperGateway

        return PaperGateway(venue=venue, account=account, clock=opts.get("clock"))
    raise ValueError(f"unknown gateway kind {kind!r} (expected 'paper' or 'ccxt')")
