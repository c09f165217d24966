"""Rejects raw exchange API keys anywhere but the one endpoint built to receive them (DESIGN §7).

Secrets reach us only sealed, through `POST /admin/exchanges/keys`. A request elsewhere whose
query string or JSON body (at any depth) has a field named `api_key`, `api_secret`, `apiKey` or
`apiSecret` is answered 400 before any view runs, and audited with the field names only — so a
client that pastes a key into the wrong form learns at once, and the key goes no further (no
view, no serializer error echo, no log). Even on the keys endpoint a key in the query string is
refused: URLs end up in proxy and access logs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

RAW_KEY_FIELDS = frozenset({"api_key", "api_secret", "apiKey", "apiSecret"})
# (method, path) allowed to carry raw key fields in the body.
BODY_EXEMPT = frozenset({("POST", "/admin/exchanges/keys")})
# Nesting deeper than this is not a form anyone sends; stop walking.
_MAX_DEPTH = 32


def _raw_key_fields(value: Any, depth: int = 0) -> set[str]:
    found: set[str] = set()
    if depth > _MAX_DEPTH:
        return found
    if isinstance(value, dict):
        for key, item in value.items():
            if key in RAW_KEY_FIELDS:
                found.add(key)
            found |= _raw_key_fields(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            found |= _raw_key_fields(item, depth + 1)
    return found


def _is_json(request: HttpRequest) -> bool:
    content_type = (request.content_type or "").lower()
    return content_type == "application/json" or content_type.endswith("+json")


class RawApiKeyGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = {key for key in request.GET if key in RAW_KEY_FIELDS}
        if (request.method, request.path) not in BODY_EXEMPT and _is_json(request):
            try:
                body = json.loads(request.body or b"null")
            except (ValueError, UnicodeDecodeError):
                body = None  # malformed JSON: the view's parser answers 400 for it
            fields |= _raw_key_fields(body)
        if fields:
            return self._reject(request, sorted(fields))
        return self.get_response(request)

    def _reject(self, request: HttpRequest, fields: list[str]) -> HttpResponse:
        from mrmarket.audit import audit_record
        from mrmarket.enums import AuditOutcome
        from mrmarket.errors import error_body

        user = getattr(request, "user", None)
        message = (
            f"Raw exchange API key fields ({', '.join(fields)}) are not accepted here. "
            "Add keys with POST /admin/exchanges/keys, api_secret sealed to "
            "GET /admin/exchanges/key-pair."
        )
        audit_record(
            action="raw_api_key_rejected",
            outcome=AuditOutcome.REJECTED,
            actor=user if getattr(user, "is_authenticated", False) else None,
            reason=message,
            payload={"method": request.method, "path": request.path, "fields": fields},
            request=request,
        )
        return JsonResponse(error_body(400, message, "raw_api_key_rejected"), status=400)
