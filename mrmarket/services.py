"""Auth services: issue and revoke user tokens and admin JWTs, operator login, Mixin OAuth login."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import structlog
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from mrmarket.audit import audit_record
from mrmarket.enums import TokenKind
from mrmarket.exceptions import DomainError, Unavailable
from mrmarket.login_policy import login_failed, login_guard, login_succeeded
from mrmarket.models import AuthToken, Heartbeat, User
from mrmarket.oauth.client import MixinOAuthClient, MixinOAuthError, MixinProfile

log = structlog.get_logger(__name__)

USER_TOKEN_PREFIX = "mmu_"
JWT_ALGORITHM = "HS256"


class InvalidCredentials(DomainError):
    status_code = 401
    code = "unauthorized"


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def user_token_issue(
    *, user: User, label: str = "", ttl: timedelta | None = None
) -> tuple[str, AuthToken]:
    """A new bearer token for `user`. Only its digest is stored; the raw token is returned once."""
    raw = USER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AuthToken.objects.create(
        user=user,
        kind=TokenKind.USER,
        digest=token_digest(raw),
        label=label[:100],
        expires_at=timezone.now() + (ttl or settings.USER_TOKEN_TTL),
    )
    return raw, token


def admin_jwt_issue(*, user: User) -> tuple[str, AuthToken]:
    now = timezone.now()
    token = AuthToken.objects.create(
        user=user,
        kind=TokenKind.ADMIN,
        expires_at=now + settings.ADMIN_JWT_TTL,
        label="admin login",
    )
    encoded = jwt.encode(
        {
            "sub": str(user.pk),
            "jti": str(token.pk),
            "typ": "admin",
            "iat": int(now.timestamp()),
            "exp": int(token.expires_at.timestamp()),
        },
        settings.ADMIN_JWT_SECRET,
        algorithm=JWT_ALGORITHM,
    )
    return encoded, token


def token_revoke(*, token: AuthToken, actor: User | None = None, reason: str = "") -> AuthToken:
    if token.revoked_at is None:
        AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db()
        audit_record(
            action="auth.token_revoke",
            actor=actor,
            target_type="auth_token",
            target_id=str(token.pk),
            reason=reason,
        )
    return token


def operator_ensure(*, username: str | None = None, password: str | None = None) -> User:
    """The staff account admin JWTs are issued for; created (superuser) if missing."""
    username = username or settings.ADMIN_USERNAME
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"is_staff": True, "is_superuser": True, "full_name": "Operator"},
    )
    if created or password:
        user.set_password(password or settings.ADMIN_PASSWORD)
        user.save(update_fields=["password"])
    return user


def admin_login(*, password_sha256: str, request: HttpRequest | None = None) -> str:
    """`POST /auth/login`: the client sends sha256 hex of the admin password; we answer a JWT.

    Under the login policy shared with the console (mrmarket.login_policy): throttled and
    locked out per account and client address, every attempt audited."""
    account = settings.ADMIN_USERNAME
    login_guard(account=account, request=request, channel="api")
    expected = hashlib.sha256(settings.ADMIN_PASSWORD.encode()).hexdigest()
    if not hmac.compare_digest(expected, password_sha256.strip().lower()):
        login_failed(account=account, request=request, channel="api")
        raise InvalidCredentials("Invalid password.", audited=True)
    user = User.objects.filter(username=account, is_active=True, is_staff=True).first()
    if user is None:
        user = operator_ensure()
    encoded, token = admin_jwt_issue(user=user)
    login_succeeded(
        account=account, user=user, request=request, channel="api", target_id=str(token.pk)
    )
    return encoded


def user_upsert_from_mixin(*, profile: MixinProfile) -> User:
    user, created = User.objects.get_or_create(
        pk=profile.user_id,
        defaults={
            "username": f"mixin-{profile.user_id}",
            "identity_number": profile.identity_number,
            "full_name": profile.full_name,
            "avatar_url": profile.avatar_url,
            "is_mixin_user": True,
        },
    )
    if not created:
        changed = {
            "identity_number": profile.identity_number,
            "full_name": profile.full_name,
            "avatar_url": profile.avatar_url,
        }
        for key, value in changed.items():
            setattr(user, key, value)
        user.save(update_fields=list(changed))
    else:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def mixin_oauth_client() -> MixinOAuthClient:
    return MixinOAuthClient(
        base_url=settings.MIXIN_API_BASE,
        client_id=settings.MIXIN_APP_ID,
        client_secret=settings.MIXIN_OAUTH_CLIENT_SECRET,
        timeout=settings.MIXIN_HTTP_TIMEOUT,
    )


def oauth_login(*, code: str, request: HttpRequest | None = None) -> str:
    """`GET /auth/oauth?code=`: Mixin OAuth code → Mixin profile → our user token."""
    client = mixin_oauth_client()
    try:
        access_token = client.exchange_code(code)
        profile = client.me(access_token)
    except MixinOAuthError as exc:
        if exc.retryable:
            raise Unavailable("Mixin is unavailable, try again.") from exc
        raise InvalidCredentials(f"Mixin OAuth failed: {exc}") from exc
    finally:
        client.close()
    with transaction.atomic():
        user = user_upsert_from_mixin(profile=profile)
        raw, token = user_token_issue(user=user, label="mixin oauth")
        audit_record(
            action="auth.oauth_login",
            actor=user,
            target_type="auth_token",
            target_id=str(token.pk),
            request=request,
        )
    return raw


def heartbeat_beat(
    *, name: str, at: datetime | None = None, payload: dict[str, Any] | None = None
) -> None:
    """Record that periodic process `name` is alive; one row per name, counted."""
    from django.db.models import F

    at = at or timezone.now()
    updated = Heartbeat.objects.filter(name=name).update(
        last_beat_at=at,
        count=F("count") + 1,
        **({"payload": payload} if payload is not None else {}),
    )
    if not updated:
        Heartbeat.objects.get_or_create(
            name=name, defaults={"last_beat_at": at, "count": 1, "payload": payload or {}}
        )


def heartbeat_outcome(*, name: str, ok: bool, error: str = "") -> None:
    """Record the outcome of a periodic call to the outside world (custody, a venue).

    A success is a heartbeat (`last_beat_at` moves, `payload.ok` true). A failure leaves
    `last_beat_at` at the last success and keeps `failingSince` at the first failure in a
    row, so health can say since when the part has been unreachable."""
    now = timezone.now()
    if ok:
        heartbeat_beat(name=name, at=now, payload={"ok": True})
        return
    row = Heartbeat.objects.filter(name=name).first()
    previous = row.payload if row is not None else {}
    since = previous.get("failingSince") if previous.get("ok") is False else None
    payload = {"ok": False, "error": error[:200], "failingSince": since or now.isoformat()}
    if row is None:
        # never reached yet: the epoch says "no success ever" without inventing one
        Heartbeat.objects.get_or_create(
            name=name,
            defaults={"last_beat_at": datetime.fromtimestamp(0, tz=UTC), "payload": payload},
        )
    else:
        Heartbeat.objects.filter(name=name).update(payload=payload)
