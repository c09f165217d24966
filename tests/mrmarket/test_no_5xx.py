"""Every 5xx the issue-19 fuzz found is a 4xx with the JSON error body."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _json_4xx(response, status: int) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    body = response.json()
    assert body["statusCode"] == status
    assert set(body) >= {"statusCode", "message", "error"}


def test_history_of_a_non_uuid_order_is_a_404(user_api) -> None:
    _json_4xx(user_api.get("/user-orders/market-making/history/instance/x"), 404)


def test_execution_report_with_a_garbage_from_is_a_400(user_api) -> None:
    response = user_api.get(
        "/metrics/execution-report",
        {"orderId": "3e6a8b2c-0f4d-4a1e-9b7c-5d2e8f1a6c30", "from": "garbage"},
    )
    _json_4xx(response, 400)
    assert response.json()["message"].startswith("from:")


def test_campaigns_with_a_huge_skip_is_a_400(api) -> None:
    _json_4xx(api.get("/campaigns", {"skip": 2**63}), 400)


@pytest.mark.parametrize(
    "body",
    [
        {"exchange_id": "nulx", "name": "x", "options": {"a": "x\u0000y"}},
        {"exchange_id": "nulx", "name": "x\u0000", "options": {}},
        {"exchange_id": "nulx", "name": "x", "options": {"k\u0000": 1}},
    ],
)
def test_a_nul_character_anywhere_in_a_body_is_a_400(admin_api, body) -> None:  # type: ignore[no-untyped-def]
    response = admin_api.post("/admin/grow/exchange/add", body, format="json")
    _json_4xx(response, 400)
    assert "NUL" in response.json()["message"]


def test_a_nul_character_in_the_query_is_a_400(api) -> None:
    _json_4xx(api.get("/campaigns", {"chain_id": "1\u0000"}), 400)


def test_a_value_the_database_refuses_is_a_400_not_a_500(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.db import DataError

    def overflow(**_: object) -> None:
        raise DataError("integer out of range")

    monkeypatch.setattr("mrmarket.apis.health_selectors.health", overflow)
    _json_4xx(api.get("/health"), 400)


def test_the_schema_documents_the_error_statuses_of_every_operation() -> None:
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    schema = json.loads(out.getvalue())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "429"} <= set(responses), (method, path)
            if any(operation.get("security", [])):
                assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            error = responses["400"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
