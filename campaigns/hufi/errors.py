"""The error taxonomy of both HuFi clients: callers decide what to retry by `retryable` alone.

Retryable: the network failed or timed out, HuFi answered 5xx or 429. Final: any other 4xx
(our request is wrong, or HuFi refuses it) and answers we cannot parse.
"""

from __future__ import annotations

import httpx


class HufiError(Exception):
    retryable = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class HufiRetryableError(HufiError):
    retryable = True


class HufiFinalError(HufiError):
    retryable = False


class HufiAuthRejected(HufiFinalError):
    """401/403: the token (or signature) was refused; a fresh login may fix it."""


class HufiNotFound(HufiFinalError):
    pass


def error_from_response(response: httpx.Response, *, what: str) -> HufiError:
    status = response.status_code
    try:
        body = response.json()
        detail = body.get("message") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    # The body is HuFi's error text, never our request: nothing secret can leak through it.
    message = f"{what}: HTTP {status}" + (f" ({detail})" if detail else "")
    if status >= 500 or status == 429:
        return HufiRetryableError(message, status_code=status)
    if status in (401, 403):
        return HufiAuthRejected(message, status_code=status)
    if status == 404:
        return HufiNotFound(message, status_code=status)
    return HufiFinalError(message, status_code=status)


def error_from_transport(exc: httpx.HTTPError, *, what: str) -> HufiError:
    return HufiRetryableError(f"{what}: {type(exc).__name__}")
