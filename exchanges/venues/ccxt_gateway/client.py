"""The ccxt client of one gateway: the ccxt class with every HTTP request routed through the
shared rate limiter, and its URLs optionally pointed at a loopback emulator.

ccxt's own in-process throttle is switched off: a thin subclass overrides `fetch2` so that
*every* request first takes its weight (ccxt's per-endpoint cost scaled to the venue's weight
unit) and, for an order-creating path of the venue's profile, one order slot per order —
from the `VenueRateLimiter` shared by all processes, which ccxt's per-instance limiter
cannot be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ccxt

from exchanges.venues.base import VenueError

# One subclass per ccxt class, built on first use (classes, not state: never invalidated).
_SUBCLASSES: dict[str, type] = {}

BeforeRequest = Callable[..., None]


def path_key(api: Any, path: str) -> str:
    """ccxt's implicit-API path with its API group below the access level: Gate's
    (["private", "spot"], "orders") is "spot/orders"; OKX's (["private"], "trade/order") is
    "trade/order"; Binance's ("private", "order") is "order"."""
    groups = list(api[1:]) if isinstance(api, list | tuple) else []
    return "/".join([*groups, str(path).strip("/")])


def client_class(ccxt_id: str) -> type:
    """The ccxt class with `fetch2` routed through the gateway's `_mm_before_request`."""
    if ccxt_id not in _SUBCLASSES:
        base = getattr(ccxt, ccxt_id, None)
        if base is None:
            raise VenueError(f"unknown ccxt exchange id {ccxt_id!r}")

        def fetch2(
            self: Any,
            path: Any,
            api: Any = "public",
            method: str = "GET",
            params: Any = None,
            config: Any = None,
        ) -> Any:
            params = {} if params is None else params
            config = {} if config is None else config
            hook = getattr(self, "_mm_before_request", None)
            if hook is not None:
                cost = self.calculate_rate_limiter_cost(api, method, path, params, config)
                hook(path=path_key(api, path), method=method, params=params, cost=cost)
            return base.fetch2(self, path, api, method, params, config)

        _SUBCLASSES[ccxt_id] = type(f"Limited_{ccxt_id}", (base,), {"fetch2": fetch2})
    return _SUBCLASSES[ccxt_id]


def point_at(urls: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Replace scheme+host of every API url with `base_url`, keeping the path."""
    api = urls.get("api")
    if isinstance(api, str):
        return {**urls, "api": base_url.rstrip("/") + urlsplit(api).path}
    out: dict[str, Any] = {}
    for key, value in (api or {}).items():
        if isinstance(value, str):
            out[key] = base_url.rstrip("/") + urlsplit(value).path
        else:
            out[key] = value
    return {**urls, "api": out}


def build_client(
    *,
    ccxt_id: str,
    api_key: str,
    secret: str,
    password: str,
    timeout_ms: int,
    options: dict[str, Any],
    base_url: str | None,
    before_request: BeforeRequest,
) -> Any:
    cls = client_class(ccxt_id)
    client = cls(
        {
            "apiKey": api_key,
            "secret": secret,
            "password": password,
            "timeout": timeout_ms,
            # The shared limiter paces requests; ccxt's per-instance one would only add
            # a second, process-local delay (docs/venues.md, "Rate limiter").
            "enableRateLimit": False,
            # Cursor-paged answers (Bybit's nextPageCursor) are read from the raw answer.
            "enableLastJsonResponse": True,
            "options": options,
        }
    )
    if base_url:
        client.urls = point_at(client.urls, base_url)
    client._mm_before_request = before_request
    return client
