"""Pieces both halves of the Mixin Safe stand-in share: error bodies, faults, outputs,
random points and the kernel asset hash."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from nacl import bindings as sodium

from mrmarket.testing.loopback import LoopbackResponse
from orders.custody.mixin.kernel import (
    kernel_asset_id,
)


def mixin_error(code: int, description: str) -> LoopbackResponse:
    return LoopbackResponse(
        202, {"error": {"status": 202, "code": code, "description": description}}
    )


@dataclass
class _Fault:
    calls: int
    status: int = 202
    code: int | None = None
    description: str = ""
    delay: float = 0.0


def _random_scalar() -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(uuid.uuid4().bytes * 4))


def _random_point() -> bytes:
    return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(_random_scalar()))


def kernel_asset(asset_id: str) -> str:
    """The kernel asset hash of an asset id, as the kernel derives it: SHA3-256 of the id
    (MixinNetwork/mixin `crypto.Sha256Hash` is `sha3.Sum256`; common/asset.go)."""
    return kernel_asset_id(asset_id).hex()


@dataclass
class EmulatedOutput:
    sequence: int
    asset: str
    amount: Decimal
    output_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    transaction_hash: str = field(default_factory=lambda: uuid.uuid4().hex * 2)
    output_index: int = 0
    keys: tuple[str, ...] = ()
    mask: str = ""
    view: bytes = b""  # the scalar x with key = x·G + spend public key
    state: str = "unspent"
