"""Mixin bot session authentication: an EdDSA (Ed25519) JWT per request.

Claims, as Mixin's SDKs sign them (bot-api-go-client `SignAuthenticationToken`,
bot-api-nodejs-client `signAuthenticationToken`): `uid` (the bot's user id), `sid` (session
id), `iat`, `exp`, `jti` (random UUID), `sig` = hex sha256 of METHOD + URI-with-query + body,
`scp` = "FULL". Sent as `Authorization: Bearer <jwt>`. Because `sig` covers the exact URI
and body bytes, the client signs exactly what it sends (see http.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# Short lifetime: a leaked header is useless soon, and the server clock is checked anyway.
DEFAULT_TOKEN_TTL = timedelta(seconds=600)


def load_session_private_key(value: str) -> Ed25519PrivateKey:
    """The session key as Mixin keystores carry it: hex of the 32-byte seed (new keystores),
    hex of the 64-byte seed||public key, or base64url of either (older SDKs)."""
    text = value.strip()
    candidates: list[bytes] = []
    try:
        candidates.append(bytes.fromhex(text))
    except ValueError:
        pass
    try:
        candidates.append(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        pass
    raw = next((c for c in candidates if len(c) in (32, 64)), None)
    if raw is None:
        raise ValueError(
            "session private key must be a 32- or 64-byte Ed25519 key (hex or base64url)"
        )
    return Ed25519PrivateKey.from_private_bytes(raw[:32])


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def request_signature(method: str, uri: str, body: bytes | str = b"") -> str:
    """`sig`: hex sha256 of METHOD + URI (path and query, exactly as sent) + body."""
    data = body.encode() if isinstance(body, str) else body
    return hashlib.sha256(method.upper().encode() + uri.encode() + data).hexdigest()


@dataclass(frozen=True)
class MixinSession:
    user_id: str  # the bot's Mixin user id (the app id for a bot)
    session_id: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_settings(cls, *, user_id: str, session_id: str, private_key: str) -> MixinSession:
        return cls(
            user_id=user_id,
            session_id=session_id,
            private_key=load_session_private_key(private_key),
        )

    def sign(
        self,
        *,
        method: str,
        uri: str,
        body: bytes = b"",
        now: datetime | None = None,
        ttl: timedelta = DEFAULT_TOKEN_TTL,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "uid": self.user_id,
            "sid": self.session_id,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            "jti": str(uuid.uuid4()),
            "sig": request_signature(method, uri, body),
            "scp": "FULL",
        }
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"typ": "JWT"})


def verify_token(
    token: str, *, public_key: Ed25519PublicKey, method: str, uri: str, body: bytes
) -> dict[str, object]:
    """Verify a session JWT as Mixin does (used by the emulator). Raises `jwt.InvalidTokenError`."""
    claims: dict[str, object] = jwt.decode(
        token,
        public_key,
        algorithms=["EdDSA"],
        options={"require": ["exp", "iat", "sig", "uid", "sid", "jti"]},
    )
    if claims.get("sig") != request_signature(method, uri, body):
        raise jwt.InvalidSignatureError("sig does not match method + uri + body")
    if claims.get("scp") != "FULL":
        raise jwt.InvalidTokenError("scope is not FULL")
    return claims
