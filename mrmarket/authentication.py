"""Bearer authentication: a user token (`mmu_...`) or an admin JWT, both revocable rows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from mrmarket.enums import TokenKind
from mrmarket.models import AuthToken
from mrmarket.services import JWT_ALGORITHM, token_digest
from mrmarket.throttles import client_address, counter_hit, counter_peek, rate_setting

# last_used_at is refreshed at most this often, so reads do not turn into writes.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, AuthToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        self._failures_check(request)
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        raw = parts[1]
        try:
            token = self._admin_token(raw) if raw.count(".") == 2 else self._user_token(raw)
            now = timezone.now()
            if token is None or token.revoked_at is not None or token.expires_at <= now:
                raise exceptions.AuthenticationFailed("Invalid or expired token.")
            user = token.user
            if not user.is_active or (token.kind == TokenKind.ADMIN and not user.is_staff):
                raise exceptions.AuthenticationFailed("Account disabled.")
        except exceptions.AuthenticationFailed:
            self._failure_count(request)
            raise
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            AuthToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'

    def _user_token(self, raw: str) -> AuthToken | None:
        return (
            AuthToken.objects.select_related("user")
            .filter(kind=TokenKind.USER, digest=token_digest(raw))
            .first()
        )

    def _admin_token(self, raw: str) -> AuthToken | None:
        try:
            claims = jwt.decode(
                raw,
                settings.ADMIN_JWT_SECRET,
                algorithms=[JWT_ALGORITHM],
                options={"require": ["exp", "jti", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise exceptions.AuthenticationFailed("Invalid or expired token.") from exc
        if claims.get("typ") != "admin":
            return None
        try:
            # Our JWTs carry UUIDs; anything else (a forged or foreign token) is just invalid.
            jti, sub = uuid.UUID(str(claims["jti"])), uuid.UUID(str(claims["sub"]))
        except (TypeError, ValueError, AttributeError):
            return None
        return (
            AuthToken.objects.select_related("user")
            .filter(kind=TokenKind.ADMIN, pk=jti, user_id=sub)
            .first()
        )

    def _failures_check(self, request: Request) -> None:
        """An address over its failure budget gets 429 for any bearer until the window ends."""
        rate = rate_setting("auth_failure")
        hit = counter_peek(f"auth:failures:{client_address(request)}", rate.window)
        if hit.count >= rate.limit:
            raise exceptions.Throttled(wait=hit.wait)

    def _failure_count(self, request: Request) -> None:
        """Failed authentications per client address: past THROTTLE_AUTH_FAILURE it is 429
        (checked before any token lookup would be worth an attacker's while)."""
        rate = rate_setting("auth_failure")
        hit = counter_hit(f"auth:failures:{client_address(request)}", rate.window)
        if hit.over(rate.limit):
            raise exceptions.Throttled(wait=hit.wait)
