from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from mrmarket.enums import AuditOutcome, TokenKind
from mrmarket.models import AuditEvent, AuthToken, User
from mrmarket.services import user_token_issue
from standins.oauth.emulator import MixinOAuthEmulator

pytestmark = pytest.mark.django_db


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_user_route_without_a_token_is_401_with_the_error_body(api) -> None:
    response = api.get("/auth/me")
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "Authentication credentials were not provided.",
        "error": "unauthorized",
    }
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_user_route_with_a_garbage_token_is_401(api) -> None:
    api.credentials(HTTP_AUTHORIZATION="Bearer mmu_not-a-token")
    response = api.get("/auth/me")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_user_token_reaches_a_user_route(user_api, user) -> None:
    response = user_api.get("/auth/me")
    assert response.status_code == 200
    assert response.json()["userId"] == str(user.pk)


def test_matching_user_id_is_accepted(user_api, user) -> None:
    assert user_api.get("/auth/me", {"userId": str(user.pk)}).status_code == 200


def test_another_users_user_id_is_403(user_api, other_user) -> None:
    response = user_api.get("/auth/me", {"userId": str(other_user.pk)})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert response.json()["statusCode"] == 403


def test_expired_user_token_is_401(api, user) -> None:
    raw, token = user_token_issue(user=user)
    AuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/auth/me").status_code == 401


def test_logout_revokes_the_presented_token(api, user) -> None:
    raw, token = user_token_issue(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.post("/auth/logout").json() == {"ok": True}
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api.get("/auth/me").status_code == 401


def test_only_the_token_digest_is_stored(user) -> None:
    raw, token = user_token_issue(user=user)
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert not AuthToken.objects.filter(digest=raw).exists()


def test_admin_login_with_the_right_password_returns_a_working_jwt(api, settings, operator) -> None:
    settings.ADMIN_PASSWORD = "s3cret-pass"
    response = api.post("/auth/login", {"password": _sha("s3cret-pass")}, format="json")
    assert response.status_code == 200
    jwt_token = response.json()["access_token"]
    assert jwt_token.count(".") == 2
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_token}")
    assert api.get("/auth/me").json()["isStaff"] is True
    assert AuditEvent.objects.filter(action="auth.login", outcome=AuditOutcome.OK).count() == 1


def test_revoked_admin_jwt_is_refused(api, settings, operator) -> None:
    settings.ADMIN_PASSWORD = "pw"
    jwt_token = api.post("/auth/login", {"password": _sha("pw")}, format="json").json()[
        "access_token"
    ]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt_token}")
    assert api.post("/auth/logout").status_code == 200
    assert api.get("/auth/me").status_code == 401


def test_jwt_signed_with_another_key_is_refused(api, operator) -> None:
    import jwt

    forged = jwt.encode(
        {"sub": str(operator.pk), "jti": "x", "typ": "admin", "exp": 9999999999},
        "not-our-key-but-long-enough-for-hs256-xx",
        algorithm="HS256",
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api.get("/auth/me").status_code == 401


def test_bad_admin_password_is_401_and_audited(api, settings) -> None:
    settings.ADMIN_PASSWORD = "right"
    response = api.post("/auth/login", {"password": _sha("wrong")}, format="json")
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "message": "Invalid password.",
        "error": "unauthorized",
    }
    event = AuditEvent.objects.get()
    assert event.outcome == AuditOutcome.REJECTED
    assert event.action == "auth.login"
    assert event.payload["channel"] == "api"
    assert not AuthToken.objects.exists()


def test_admin_login_is_throttled_after_repeated_tries(api, settings) -> None:
    settings.ADMIN_PASSWORD = "right"
    statuses = [
        api.post("/auth/login", {"password": _sha(f"guess{i}")}, format="json").status_code
        for i in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    response = api.post("/auth/login", {"password": _sha("right")}, format="json")
    assert response.status_code == 429
    assert response.json()["error"] == "too_many_requests"
    assert int(response["Retry-After"]) > 0


def test_admin_login_rejects_a_password_that_is_not_sha256_hex(api) -> None:
    response = api.post("/auth/login", {"password": "plain"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["message"].startswith("password:")


def test_oauth_code_becomes_our_user_token(api, settings) -> None:
    mixin = MixinOAuthEmulator(client_id="app-1", client_secret="cs")
    with mixin:
        settings.MIXIN_API_BASE, settings.MIXIN_APP_ID = mixin.base_url, "app-1"
        settings.MIXIN_OAUTH_CLIENT_SECRET = "cs"
        code, profile = mixin.add_code(full_name="Alice")
        response = api.get("/auth/oauth", {"code": code})
        assert response.status_code == 200, response.json()
        token = response.json()["token"]
        # the code is single-use, as on Mixin
        assert api.get("/auth/oauth", {"code": code}).status_code == 401
    user = User.objects.get(pk=profile["user_id"])
    assert user.full_name == "Alice" and user.is_mixin_user
    assert not user.has_usable_password()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/auth/me").json()["userId"] == profile["user_id"]


def test_oauth_with_mixin_down_is_503_and_creates_nothing(api, settings) -> None:
    mixin = MixinOAuthEmulator(client_id="a", client_secret="b")
    mixin.start()
    settings.MIXIN_API_BASE = mixin.base_url
    mixin.stop()
    response = api.get("/auth/oauth", {"code": "whatever"})
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"
    assert not User.objects.exists()


def test_issue_token_command_prints_a_working_token(api, capsys) -> None:
    call_command("issue_token", "0c8b3a70-9d9e-4d5b-a3cf-2d2f0b7f3a11")
    raw = capsys.readouterr().out.strip()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/auth/me").json()["userId"] == "0c8b3a70-9d9e-4d5b-a3cf-2d2f0b7f3a11"
    assert AuthToken.objects.get().kind == TokenKind.USER


def test_seed_demo_is_idempotent(capsys) -> None:
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "demo user token: mmu_" in out
    assert User.objects.filter(username="admin", is_superuser=True).count() == 1
    assert User.objects.filter(username="demo").count() == 1
