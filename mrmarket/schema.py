"""drf-spectacular extensions: our bearer auth (no warnings), and the error statuses every
operation can return (so the schema describes the service, issue 19)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]  # drf-spectacular's registering __init_subclass__ is unannotated
    target_class = "mrmarket.authentication.BearerTokenAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A user token (`mmu_...`) or an admin JWT from POST /auth/login.",
        }


# Statuses any operation can answer, whatever its view declares: 400 (the input guard:
# NUL characters, raw key fields, over-deep bodies, malformed JSON) and 429 (throttles).
_ALWAYS = ("400", "429")
_DESCRIPTIONS = {
    "400": "Invalid input (validation, malformed JSON, NUL characters, raw key fields).",
    "401": "Missing, invalid, expired or revoked bearer token.",
    "403": "The token may not do this (e.g. a user token on an operator route).",
    "404": "No such resource (or not the caller's).",
    "429": "Rate limited; see Retry-After.",
}


def error_responses_hook(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Postprocessing hook: every operation documents the error statuses it can return.

    The shared exception handler answers these for every view with the `Error` body, so the
    schema lists them where they apply: 400 and 429 everywhere, 401/403 where a bearer token
    is read, 404 where the path names a resource. schemathesis's status-code conformance
    (`make fuzz`) holds the schema to that.
    """
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            statuses = list(_ALWAYS)
            if any(requirement for requirement in operation.get("security", [])):
                statuses += ["401", "403"]  # a bearer token is read (`[{}]`: public)
            if "{" in path:
                statuses.append("404")
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(
                    status, {"description": _DESCRIPTIONS[status], "content": error}
                )
    return result
