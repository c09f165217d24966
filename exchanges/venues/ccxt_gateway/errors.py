"""Translating ccxt's exceptions into the gateway's error taxonomy (`exchanges.venues.base`).

Order of the checks:
1. the venue's own code found in the answer (`code`, `sCode`, `retCode`), looked up in the
   profile's `error_codes` — ccxt's tables are sometimes keyed by hostname (Binance) or map a
   code to a class too general for us (OKX 51016 is only `InvalidOrder` in ccxt);
2. the profile's duplicate-client-order-id wording;
3. ccxt's exception class. `RateLimitExceeded` is a `NetworkError`, *not* a
   `DDoSProtection` subclass: both are checked, before the generic `NetworkError`.
A rate-limit answer blocks the shared limiter for the venue's advertised wait (Retry-After,
or a reset timestamp header) or one second.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import ccxt
import requests

from exchanges.venues.base import (
    AuthenticationFailed,
    DuplicateClientOrderId,
    FinalVenueError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    RateLimited,
    VenueError,
    VenueNetworkError,
    VenueTimeout,
    VenueUnavailable,
)
from exchanges.venues.profiles import VenueProfile

_CODE_RE = re.compile(r'"(?:code|sCode|retCode|label)"\s*:\s*"?(-?[A-Za-z0-9_]+)"?')


def venue_codes(message: str) -> list[str]:
    """Every venue error code in an error's text (ccxt puts the raw body in its message)."""
    return [c for c in _CODE_RE.findall(message) if c not in ("0", "")]


def retry_after_seconds(
    profile: VenueProfile, headers: Mapping[str, Any] | None, now_ms: int
) -> float | None:
    lowered = {str(k).lower(): v for k, v in (headers or {}).items()}
    if profile.retry_after_header:
        value = lowered.get(profile.retry_after_header.lower())
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    if profile.reset_ms_header:
        value = lowered.get(profile.reset_ms_header.lower())
        if value is not None:
            try:
                return max(0.0, (int(value) - now_ms) / 1000)
            except ValueError:
                return None
    return None


def translate(
    exc: Exception,
    *,
    profile: VenueProfile,
    venue: str,
    retry_after: Callable[[], float | None],
    on_rate_limited: Callable[[float | None], None],
) -> VenueError:
    message = str(exc)
    kw: dict[str, Any] = {"venue": venue}
    cls: type[VenueError] | None = None
    code: str | None = None
    if isinstance(exc, ccxt.BaseError):
        for found in venue_codes(message):
            if found in profile.error_codes:
                cls, code = profile.error_codes[found], found
                break
    if cls is None and any(m in message for m in profile.duplicate_messages):
        cls = DuplicateClientOrderId
    if cls is None:
        cls = _by_class(exc)
    if cls is RateLimited:
        wait = retry_after()
        on_rate_limited(wait)
        return RateLimited(message, retry_after=wait, code=code, **kw)
    if cls is FinalVenueError and not isinstance(exc, ccxt.BaseError):
        return FinalVenueError(f"{type(exc).__name__}: {message}", **kw)
    if cls is VenueNetworkError and not isinstance(exc, ccxt.BaseError):
        return VenueNetworkError(f"{type(exc).__name__}: {message}", **kw)
    return cls(message, code=code, **kw)


def _by_class(exc: Exception) -> type[VenueError]:
    if isinstance(exc, ccxt.RequestTimeout):
        return VenueTimeout
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return RateLimited
    if isinstance(exc, ccxt.ExchangeNotAvailable):  # OnMaintenance is a subclass
        return VenueUnavailable
    if isinstance(exc, ccxt.NetworkError):  # InvalidNonce included: not executed
        return VenueNetworkError
    if isinstance(exc, ccxt.DuplicateOrderId):
        return DuplicateClientOrderId
    if isinstance(exc, ccxt.InsufficientFunds):
        return InsufficientFunds
    if isinstance(exc, ccxt.OrderNotFound):
        return OrderNotFound
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return AuthenticationFailed
    if isinstance(
        exc, ccxt.InvalidOrder | ccxt.BadSymbol | ccxt.BadRequest | ccxt.ArgumentsRequired
    ):
        return InvalidOrder
    if isinstance(exc, ccxt.OperationFailed):
        return VenueUnavailable
    if isinstance(exc, ccxt.BaseError):
        return FinalVenueError
    if isinstance(exc, OSError | requests.RequestException):
        # A transport error escaping ccxt: the outcome is unknown, look it up and retry.
        return VenueNetworkError
    # A bug (ours or ccxt's) is not made retryable: retrying would repeat it forever.
    return FinalVenueError
