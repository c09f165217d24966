"""Browser-facing headers: CORS for the configured frontend origins, and the CSP.

CORS. The frontend (another origin) calls the API with a bearer token, so a browser first
sends a preflight `OPTIONS` without credentials. For an origin in `CORS_ALLOWED_ORIGINS` the
preflight is answered here (204 with the allowed methods and headers) before authentication
could refuse it, and actual responses carry `Access-Control-Allow-Origin` for that origin.
Cookies are never allowed cross-origin (no `Allow-Credentials`): the API authenticates with
bearer tokens, and the console's session cookie must stay same-origin. Other origins get no
CORS headers, so the browser keeps the response from their scripts.

CSP. `CONTENT_SECURITY_POLICY` (on by default in production) goes on every response that
does not set its own; the console and the API docs load only same-origin scripts.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

_ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
_EXPOSE_HEADERS = "Retry-After, X-Request-Id"


def _allowed(origin: str | None) -> bool:
    return bool(origin) and origin in settings.CORS_ALLOWED_ORIGINS


def _vary_origin(response: HttpResponse) -> None:
    vary = [v.strip() for v in response.get("Vary", "").split(",") if v.strip()]
    if "Origin" not in vary:
        response["Vary"] = ", ".join([*vary, "Origin"])


class CorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        origin = request.headers.get("Origin")
        preflight = (
            request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        )
        if preflight and origin is not None and _allowed(origin):
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Allow-Methods"] = _ALLOW_METHODS
            response["Access-Control-Allow-Headers"] = _ALLOW_HEADERS
            response["Access-Control-Max-Age"] = str(settings.CORS_PREFLIGHT_MAX_AGE)
            _vary_origin(response)
            return response
        response = self.get_response(request)
        if origin is not None and _allowed(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Access-Control-Expose-Headers"] = _EXPOSE_HEADERS
        if settings.CORS_ALLOWED_ORIGINS:
            _vary_origin(response)
        return response


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response
