from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from mrmarket.enums import AuditOutcome
from mrmarket.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_unknown_path_is_a_json_404(client) -> None:
    response = client.get("/no/such/path")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Not found.", "error": "not_found"}


def test_wrong_method_is_a_json_405(api) -> None:
    response = api.delete("/health")
    assert response.status_code == 405
    body = response.json()
    assert body["statusCode"] == 405 and body["error"] == "method_not_allowed"
    assert AuditEvent.objects.get().outcome == AuditOutcome.REJECTED


def test_malformed_json_is_a_400_with_the_error_body(api) -> None:
    response = api.post("/auth/login", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert set(response.json()) >= {"statusCode", "message", "error"}


def test_unhandled_error_is_a_500_without_a_stack_trace(api, monkeypatch) -> None:
    def boom(**_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("mrmarket.apis.health_selectors.health", boom)
    response = api.get("/health")
    assert response.status_code == 500
    assert response.json() == {
        "statusCode": 500,
        "message": "Internal server error.",
        "error": "internal_error",
    }
    assert "secret internals" not in response.content.decode()


def test_openapi_schema_builds_without_warnings() -> None:
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    schema = json.loads(out.getvalue())
    assert "/health/system-status" in schema["paths"]
    assert "/auth/login" in schema["paths"]


def test_docs_serve_swagger_ui(client) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_console_login_page_is_branded(client) -> None:
    response = client.get("/console/login/")
    assert response.status_code == 200
    assert b"Mr.Market console" in response.content
