"""Exchange API secrets: sealed in transit, encrypted at rest, opened only to build a client.

In transit. The server holds a libsodium Box (X25519) key pair. `GET /admin/exchanges/key-pair`
publishes the public key (standard base64, 32 bytes); the operator's browser seals `api_secret`
with `crypto_box_seal` to it, so the secret never crosses the wire (or a proxy's log) in the
clear and only this server can open it. The private key comes from `EXCHANGE_KEYS_PRIVATE_KEY`
(required in production; generated once under `VAR_DIR` in development).

At rest. Opened secrets are re-encrypted with a SecretBox (XSalsa20-Poly1305, random 24-byte
nonce) under `FIELD_ENCRYPTION_KEY`. A stored value reads `v1:<kid>:<base64(nonce||box)>`:
`v1` is the format and `kid` the first 8 hex digits of the BLAKE2b hash of the key that wrote it,
so a rotation is: set the new key, list the previous one in `FIELD_ENCRYPTION_OLD_KEYS`, run
`manage.py exchange_secrets_rotate`, then drop the old key. Decryption with an unknown `kid`
fails loudly instead of guessing.

Nothing here logs a plaintext or a ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.secret
import nacl.utils
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from exchanges.exceptions import SealedSecretInvalid, SecretDecryptionFailed

CIPHERTEXT_VERSION = "v1"
# Secrets longer than this are not API secrets (RSA/Ed25519 PEM keys of some venues fit well under it).
MAX_SECRET_CHARS = 8192
# crypto_box_SEALBYTES: the 32-byte ephemeral public key plus the 16-byte MAC.
SEALED_OVERHEAD: int = nacl.bindings.crypto_box_SEALBYTES


def key_bytes_parse(value: str, *, name: str) -> bytes:
    """A 32-byte key given as 64 hex digits or base64 (standard or URL-safe, padding optional)."""
    text = value.strip()
    raw: bytes | None = None
    if len(text) == 64:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
    if raw is None:
        try:
            std = text.replace("-", "+").replace("_", "/")
            raw = base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise ImproperlyConfigured(f"{name} must be 32 bytes, as 64 hex digits or base64")
    return raw


@functools.lru_cache(maxsize=8)
def _box_private_key(value: str) -> nacl.public.PrivateKey:
    return nacl.public.PrivateKey(key_bytes_parse(value, name="EXCHANGE_KEYS_PRIVATE_KEY"))


def server_private_key() -> nacl.public.PrivateKey:
    return _box_private_key(settings.EXCHANGE_KEYS_PRIVATE_KEY)


def server_public_key_b64() -> str:
    """The Box public key clients seal to, in standard base64 (libsodium's `base64_variants.ORIGINAL`)."""
    return base64.b64encode(bytes(server_private_key().public_key)).decode("ascii")


def sealed_open(*, sealed_b64: str, field: str = "api_secret") -> str:
    """Opens a `crypto_box_seal` box (base64) sent to our public key; SealedSecretInvalid otherwise."""
    hint = (
        f"{field} must be sealed with libsodium crypto_box_seal to the publicKey of "
        "GET /admin/exchanges/key-pair and sent as base64"
    )
    text = (sealed_b64 or "").strip()
    try:
        std = text.replace("-", "+").replace("_", "/")
        box = base64.b64decode(std + "=" * (-len(std) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise SealedSecretInvalid(f"{hint}; it is not valid base64.") from None
    if len(box) <= SEALED_OVERHEAD:
        raise SealedSecretInvalid(f"{hint}; it is too short to be a sealed box.")
    try:
        plain = nacl.public.SealedBox(server_private_key()).decrypt(box)
    except nacl.exceptions.CryptoError:
        # Wrong key (e.g. sealed to an old key pair) or tampered: never echo what we got.
        raise SealedSecretInvalid(f"{hint}; it could not be opened with the current key.") from None
    try:
        secret = plain.decode("utf-8")
    except UnicodeDecodeError:
        raise SealedSecretInvalid(f"{field} must seal UTF-8 text.") from None
    if not secret or len(secret) > MAX_SECRET_CHARS:
        raise SealedSecretInvalid(f"{field} must seal 1 to {MAX_SECRET_CHARS} characters.")
    return secret


def seal_for_tests(*, plaintext: str, public_key_b64: str | None = None) -> str:
    """What a client does (`crypto_box_seal`); used by tests, the console and docs examples."""
    key = nacl.public.PublicKey(base64.b64decode(public_key_b64 or server_public_key_b64()))
    return base64.b64encode(nacl.public.SealedBox(key).encrypt(plaintext.encode("utf-8"))).decode()


# ---------------------------------------------------------------------------- at rest


@dataclass(frozen=True)
class _FieldKey:
    kid: str
    box: nacl.secret.SecretBox


def _kid(raw: bytes) -> str:
    return hashlib.blake2b(raw, digest_size=4).hexdigest()


@functools.lru_cache(maxsize=8)
def _field_keys(current: str, old: tuple[str, ...]) -> tuple[_FieldKey, ...]:
    keys = []
    for value in (current, *old):
        raw = key_bytes_parse(value, name="FIELD_ENCRYPTION_KEY")
        keys.append(_FieldKey(kid=_kid(raw), box=nacl.secret.SecretBox(raw)))
    return tuple(keys)


def _keys() -> tuple[_FieldKey, ...]:
    return _field_keys(settings.FIELD_ENCRYPTION_KEY, tuple(settings.FIELD_ENCRYPTION_OLD_KEYS))


def secret_encrypt(plaintext: str) -> str:
    """`v1:<kid>:<base64>` under the current field key. Empty stays empty (an unset optional secret)."""
    if plaintext == "":
        return ""
    current = _keys()[0]
    sealed = current.box.encrypt(plaintext.encode("utf-8"), nacl.utils.random(24))
    return f"{CIPHERTEXT_VERSION}:{current.kid}:{base64.b64encode(bytes(sealed)).decode()}"


def secret_decrypt(token: str) -> str:
    if token == "":
        return ""
    try:
        version, kid, payload = token.split(":", 2)
    except ValueError:
        raise SecretDecryptionFailed("stored secret has an unknown format") from None
    if version != CIPHERTEXT_VERSION:
        raise SecretDecryptionFailed(f"stored secret has unknown version {version!r}")
    for key in _keys():
        if key.kid == kid:
            try:
                return key.box.decrypt(base64.b64decode(payload)).decode("utf-8")
            except (nacl.exceptions.CryptoError, binascii.Error, UnicodeDecodeError):
                raise SecretDecryptionFailed("stored secret failed authentication") from None
    raise SecretDecryptionFailed(f"no configured FIELD_ENCRYPTION_KEY has id {kid}")


def secret_key_id(token: str) -> str:
    """The `kid` a stored secret was written with ('' for an empty one)."""
    return token.split(":", 2)[1] if token.count(":") >= 2 else ""


def current_key_id() -> str:
    return _keys()[0].kid
