"""One exception handler: every API error is `{"statusCode", "message", "error"}` (CONTRACT.md).

Domain errors carry their own status and code; DRF's errors keep theirs; anything else is a
500 with a generic message (the stack trace goes to the log, never to the client). Every
rejected write, and every 401/403/429, leaves an audit event.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from mrmarket.audit import audit_record, audit_rejected
from mrmarket.enums import AuditOutcome
from mrmarket.exceptions import DomainError

log = structlog.get_logger(__name__)

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_ALWAYS_AUDITED = {401, 403, 429}


def error_body(status: int, message: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"statusCode": status, "message": message, "error": code, **extra}


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        out: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            out.extend(_flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix)))
        return out
    if isinstance(detail, list):
        out = []
        for item in detail:
            out.extend(_flatten(item, prefix))
        return out
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _drf_code(exc: drf_exceptions.APIException) -> str:
    return {
        drf_exceptions.NotAuthenticated: "unauthorized",
        drf_exceptions.AuthenticationFailed: "unauthorized",
        drf_exceptions.PermissionDenied: "forbidden",
        drf_exceptions.NotFound: "not_found",
        drf_exceptions.MethodNotAllowed: "method_not_allowed",
        drf_exceptions.Throttled: "too_many_requests",
        drf_exceptions.ValidationError: "validation_error",
        drf_exceptions.ParseError: "bad_request",
        drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
        drf_exceptions.NotAcceptable: "not_acceptable",
    }.get(type(exc), exc.default_code if isinstance(exc.default_code, str) else "error")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, DomainError):
        status, code, message = exc.status_code, exc.code, exc.message
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    elif isinstance(exc, Http404):
        status, code, message = 404, "not_found", "Not found."
    elif isinstance(exc, PermissionDenied):
        status, code, message = (
            403,
            "forbidden",
            "You do not have permission to perform this action.",
        )
    elif isinstance(exc, drf_exceptions.APIException):
        status, code = exc.status_code, _drf_code(exc)
        if isinstance(exc, drf_exceptions.ValidationError):
            message = "; ".join(_flatten(exc.detail)) or "Invalid input."
            extra["details"] = exc.detail
        else:
            message = str(exc.detail)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf_exceptions.Throttled) and wait is not None:
            headers["Retry-After"] = str(max(1, int(wait)))
        if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
            # DRF turns these into 403 when the auth class has no header; we always say 401.
            status = 401
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
    elif isinstance(exc, DjangoValidationError):
        # A model/field validator reached from a view: the input was invalid.
        status, code = 400, "validation_error"
        message = "; ".join(exc.messages) or "Invalid input."
    elif isinstance(exc, DataError | OverflowError):
        # The database (or the driver) refused a value: out of range, malformed. A view
        # should have validated it first, so this is logged loudly, but it is still the
        # caller's value and a 400, never a 500.
        log.error("api_value_refused_by_database", error_type=type(exc).__name__, exc_info=exc)
        status, code, message = 400, "bad_request", "A value is out of range or malformed."
    else:
        log.exception("api_unhandled_error", error_type=type(exc).__name__)
        status, code, message = 500, "internal_error", "Internal server error."

    already_audited = getattr(exc, "audited", False)
    if request is not None and 400 <= status < 500 and not already_audited:
        if request.method not in _SAFE_METHODS or status in _ALWAYS_AUDITED:
            _audit(request, status, code, message)
    return Response(error_body(status, message, code, **extra), status=status, headers=headers)


def _audit(request: Any, status: int, code: str, message: str) -> None:
    """Rejections by a known caller are always audited; anonymous ones and 401/429 (which
    anyone can cause at line rate) through the per-address limit of `audit_rejected`."""
    user = getattr(request, "user", None)
    actor = user if getattr(user, "is_authenticated", False) else None
    fields: dict[str, Any] = {
        "action": f"{request.method} {request.path}",
        "actor": actor,
        "reason": message,
        "payload": {"status": status, "error": code},
        "request": request,
    }
    if actor is None or status in (401, 429):
        audit_rejected(**fields)
    else:
        audit_record(outcome=AuditOutcome.REJECTED, **fields)


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(404, "Not found.", "not_found"), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body(500, "Internal server error.", "internal_error"), status=500)


def json_400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(400, "Bad request.", "bad_request"), status=400)


def json_403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(403, "Forbidden.", "forbidden"), status=403)


# Paths whose error pages stay HTML: the operator console (Django admin) and the Swagger UI.
_HTML_PREFIXES = ("/console/", "/docs", "/static/")
_STATUS_CODES = {
    400: ("Bad request.", "bad_request"),
    403: ("Forbidden.", "forbidden"),
    404: ("Not found.", "not_found"),
    405: ("Method not allowed.", "method_not_allowed"),
    500: ("Internal server error.", "internal_error"),
}


class JsonErrorsMiddleware:
    """Every error answer of the API is CONTRACT's JSON body, in debug too.

    With DEBUG on, Django answers an unknown path (or an id that no route's converter
    accepts) with its HTML page listing the URL patterns, and an unhandled error outside DRF
    with the HTML stack trace. This replaces any HTML error response outside the console
    with `{"statusCode", "message", "error"}`: the frontend and curl always read JSON, and
    no URL list or trace leaks.
    """

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        response = self.get_response(request)
        status = response.status_code
        if status < 400 or request.path.startswith(_HTML_PREFIXES):
            return response
        if "text/html" not in response.get("Content-Type", ""):
            return response
        message, code = _STATUS_CODES.get(status, ("Error.", "error"))
        return JsonResponse(error_body(status, message, code), status=status)
