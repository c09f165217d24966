"""Hostile input (issue 19): the raw-key guard's bypasses, token types, browser headers."""

from __future__ import annotations

import json
import uuid

import jwt
import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from mrmarket.enums import AuditOutcome
from mrmarket.models import AuditEvent
from mrmarket.raw_keys import MAX_DEPTH
from mrmarket.services import user_token_issue
from strategy.enums import SessionKind
from strategy.models import StrategySession
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

_TARGET = "/admin/grow/exchange/add"


def _nested(depth: int, leaf: dict) -> dict:
    body: dict = leaf
    for _ in range(depth):
        body = {"x": body}
    return body


def _rejected(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "raw_api_key_rejected"
    assert field in response.json()["message"]
    event = AuditEvent.objects.get(action="raw_api_key_rejected")
    assert event.payload["fields"] == [field]
    assert "sk-live-123" not in json.dumps(event.payload) + event.reason


def test_raw_key_with_a_wildcard_content_type_is_rejected(admin_api) -> None:
    body = json.dumps({"name": "main", "api_secret": "sk-live-123"})
    response = admin_api.post(_TARGET, data=body, content_type="*/*")
    _rejected(response, "api_secret")


@pytest.mark.parametrize("field", ["API_KEY", "secret", "api_passphrase", "Api-Secret"])
def test_raw_key_names_are_matched_case_insensitively(admin_api, field: str) -> None:
    response = admin_api.post(_TARGET, {"name": "main", field: "sk-live-123"}, format="json")
    _rejected(response, field)


def test_raw_key_nested_past_32_levels_is_still_found(admin_api) -> None:
    body = _nested(40, {"apiSecret": "sk-live-123"})
    response = admin_api.post(_TARGET, body, format="json")
    _rejected(response, "apiSecret")


def test_raw_key_in_a_list_inside_a_form_post_is_rejected(admin_api) -> None:
    response = admin_api.post(
        _TARGET,
        data="name=main&API_KEY=sk-live-123",
        content_type="application/x-www-form-urlencoded",
    )
    _rejected(response, "API_KEY")


def test_a_body_nested_deeper_than_the_limit_is_a_400_not_a_crash(admin_api) -> None:
    deep = "[" * (MAX_DEPTH + 500) + "]" * (MAX_DEPTH + 500)
    response = admin_api.post(_TARGET, data=deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


def test_ordinary_fields_pass_the_guard(admin_api) -> None:
    response = admin_api.post(
        _TARGET, {"name": "main", "description": "my secretary's account"}, format="json"
    )
    assert response.status_code != 400 or response.json()["error"] != "raw_api_key_rejected"


# ------------------------------------------------------------------------- token types


def _session(owner) -> StrategySession:  # type: ignore[no-untyped-def]
    return StrategySession.objects.create(
        owner=owner,
        client_id=f"c-{uuid.uuid4().hex[:8]}",
        kind=SessionKind.PURE_MARKET_MAKING,
        exchange_id="paper",
        symbol="BTC/USDT",
        next_run_at=timezone.now(),
        max_open_orders=40,
    )


def test_a_staff_users_user_token_gets_no_operator_reads(user) -> None:
    # given a staff account holding a *user* token, and someone else's session
    staff = UserFactory(is_staff=True)
    raw, _ = user_token_issue(user=staff)  # type: ignore[arg-type]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    mine, theirs = _session(staff), _session(user)
    # when it lists sessions
    listed = client.get("/strategy/all-strategies")
    # then it sees only its own, like any user; admin routes are 403
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [mine.pk]
    assert theirs.pk not in [row["id"] for row in listed.json()]
    assert client.get("/admin/fee/global").status_code == 403


def test_an_admin_jwt_sees_every_session(admin_api, user, operator) -> None:
    first, second = _session(user), _session(operator)
    listed = admin_api.get("/strategy/all-strategies")
    assert sorted(row["id"] for row in listed.json()) == sorted([first.pk, second.pk])


@pytest.mark.parametrize("jti", ["x", "", "1' OR 1=1", 12, None])
def test_an_admin_jwt_with_a_non_uuid_jti_is_401(api, operator, jti) -> None:  # type: ignore[no-untyped-def]
    forged = jwt.encode(
        {"sub": str(operator.pk), "jti": jti, "typ": "admin", "exp": 9999999999},
        django_settings.ADMIN_JWT_SECRET,
        algorithm="HS256",
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    response = api.get("/admin/fee/global")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


# ---------------------------------------------------------------------- browser headers


def test_a_preflight_from_the_frontend_origin_is_answered(api, settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    response = api.options(
        "/user-orders/market-making/all",
        HTTP_ORIGIN="https://app.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response
    actual = api.get("/health/ping", HTTP_ORIGIN="https://app.example")
    assert actual["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Origin" in actual["Vary"]


def test_other_origins_get_no_cors_headers(api, settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    response = api.options(
        "/health/ping",
        HTTP_ORIGIN="https://evil.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in api.get(
        "/health/ping", HTTP_ORIGIN="https://evil.example"
    )


def test_csp_and_hsts_are_sent_when_configured(client, settings) -> None:
    settings.CONTENT_SECURITY_POLICY = "default-src 'self'"
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/console/login/", secure=True)
    assert response["Content-Security-Policy"] == "default-src 'self'"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_console_sessions_last_hours_not_weeks() -> None:
    assert 3600 <= django_settings.SESSION_COOKIE_AGE <= 12 * 3600


def test_rejections_are_audited_as_rejected(admin_api) -> None:
    admin_api.post(_TARGET, {"secret": "sk-live-123"}, format="json")
    assert AuditEvent.objects.get().outcome == AuditOutcome.REJECTED
