"""What both HuFi stand-ins share: NestJS-shaped error bodies, faults, an injectable clock.

HuFi's services are NestJS apps. Their error body (recording-oracle
`common/filters/exception.ts` and the per-controller `*.error-filter.ts`) is
`{message, timestamp, path}`; a failed DTO validation (`common/pipes/validation.ts`,
`HttpValidationPipe`) is HTTP 400 with `{message: "Validation error", validation_errors:
[...]}`; the route-level errors keep Nest's `status_code` beside `message`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse, LoopbackServer

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


def iso(moment: datetime) -> str:
    """JavaScript's `Date.toISOString()`: milliseconds and a `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


class FaultyServer(LoopbackServer):
    """`outage` answers 503 to everything, `latency` sleeps before answering; stop the
    server (or use a closed port) for connection refused."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        super().__init__()
        self.clock = clock
        self.outage = False
        self.latency = 0.0

    def dispatch(self, request: LoopbackRequest) -> LoopbackResponse:
        if self.latency:
            time.sleep(self.latency)
        if self.outage:
            return LoopbackResponse(503, {"message": "Service Unavailable", "status_code": 503})
        return super().dispatch(request)

    def error(
        self, status: int, message: str, request: LoopbackRequest, **extra: Any
    ) -> LoopbackResponse:
        """A controller error filter's body (`BaseErrorResponse`)."""
        body: dict[str, Any] = {
            "message": message,
            "timestamp": iso(self.clock()),
            "path": request.path,
        }
        body.update(extra)
        return LoopbackResponse(status, body)

    def invalid(self, request: LoopbackRequest, errors: list[str]) -> LoopbackResponse:
        """`HttpValidationPipe`: 400, `Validation error`, the flattened constraint messages."""
        return self.error(400, "Validation error", request, validation_errors=errors)

    def unauthorized(self, request: LoopbackRequest) -> LoopbackResponse:
        # Passport's UnauthorizedException through the global filter (keys snake-cased).
        return self.error(401, "Unauthorized", request, status_code=401)
