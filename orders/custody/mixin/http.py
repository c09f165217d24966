"""Signed HTTP transport to Mixin's API and the map from Mixin errors to custody errors.

Mixin answers most errors with HTTP 202 and `{"error": {"status", "code", "description"}}`;
success is `{"data": ...}`. The query string and JSON body are serialized here, once, and the
same bytes are both signed (`sig` claim) and sent, so the signature always matches.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog

from orders.custody.base import (
    CustodyAuthFailed,
    CustodyError,
    CustodyInvalidRequest,
    CustodyNetworkError,
    CustodyNotFound,
    CustodyRateLimited,
    CustodyRejected,
    CustodyTimeout,
    CustodyUnavailable,
    InsufficientBalance,
)
from orders.custody.mixin.auth import MixinSession

log = structlog.get_logger(__name__)

# Mixin error codes (developers.mixin.one "Error Codes", developers-docs/docs/api/
# error-codes.md; bot-api-go-client error.go). Retryable: the same call may succeed later
# (server errors, rate limits, an address still being made, inputs a concurrent request
# holds — bot-api-go-client's monitor retries "inputs locked by"). Final: the same call
# would fail again the same way.
_RETRYABLE_CODES: dict[int, type[CustodyError]] = {
    429: CustodyRateLimited,  # too many requests
    500: CustodyUnavailable,  # internal server error
    7000: CustodyUnavailable,  # blaze server error
    7001: CustodyUnavailable,  # the blaze operation timed out
    10104: CustodyUnavailable,  # address generating
    10105: CustodyUnavailable,  # locked by another transaction
}
_FINAL_CODES: dict[int, type[CustodyError]] = {
    400: CustodyInvalidRequest,  # the request body can't be parsed
    401: CustodyAuthFailed,  # unauthorized, maybe invalid token
    403: CustodyAuthFailed,  # forbidden
    404: CustodyNotFound,
    10002: CustodyInvalidRequest,  # the request data has an invalid field
    20117: InsufficientBalance,
    20120: CustodyInvalidRequest,  # transfer amount too small
    20124: CustodyInvalidRequest,  # insufficient fee
    20127: CustodyInvalidRequest,  # withdrawal amount too small
    20131: CustodyInvalidRequest,  # withdrawal memo format incorrect
    20134: CustodyInvalidRequest,  # withdrawal amount too large
    20135: CustodyInvalidRequest,  # withdrawal fee too small
    20150: CustodyInvalidRequest,  # receivers contain duplicate or invalid data
    30102: CustodyInvalidRequest,  # invalid withdrawal address
}


def mixin_error(code: int, description: str) -> CustodyError:
    """The custody error for one Mixin error body; unknown codes are final (never blind-retried)."""
    cls = _RETRYABLE_CODES.get(code) or _FINAL_CODES.get(code) or CustodyRejected
    return cls(f"mixin error {code}: {description}", code=code)


class MixinHttp:
    def __init__(
        self,
        *,
        base_url: str,
        session: MixinSession,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._session = session

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str | int | None] | None = None,
        body: Any = None,
    ) -> Any:
        """Send one signed request; return the `data` member or raise a `CustodyError`."""
        query = urlencode([(k, str(v)) for k, v in (params or {}).items() if v not in (None, "")])
        uri = f"{path}?{query}" if query else path
        content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        token = self._session.sign(method=method, uri=uri, body=content)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            # Mixin echoes it in its logs; useful when asking their support about a call.
            "X-Request-Id": str(uuid.uuid4()),
        }
        try:
            response = self._client.request(method, uri, content=content or None, headers=headers)
        except httpx.TimeoutException as exc:
            raise CustodyTimeout(f"mixin did not answer {method} {path} in time") from exc
        except httpx.TransportError as exc:
            raise CustodyNetworkError(f"mixin unreachable: {type(exc).__name__}") from exc
        return self._data(response, method=method, path=path)

    def _data(self, response: httpx.Response, *, method: str, path: str) -> Any:
        status = response.status_code
        if status == 429:
            raise CustodyRateLimited("mixin answered HTTP 429", code=429)
        if status >= 500:
            # Retryable whatever the body says; Mixin's own 500s carry its code (500, 7000,
            # 7001), a proxy's carry none.
            code = _envelope_code(response) or status
            log.warning("mixin_api_error", method=method, path=path, status=status, code=code)
            raise CustodyUnavailable(f"mixin answered HTTP {status} (code {code})", code=code)
        try:
            body = response.json()
        except ValueError as exc:
            raise CustodyUnavailable(f"mixin answered HTTP {status} without JSON") from exc
        error = body.get("error") if isinstance(body, dict) else None
        if error and not isinstance(error, dict):
            raise CustodyRejected(f"mixin answered HTTP {status} with a malformed error")
        if error:
            code = int(error.get("code") or 0)
            log.warning("mixin_api_error", method=method, path=path, code=code)
            raise mixin_error(code, str(error.get("description") or ""))
        if status >= 400 or not isinstance(body, dict) or "data" not in body:
            raise CustodyRejected(f"mixin answered HTTP {status} without data", code=status)
        return body["data"]


def _envelope_code(response: httpx.Response) -> int | None:
    """The `error.code` of Mixin's envelope, if the body is one."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else None
