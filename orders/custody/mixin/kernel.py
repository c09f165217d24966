"""Mixin kernel transactions, version 5 (Safe): binary encoding, decoding and input signing.

Followed (see docs/decisions/0320-mixin-safe-kernel-transactions.md):
- encoding: MixinNetwork/mixin `common/encoding.go` (magic 0x7777, big-endian uint16 counts,
  `Integer` = length-prefixed big-endian of amount × 10^8) and the v5 layout of
  bot-api-nodejs-client `encodeSafeTransaction` (after outputs: uint16 count of 32-byte
  references, then the extra as uint32 length + bytes; a withdrawal output carries only
  address + tag);
- signing: bot-api-nodejs-client `signSafeTransaction` / `edwards25519.sign`: the message is
  blake3 of the unsigned encoding; the key of input i is the scalar view_i + y, where view_i is
  what `POST /safe/transaction/requests` answers in `views[i]` and y is the clamped first half
  of sha512(spend seed); the signature is Ed25519 with that raw scalar (nonce from
  sha512(sha512(key)[32:] || message)), so any Ed25519 verifier checks it against key·G.
The vector of mixin_bot_sdk_dart's "safe transaction signature" test reproduces byte for byte
(tests/orders/test_mixin_kernel.py). Deposit and mint inputs and aggregated signatures are
not ours to build, so the decoder refuses them instead of half-reading them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import blake3
from nacl import bindings as sodium

TX_VERSION = 0x05
OUTPUT_TYPE_SCRIPT = 0x00
OUTPUT_TYPE_WITHDRAWAL_SUBMIT = 0xA1
# The kernel's general extra limit (MixinNetwork/mixin common/transaction.go
# `ExtraSizeGeneralLimit`); larger extras need XIN storage outputs, which we never build.
# (bot-api-nodejs-client `buildSafeTransaction` checks 512, more than the kernel accepts.)
MAX_EXTRA = 256
# The kernel's `Integer` has 8 decimal places.
AMOUNT_UNIT = Decimal(10) ** 8
MAX_ENCODING_INT = 0xFFFF
_MAGIC = b"\x77\x77"
_NULL = b"\x00\x00"
# Ed25519 group order - 1, little-endian: the largest canonical scalar.
_L = 2**252 + 27742317777372353535851937790883648493


class KernelEncodingError(ValueError):
    """Bytes or values that are not a version-5 transaction this client can handle."""


@dataclass(frozen=True)
class Input:
    hash: bytes  # the spent output's transaction hash (32 bytes)
    index: int


@dataclass(frozen=True)
class Withdrawal:
    address: str
    tag: str = ""


@dataclass(frozen=True)
class Output:
    type: int
    amount: Decimal
    keys: tuple[bytes, ...] = ()
    mask: bytes = b"\x00" * 32
    script: bytes = b""
    withdrawal: Withdrawal | None = None


@dataclass(frozen=True)
class Transaction:
    asset: bytes  # the kernel asset hash (32 bytes), an output's `asset` in the Safe API
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    extra: bytes = b""
    references: tuple[bytes, ...] = ()
    # One map per input: key index within the spent output's keys -> 64-byte signature.
    signatures: tuple[dict[int, bytes], ...] = field(default=())
    version: int = TX_VERSION


def kernel_asset_id(asset_id: str) -> bytes:
    """The kernel asset hash of a Mixin asset id: SHA3-256 of the id's text
    (MixinNetwork/mixin `crypto.Sha256Hash` is sha3.Sum256; common/asset.go derives
    `XINAssetId` this way, checked in encoding_test.go `TestEncoding`)."""
    return hashlib.sha3_256(str(uuid.UUID(asset_id)).encode()).digest()


def threshold_script(threshold: int) -> bytes:
    """`fffe` + threshold: "the sum of signatures >= threshold" (common.NewThresholdScript)."""
    if not 1 <= threshold <= 255:
        raise KernelEncodingError(f"bad threshold {threshold}")
    return bytes([0xFF, 0xFE, threshold])


def amount_to_integer(amount: Decimal) -> int:
    units = amount * AMOUNT_UNIT
    if units != units.to_integral_value() or units <= 0:
        raise KernelEncodingError(f"amount {amount} is not a positive multiple of 1e-8")
    return int(units)


def integer_to_amount(units: int) -> Decimal:
    return (Decimal(units) / AMOUNT_UNIT).quantize(Decimal("1e-8"))


# ---------------------------------------------------------------------------- encoding


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def int16(self, value: int) -> None:
        if not 0 <= value <= MAX_ENCODING_INT:
            raise KernelEncodingError(f"{value} does not fit the kernel's uint16")
        self.buf += value.to_bytes(2, "big")

    def bytes16(self, data: bytes) -> None:
        self.int16(len(data))
        self.buf += data

    def fixed(self, data: bytes, size: int, what: str) -> None:
        if len(data) != size:
            raise KernelEncodingError(f"{what} must be {size} bytes")
        self.buf += data


def encode_transaction(tx: Transaction, *, signed: bool = True) -> bytes:
    """The kernel bytes; `signed=False` leaves the signatures out (what is hashed/signed)."""
    if tx.version != TX_VERSION:
        raise KernelEncodingError(f"only version {TX_VERSION} is supported")
    if len(tx.extra) > MAX_EXTRA:
        raise KernelEncodingError(f"extra is longer than {MAX_EXTRA} bytes")
    w = _Writer()
    w.buf += _MAGIC + bytes([0x00, tx.version])
    w.fixed(tx.asset, 32, "asset")
    w.int16(len(tx.inputs))
    for item in tx.inputs:
        w.fixed(item.hash, 32, "input hash")
        w.int16(item.index)
        w.bytes16(b"")  # genesis
        w.buf += _NULL + _NULL  # no deposit, no mint
    w.int16(len(tx.outputs))
    for out in tx.outputs:
        if not 0 <= out.type <= 0xFF:
            raise KernelEncodingError(f"bad output type {out.type}")
        w.buf += bytes([0x00, out.type])
        units = amount_to_integer(out.amount)
        w.bytes16(units.to_bytes((units.bit_length() + 7) // 8, "big"))
        w.int16(len(out.keys))
        for key in out.keys:
            w.fixed(key, 32, "output key")
        w.fixed(out.mask, 32, "output mask")
        w.bytes16(out.script)
        if out.withdrawal is None:
            w.buf += _NULL
        else:
            w.buf += _MAGIC
            w.bytes16(out.withdrawal.address.encode())
            w.bytes16(out.withdrawal.tag.encode())
    w.int16(len(tx.references))
    for ref in tx.references:
        w.fixed(ref, 32, "reference")
    w.buf += len(tx.extra).to_bytes(4, "big") + tx.extra
    signatures = tx.signatures if signed else ()
    w.int16(len(signatures))
    for sig_map in signatures:
        w.int16(len(sig_map))
        for index in sorted(sig_map):
            w.int16(index)
            w.fixed(sig_map[index], 64, "signature")
    return bytes(w.buf)


# ---------------------------------------------------------------------------- decoding


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise KernelEncodingError("transaction is truncated")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def int16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def bytes16(self) -> bytes:
        return self.take(self.int16())


def decode_transaction(raw: bytes) -> Transaction:
    r = _Reader(raw)
    if r.take(2) != _MAGIC:
        raise KernelEncodingError("no kernel magic")
    head = r.take(2)
    if head[0] != 0 or head[1] != TX_VERSION:
        raise KernelEncodingError(f"version {head.hex()} is not supported")
    asset = r.take(32)
    inputs = []
    for _ in range(r.int16()):
        tx_hash, index = r.take(32), r.int16()
        if r.bytes16() or r.take(2) != _NULL or r.take(2) != _NULL:
            raise KernelEncodingError("genesis, deposit or mint inputs are not supported")
        inputs.append(Input(hash=tx_hash, index=index))
    outputs = []
    for _ in range(r.int16()):
        prefix = r.take(2)
        if prefix[0] != 0:
            raise KernelEncodingError("bad output type prefix")
        amount = integer_to_amount(int.from_bytes(r.bytes16(), "big"))
        keys = tuple(r.take(32) for _ in range(r.int16()))
        mask = r.take(32)
        script = r.bytes16()
        marker = r.take(2)
        withdrawal = None
        if marker == _MAGIC:
            address = r.bytes16().decode()
            withdrawal = Withdrawal(address=address, tag=r.bytes16().decode())
        elif marker != _NULL:
            raise KernelEncodingError("bad withdrawal marker")
        outputs.append(
            Output(
                type=prefix[1],
                amount=amount,
                keys=keys,
                mask=mask,
                script=script,
                withdrawal=withdrawal,
            )
        )
    references = tuple(r.take(32) for _ in range(r.int16()))
    extra = r.take(int.from_bytes(r.take(4), "big"))
    count = r.int16()
    if count == MAX_ENCODING_INT:
        raise KernelEncodingError("aggregated signatures are not supported")
    signatures = []
    for _ in range(count):
        sig_map: dict[int, bytes] = {}
        for _ in range(r.int16()):
            index = r.int16()
            sig_map[index] = r.take(64)
        signatures.append(sig_map)
    if r.pos != len(raw):
        raise KernelEncodingError("trailing bytes after the transaction")
    return Transaction(
        asset=asset,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        extra=extra,
        references=references,
        signatures=tuple(signatures),
    )


def transaction_hash(tx: Transaction) -> bytes:
    """The kernel transaction hash, and the message every input signs: blake3(unsigned)."""
    return blake3.blake3(encode_transaction(tx, signed=False)).digest()


# ---------------------------------------------------------------------------- signing


def _reduce(data: bytes) -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(data.ljust(64, b"\x00")))


def spend_scalar(spend_seed: bytes) -> bytes:
    """y: the clamped first half of sha512(seed), as Ed25519 derives a private scalar."""
    if len(spend_seed) != 32:
        raise KernelEncodingError("the spend key seed must be 32 bytes")
    h = bytearray(hashlib.sha512(spend_seed).digest()[:32])
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return _reduce(bytes(h))


def input_private_key(*, view: bytes, spend_seed: bytes) -> bytes:
    """view + y (mod L): the one-time key of a bot-owned output."""
    if len(view) != 32 or int.from_bytes(view, "little") >= _L:
        raise KernelEncodingError("a view must be a canonical 32-byte scalar")
    return bytes(sodium.crypto_core_ed25519_scalar_add(view, spend_scalar(spend_seed)))


def public_from_scalar(scalar: bytes) -> bytes:
    return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(scalar))


def sign_with_scalar(message: bytes, scalar: bytes) -> bytes:
    """Ed25519 with a raw scalar key (no seed): R = z·G, s = H(R‖A‖M)·key + z."""
    prefix = hashlib.sha512(scalar).digest()[32:]
    z = _reduce(hashlib.sha512(prefix + message).digest())
    big_r = public_from_scalar(z)
    public = public_from_scalar(scalar)
    x = _reduce(hashlib.sha512(big_r + public + message).digest())
    s = sodium.crypto_core_ed25519_scalar_add(sodium.crypto_core_ed25519_scalar_mul(x, scalar), z)
    return big_r + bytes(s)


def sign_transaction(
    tx: Transaction,
    *,
    views: list[bytes],
    spend_seed: bytes,
    input_keys: list[tuple[bytes, ...] | None] | None = None,
) -> Transaction:
    """Sign every input with view_i + y, as both SDKs do.

    The bot's outputs are 1-of-1 (one key), so the signature goes under key index 0
    (bot-api-go-client `transaction.go`: `sigs[0] = &sig // for 1/1 bot transaction`;
    bot-api-nodejs-client `signSafeTransaction(..., index = 0)`): signing needs no listing of
    the spent outputs. When an input's keys are known (`input_keys[i]`, e.g. from the
    outputs just selected), the derived key must be one of them and its index is used; a key
    that opens none of them means the view or the spend key is wrong, and nothing is signed.
    """
    if len(views) != len(tx.inputs):
        raise KernelEncodingError("one view per input is required")
    known = input_keys if input_keys is not None else [None] * len(tx.inputs)
    if len(known) != len(tx.inputs):
        raise KernelEncodingError("input_keys must have one entry per input")
    message = transaction_hash(tx)
    signatures = []
    for view, keys in zip(views, known, strict=True):
        private = input_private_key(view=view, spend_seed=spend_seed)
        index = 0
        if keys is not None:
            public = public_from_scalar(private)
            if public not in keys:
                raise KernelEncodingError("the spend key does not open an input's output")
            index = keys.index(public)
        signatures.append({index: sign_with_scalar(message, private)})
    return Transaction(
        asset=tx.asset,
        inputs=tx.inputs,
        outputs=tx.outputs,
        extra=tx.extra,
        references=tx.references,
        signatures=tuple(signatures),
        version=tx.version,
    )
