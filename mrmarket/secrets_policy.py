"""Start-up checks of secrets and of what production may run (issue 19).

`settings.py` calls `production_check` when `MRMARKET_ENV=production` and `key_formats_check`
always, so a weak or malformed secret stops the process at start (every `manage.py`
command, the web server, the worker) instead of failing with a 500 at first use. Pure
functions over strings: no Django import, so settings can use them.

Strength rules (documented in docs/operations.md):

* `SECRET_KEY` (and `ADMIN_JWT_SECRET` when set): at least 50 characters, 10 distinct, and
  not Django's `django-insecure-` placeholder (Django's own `security.W009` bar, raised).
* `ADMIN_PASSWORD`: at least 12 characters, 8 distinct, and at least 64 bits by the
  character-class estimate `length * log2(size of the classes used)`.
* Keys: 32-byte keys as 64 hex digits or base64 (the formats `exchanges.secrets` reads), the
  EVM wallet key as 0x + 64 hex, Ed25519 seeds as hex or base64url of 32 or 64 bytes.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import string
from collections.abc import Mapping


class WeakSecret(ValueError):
    pass


SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_DISTINCT = 10
PASSWORD_MIN_LENGTH = 12
PASSWORD_MIN_DISTINCT = 8
PASSWORD_MIN_BITS = 64
_EVM_KEY = re.compile(r"0x[0-9a-fA-F]{64}")


def signing_secret_check(name: str, value: str) -> None:
    if value.startswith("django-insecure-"):
        raise WeakSecret(f"{name} is Django's insecure placeholder")
    if len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < SECRET_KEY_MIN_DISTINCT:
        raise WeakSecret(
            f"{name} must be at least {SECRET_KEY_MIN_LENGTH} characters with at least "
            f"{SECRET_KEY_MIN_DISTINCT} distinct ones (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`)"
        )


def password_bits(value: str) -> float:
    """Entropy estimate from the character classes used (an upper bound, so the bar is high)."""
    pool = 0
    for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        if any(c in chars for c in value):
            pool += len(chars)
    if any(not (c.isascii() and c.isalnum()) for c in value):
        pool += 33
    return len(value) * math.log2(pool) if pool else 0.0


def password_check(name: str, value: str) -> None:
    if (
        len(value) < PASSWORD_MIN_LENGTH
        or len(set(value)) < PASSWORD_MIN_DISTINCT
        or password_bits(value) < PASSWORD_MIN_BITS
    ):
        raise WeakSecret(
            f"{name} is too weak: at least {PASSWORD_MIN_LENGTH} characters, "
            f"{PASSWORD_MIN_DISTINCT} distinct, about {PASSWORD_MIN_BITS} bits "
            "(mix letters, digits and symbols)"
        )


def key32_parse(name: str, value: str) -> bytes:
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
        raise WeakSecret(f"{name} must be 32 bytes, as 64 hex digits or base64")
    return raw


def ed25519_seed_check(name: str, value: str) -> None:
    """Mixin keystore formats: hex or base64url of the 32-byte seed or the 64-byte seed||public."""
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
    if not any(len(c) in (32, 64) for c in candidates):
        raise WeakSecret(f"{name} must be a 32- or 64-byte Ed25519 key (hex or base64url)")


def key_formats_check(values: Mapping[str, str], old_field_keys: list[str]) -> None:
    """Formats of every key that is set, in every environment."""
    for name in ("EXCHANGE_KEYS_PRIVATE_KEY", "FIELD_ENCRYPTION_KEY"):
        key32_parse(name, values[name])
    for index, old in enumerate(old_field_keys):
        key32_parse(f"FIELD_ENCRYPTION_OLD_KEYS[{index}]", old)
    if not _EVM_KEY.fullmatch(values["HUFI_WALLET_PRIVATE_KEY"].strip()):
        raise WeakSecret("HUFI_WALLET_PRIVATE_KEY must be 0x followed by 64 hex digits")
    for name in ("MIXIN_SESSION_PRIVATE_KEY", "MIXIN_SPEND_PRIVATE_KEY"):
        if values.get(name):
            ed25519_seed_check(name, values[name])
    if values.get("MIXIN_SERVER_PUBLIC_KEY"):
        try:
            ok = len(bytes.fromhex(values["MIXIN_SERVER_PUBLIC_KEY"].strip())) == 32
        except ValueError:
            ok = False
        if not ok:
            raise WeakSecret("MIXIN_SERVER_PUBLIC_KEY must be 64 hex digits (32 bytes)")


def production_check(values: Mapping[str, str]) -> None:
    """What production refuses: weak secrets, the fake custody, a Mixin custody without keys."""
    signing_secret_check("SECRET_KEY", values["SECRET_KEY"])
    if values.get("ADMIN_JWT_SECRET"):
        signing_secret_check("ADMIN_JWT_SECRET", values["ADMIN_JWT_SECRET"])
    password_check("ADMIN_PASSWORD", values["ADMIN_PASSWORD"])
    if values["CUSTODY_BACKEND"] != "mixin":
        raise WeakSecret(
            f"CUSTODY_BACKEND={values['CUSTODY_BACKEND']!r} is not allowed in production: "
            "the fake custody is a database wallet for demos and tests; use 'mixin'"
        )
    missing = [
        name
        for name in ("MIXIN_SESSION_ID", "MIXIN_SESSION_PRIVATE_KEY", "MIXIN_SPEND_PRIVATE_KEY")
        if not values.get(name)
    ]
    if missing:
        raise WeakSecret(f"CUSTODY_BACKEND=mixin needs {', '.join(missing)} in production")
