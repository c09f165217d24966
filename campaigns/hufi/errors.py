"""The error taxonomy of both HuFi clients: callers decide what to retry by `retryable` alone.

Retryable: the network failed or timed out, HuFi answered 5xx or 429. Final: any other 4xx
(our request is wrong, or HuFi refuses it) and answers we cannot parse. Two 422s of the
join are told apart by the oracle's own text: `User has already joined the campaign` (we are
in: success) and `Campaign not found` (the oracle cannot read the escrow yet: try later).
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


class HufiAlreadyJoined(HufiFinalError):
    """422 `User has already joined the campaign`: the wallet is in; a join that raced us."""


class HufiCampaignNotFound(HufiError):
    """422 `Campaign not found` on join: the oracle could not read the escrow from the chain
    yet (its subgraph lags). Not final: the same join can succeed later, after a backoff."""

    retryable = False


# The recording oracle's texts for these (campaigns.errors.ts, participations.errors.ts).
ALREADY_JOINED_MESSAGE = "User has already joined the campaign"
CAMPAIGN_NOT_FOUND_MESSAGE = "Campaign not found"


def error_from_response(response: httpx.Response, *, what: str) -> HufiError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("message") if isinstance(body, dict) else None
    if isinstance(detail, list):  # Nest's default validation body lists its messages
        detail = "; ".join(map(str, detail))
    problems = body.get("validation_errors") if isinstance(body, dict) else None
    if isinstance(problems, list) and problems:
        detail = f"{detail}: {'; '.join(map(str, problems))}"
    # The body is HuFi's error text, never our request: nothing secret can leak through it.
    message = f"{what}: HTTP {status}" + (f" ({detail})" if detail else "")
    if status >= 500 or status == 429:
        return HufiRetryableError(message, status_code=status)
    if status in (401, 403):
        return HufiAuthRejected(message, status_code=status)
    if status == 404:
        return HufiNotFound(message, status_code=status)
    if status == 422 and detail == ALREADY_JOINED_MESSAGE:
        return HufiAlreadyJoined(message, status_code=status)
    if status == 422 and detail == CAMPAIGN_NOT_FOUND_MESSAGE:
        return HufiCampaignNotFound(message, status_code=status)
    return HufiFinalError(message, status_code=status)


def error_from_transport(exc: httpx.HTTPError, *, what: str) -> HufiError:
    return HufiRetryableError(f"{what}: {type(exc).__name__}")
