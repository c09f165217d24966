"""Domain errors shared by every app. The API exception handler maps them to HTTP codes."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of errors the API turns into a 4xx JSON body. `code` is the machine-readable `error`."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, payload: dict[str, Any] | None = None, audited: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.payload = payload or {}
        # True when the raiser already wrote the audit row the API handler would write.
        self.audited = audited


class ValidationFailed(DomainError):
    status_code = 400
    code = "validation_error"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    """The request is well formed but the current state does not allow it (e.g. illegal transition)."""

    status_code = 409
    code = "conflict"


class Unavailable(DomainError):
    status_code = 503
    code = "unavailable"
