"""Mixin OAuth client (httpx).

Flow: `POST /oauth/token {client_id, code, client_secret}` gives an access token, then
`GET /me` with that token gives the user's profile. Mixin wraps answers in `{"data": ...}`
and reports errors as `{"error": {"status", "code", "description"}}`, often on HTTP 202.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class MixinOAuthError(Exception):
    def __init__(self, message: str, *, code: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


@dataclass(frozen=True)
class MixinProfile:
    user_id: str
    identity_number: str
    full_name: str
    avatar_url: str


class MixinOAuthClient:
    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._client_id = client_id
        self._client_secret = client_secret

    def close(self) -> None:
        self._client.close()

    def _data(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 500 or response.status_code == 429:
            raise MixinOAuthError(f"mixin answered HTTP {response.status_code}", retryable=True)
        try:
            body = response.json()
        except ValueError as exc:
            raise MixinOAuthError("mixin answered with a body that is not JSON") from exc
        error = body.get("error") if isinstance(body, dict) else None
        if error:
            raise MixinOAuthError(
                str(error.get("description") or "mixin error"), code=error.get("code")
            )
        if response.status_code >= 400 or not isinstance(body.get("data"), dict):
            raise MixinOAuthError(f"mixin answered HTTP {response.status_code}")
        data: dict[str, Any] = body["data"]
        return data

    def exchange_code(self, code: str) -> str:
        try:
            response = self._client.post(
                "/oauth/token",
                json={
                    "client_id": self._client_id,
                    "code": code,
                    "client_secret": self._client_secret,
                },
            )
        except httpx.HTTPError as exc:
            raise MixinOAuthError(
                f"mixin unreachable: {type(exc).__name__}", retryable=True
            ) from exc
        token = self._data(response).get("access_token")
        if not token:
            raise MixinOAuthError("mixin returned no access token")
        return str(token)

    def me(self, access_token: str) -> MixinProfile:
        try:
            response = self._client.get("/me", headers={"Authorization": f"Bearer {access_token}"})
        except httpx.HTTPError as exc:
            raise MixinOAuthError(
                f"mixin unreachable: {type(exc).__name__}", retryable=True
            ) from exc
        data = self._data(response)
        return MixinProfile(
            user_id=str(data["user_id"]),
            identity_number=str(data.get("identity_number", "")),
            full_name=str(data.get("full_name", "")),
            avatar_url=str(data.get("avatar_url", "")),
        )
