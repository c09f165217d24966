"""Helpers of the Mixin Safe send and withdrawal tests (their emulator fixtures are in
`tests/orders/conftest.py`): the bot's identity, the spend key, a client of the emulator."""

from __future__ import annotations

import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orders.custody.mixin.auth import MixinSession
from orders.custody.mixin.client import MixinSafeCustody
from standins.mixin.emulator import MixinSafeEmulator

BOT = str(uuid.uuid4())
SESSION = str(uuid.uuid4())
USER = str(uuid.uuid4())
BTC = "c6d0c728-2624-429b-8e0d-d9d19b6592fa"
SPEND_SEED = bytes(range(32))


def mixin_client(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey, spend: str | None = None
) -> MixinSafeCustody:
    session = MixinSession(user_id=BOT, session_id=SESSION, private_key=key)
    return MixinSafeCustody(
        base_url=emulator.base_url,
        session=session,
        spend_private_key=SPEND_SEED.hex() if spend is None else spend,
    )


def requests_to(emulator: MixinSafeEmulator, method: str, path: str) -> int:
    """How many requests the emulator received for `method path`."""
    return sum(1 for r in emulator.requests if r.method == method and r.path == path)
