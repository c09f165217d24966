"""Loopback emulator of Mixin's OAuth endpoints (`POST /oauth/token`, `GET /me`).

Codes are single-use, as on Mixin; errors come back on HTTP 202 with Mixin's error body.
"""

from __future__ import annotations

import secrets
import uuid

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse, LoopbackServer


def _mixin_error(code: int, description: str) -> LoopbackResponse:
    return LoopbackResponse(
        202, {"error": {"status": 202, "code": code, "description": description}}
    )


class MixinOAuthEmulator(LoopbackServer):
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.client_id = client_id
        self.client_secret = client_secret
        self._codes: dict[str, dict[str, str]] = {}
        self._tokens: dict[str, dict[str, str]] = {}
        self.add_route("POST", "/oauth/token", self._token)
        self.add_route("GET", "/me", self._me)

    def add_code(
        self,
        *,
        full_name: str = "Alice",
        identity_number: str | None = None,
        user_id: str | None = None,
    ) -> tuple[str, dict[str, str]]:
        code = secrets.token_hex(16)
        profile = {
            "user_id": user_id or str(uuid.uuid4()),
            "identity_number": identity_number or str(7000000000 + secrets.randbelow(10**8)),
            "full_name": full_name,
            "avatar_url": "",
        }
        self._codes[code] = profile
        return code, profile

    def _token(self, request: LoopbackRequest) -> LoopbackResponse:
        body = request.json() or {}
        if (
            body.get("client_id") != self.client_id
            or body.get("client_secret") != self.client_secret
        ):
            return _mixin_error(401, "Unauthorized, maybe invalid token.")
        profile = self._codes.pop(str(body.get("code", "")), None)
        if profile is None:
            return _mixin_error(403, "Forbidden.")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = profile
        return LoopbackResponse(200, {"data": {"access_token": token, "scope": "PROFILE:READ"}})

    def _me(self, request: LoopbackRequest) -> LoopbackResponse:
        auth = request.header("authorization")
        profile = (
            self._tokens.get(auth.removeprefix("Bearer ").strip())
            if auth.startswith("Bearer ")
            else None
        )
        if profile is None:
            return _mixin_error(401, "Unauthorized, maybe invalid token.")
        return LoopbackResponse(200, {"data": {**profile, "type": "user"}})


def main() -> None:  # pragma: no cover - a process of `make fuzz`
    """`python -m standins.oauth.emulator PORT CLIENT_ID CLIENT_SECRET`: serve until killed."""
    import sys
    import threading

    port, client_id, client_secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = MixinOAuthEmulator(client_id=client_id, client_secret=client_secret)
    print(server.start(port=port), flush=True)  # noqa: T201
    threading.Event().wait()


if __name__ == "__main__":  # pragma: no cover
    main()
