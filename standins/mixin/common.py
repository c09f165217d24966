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

# Mixin's documented errors: code -> (HTTP status, description). From developers.mixin.one
# "Error Codes" (developers-docs/docs/api/error-codes.md): "Only 20x and 500 will be used by
# Mixin API" — application errors, rate limiting (429) and authentication (401) included,
# come on HTTP 202 with `{"error": {"status", "code", "description"}}`; server errors on HTTP
# 500 with the same envelope. Descriptions as the docs and bot-api-go-client's error.go give
# them (AuthorizationError, BadDataError, NotFoundError, ServerError, BlazeServerError).
MIXIN_ERRORS: dict[int, tuple[int, str]] = {
    400: (202, "The request body can't be pasred as valid data."),
    401: (202, "Unauthorized, maybe invalid token."),
    403: (202, "Forbidden"),
    404: (202, "The endpoint is not found."),
    429: (202, "Too Many Requests."),
    10002: (202, "The request data has invalid field."),
    10006: (202, "App update required."),
    10104: (202, "address generating."),
    10105: (202, "locked by another transaction"),
    20117: (202, "Insufficient balance."),
    20120: (202, "Transfer amount too small."),
    20124: (202, "Insufficient fee."),
    20127: (202, "Withdraw amount too small."),
    20131: (202, "Withdrawal memo format incorret."),
    20134: (202, "Withdraw amount too large."),
    20135: (202, "Withdraw fee too small."),
    20150: (202, "receivers contain duplicate or invalid data."),
    30102: (202, "Invalid address format."),
    500: (500, "Internal Server Error"),
    7000: (500, "Blaze server error."),
    7001: (500, "The blaze operation timeout."),
}


def mixin_error(
    code: int, description: str | None = None, *, extra: object = None
) -> LoopbackResponse:
    """Mixin's error answer for `code`: its documented HTTP status and envelope (an unknown
    code comes on 202, like every application error). `description` defaults to Mixin's;
    10002 carries the field's detail in `extra`, as the docs say."""
    status, known = MIXIN_ERRORS.get(code, (202, ""))
    error: dict[str, object] = {
        "status": status,
        "code": code,
        "description": description or known or "error",
    }
    if extra is not None:
        error["extra"] = extra
    return LoopbackResponse(status, {"error": error})


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
