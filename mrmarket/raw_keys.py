"""Rejects raw exchange API keys anywhere but the one endpoint built to receive them (DESIGN §7).

Secrets reach us only sealed, through `POST /admin/exchanges/keys`. A request elsewhere whose
query string or body has a field that names a credential (`api_key`, `API_KEY`, `apiSecret`,
`secret`, `api_passphrase`, ... compared case-insensitively with `_`/`-` removed) at any
depth is answered 400 before any view runs, and audited with the field names only — so a
client that pastes a key into the wrong form learns at once, and the key goes no further (no
view, no serializer error echo, no log). Even on the keys endpoint a key in the query string is
refused: URLs end up in proxy and access logs.

The same walk refuses NUL characters anywhere in the path, query or body (PostgreSQL cannot
store them; the insert would fail with a 500).

The body is inspected whatever its declared content type: DRF's parser negotiation accepts
`Content-Type: */*` (or any `+json`) as JSON, so the guard tries JSON on every body and falls
back to the form fields of urlencoded and multipart posts. The walk is iterative and has no
depth cut-off; a body nested deeper than `MAX_DEPTH` is refused as a whole (400), since no
client of ours sends one and parsing it recursively would be a denial of service.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from mrmarket.audit import audit_record
from mrmarket.enums import AuditOutcome
from mrmarket.errors import error_body

# Credential names, normalized (lowercase, without "_" and "-"): api_key, apiKey, API-KEY ...
RAW_KEY_NAMES = frozenset(
    {
        "apikey",
        "apisecret",
        "apisecretkey",
        "secret",
        "secretkey",
        "apipassphrase",
        "passphrase",
        "apipassword",
        "privatekey",
    }
)
# (method, path) allowed to carry raw key fields in the body (sealed there, see module doc).
BODY_EXEMPT = frozenset({("POST", "/admin/exchanges/keys")})
# Deeper bodies are refused outright (Python's json module recurses once per level).
MAX_DEPTH = 64


class TooDeep(ValueError):
    pass


class HasNul(ValueError):
    """A NUL character: PostgreSQL text and jsonb cannot store it (the insert fails with a
    500), and no legitimate field of ours carries one."""


def _normalized(name: Any) -> str:
    return str(name).lower().replace("_", "").replace("-", "")


def is_raw_key_name(name: Any) -> bool:
    return _normalized(name) in RAW_KEY_NAMES


def raw_key_fields(value: Any) -> set[str]:
    """Names of credential fields anywhere in a parsed JSON value; TooDeep past MAX_DEPTH."""
    found: set[str] = set()
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise TooDeep
        if isinstance(item, str):
            if "\x00" in item:
                raise HasNul
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    raise HasNul
                if is_raw_key_name(key):
                    found.add(str(key))
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return found


def _json_nesting_exceeds(body: bytes) -> bool:
    """Bracket depth of a JSON text, outside strings, above MAX_DEPTH (checked before parsing)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _names(keys: Iterable[str]) -> set[str]:
    return {key for key in keys if is_raw_key_name(key)}


def _body_fields(request: HttpRequest) -> set[str]:
    body = request.body
    if not body:
        return set()
    if _json_nesting_exceeds(body):
        raise TooDeep
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
    else:
        return raw_key_fields(parsed)
    content_type = (request.content_type or "").lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _nul_check(request.POST.lists())
        return _names(request.POST.keys())
    return set()


def _nul_check(items: Iterable[tuple[str, list[str]]]) -> None:
    for key, values in items:
        if "\x00" in key or any("\x00" in value for value in values):
            raise HasNul


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse(error_body(400, message, "bad_request"), status=400)


class RawApiKeyGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = _names(request.GET.keys())
        try:
            _nul_check(request.GET.lists())
            if "\x00" in request.path:
                raise HasNul
            if (request.method, request.path) not in BODY_EXEMPT:
                fields |= _body_fields(request)
            elif request.body and _json_nesting_exceeds(request.body):
                raise TooDeep
        except TooDeep:
            return _bad_request(f"Request body nested deeper than {MAX_DEPTH}.")
        except HasNul:
            return _bad_request("NUL characters are not accepted in requests.")
        if fields:
            return self._reject(request, sorted(fields))
        return self.get_response(request)

    def _reject(self, request: HttpRequest, fields: list[str]) -> HttpResponse:
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
