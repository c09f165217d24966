"""Fixtures of the orders tests' Mixin Safe emulator (sends and withdrawals; the client tests
keep their own, without a spend key). The order lifecycle's fixtures are the
`tests.support.order_flow` plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from standins.mixin.emulator import MixinSafeEmulator
from tests.support.mixin_safe import BOT, BTC, SESSION, SPEND_SEED


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def _server(key: Ed25519PrivateKey) -> Iterator[MixinSafeEmulator]:
    spend_public = (
        Ed25519PrivateKey.from_private_bytes(SPEND_SEED)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    emu = MixinSafeEmulator(
        user_id=BOT, session_id=SESSION, public_key=key.public_key(), spend_public_key=spend_public
    )
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_server: MixinSafeEmulator) -> MixinSafeEmulator:
    _server.reset()
    _server.add_asset(asset_id=BTC, symbol="BTC", chain_id=BTC)
    return _server
