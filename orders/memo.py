"""Payment memo codec, version 1 (`shared/vectors/memo.md`).

A user pays an order by transferring to the bot with the memo we handed out; the snapshot
brings it back. Layout:

    payload  = version (1 byte, =1) | trading type (1) | action (1) | fields
    memo     = base58btc(payload || sha256(sha256(payload))[0:4])

Field layouts defined by version 1 (any other length is rejected, so a truncated or padded
memo can never be read as a different order):

    market making create = pair id (16 raw UUID bytes) | order id (16) | [reward address (20)]
                           -> payload length 35 or 55
    simply grow create   = order id (16) | reward address (20) -> payload length 39

Mixin's Safe API hands a snapshot's memo back as the hex of the memo's UTF-8 bytes, so
`memo_decode_hex` reads: hex -> UTF-8 -> base58 -> checksum -> fields. Every failure raises
one `MemoError` whose `reason` says exactly what was wrong; intake refunds on any of them.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import base58

from mrmarket.exceptions import ValidationFailed

MEMO_VERSION = 1
_HEADER_LEN = 3  # version | trading type | action
_CHECKSUM_LEN = 4
_UUID_LEN = 16
_ADDRESS_LEN = 20
_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
# Longest memo we will even try to decode: Mixin caps memos far below this; refusing early
# keeps a hostile snapshot from making us base58-decode megabytes.
_MAX_MEMO_CHARS = 512


class TradingType(IntEnum):
    SPOT = 0
    SWAP = 1
    SIMPLY_GROW = 2
    MARKET_MAKING = 3
    ARBITRAGE = 4
    LEVERAGE = 5
    PERPETUAL = 6


class MemoAction(IntEnum):
    CREATE = 1
    DEPOSIT = 2


class MemoErrorReason(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_HEX = "not_hex"
    NOT_UTF8 = "not_utf8"
    BAD_BASE58 = "bad_base58"
    TOO_SHORT = "too_short"
    BAD_CHECKSUM = "bad_checksum"
    WRONG_VERSION = "wrong_version"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_ACTION = "unknown_action"
    UNSUPPORTED = "unsupported"  # a known type/action that version 1 gives no field layout
    WRONG_LENGTH = "wrong_length"
    BAD_FIELD = "bad_field"  # encoder input: not a UUID / not a 20-byte EVM address


class MemoError(ValidationFailed):
    """A memo that cannot be decoded (or encoded). `reason` is machine-readable."""

    code = "invalid_memo"

    def __init__(self, reason: MemoErrorReason, detail: str) -> None:
        super().__init__(f"invalid memo ({reason.value}): {detail}", payload={"reason": reason})
        self.reason = reason


@dataclass(frozen=True)
class Memo:
    """A decoded memo. `pair_id` is set for market making only; ids are canonical UUID text;
    `reward_address` is a lowercase `0x` EVM address or None."""

    version: int
    trading_type: TradingType
    action: MemoAction
    order_id: str
    pair_id: str | None = None
    reward_address: str | None = None


# (trading type, action) -> allowed payload lengths.
_LAYOUTS: dict[tuple[TradingType, MemoAction], frozenset[int]] = {
    (TradingType.MARKET_MAKING, MemoAction.CREATE): frozenset(
        {_HEADER_LEN + 2 * _UUID_LEN, _HEADER_LEN + 2 * _UUID_LEN + _ADDRESS_LEN}
    ),
    (TradingType.SIMPLY_GROW, MemoAction.CREATE): frozenset(
        {_HEADER_LEN + _UUID_LEN + _ADDRESS_LEN}
    ),
}


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:_CHECKSUM_LEN]


def _uuid_bytes(value: str, field: str) -> bytes:
    try:
        return uuid.UUID(str(value)).bytes
    except (ValueError, AttributeError, TypeError) as exc:
        raise MemoError(MemoErrorReason.BAD_FIELD, f"{field} is not a UUID") from exc


def _address_bytes(value: str) -> bytes:
    if not _ADDRESS_RE.match(value or ""):
        raise MemoError(MemoErrorReason.BAD_FIELD, "reward address is not a 0x + 40 hex address")
    return bytes.fromhex(value[2:])


def _pack(payload: bytes) -> str:
    return base58.b58encode(payload + _checksum(payload)).decode("ascii")


def memo_encode_market_making_create(
    *, pair_id: str, order_id: str, reward_address: str | None = None
) -> str:
    payload = bytes([MEMO_VERSION, TradingType.MARKET_MAKING, MemoAction.CREATE])
    payload += _uuid_bytes(pair_id, "pair id") + _uuid_bytes(order_id, "order id")
    if reward_address is not None:
        payload += _address_bytes(reward_address)
    return _pack(payload)


def memo_encode_simply_grow_create(*, order_id: str, reward_address: str) -> str:
    payload = bytes([MEMO_VERSION, TradingType.SIMPLY_GROW, MemoAction.CREATE])
    payload += _uuid_bytes(order_id, "order id") + _address_bytes(reward_address)
    return _pack(payload)


def memo_encode(memo: Memo) -> str:
    """Encode a `Memo` value (the inverse of `memo_decode`)."""
    if memo.version != MEMO_VERSION:
        raise MemoError(MemoErrorReason.WRONG_VERSION, f"cannot encode version {memo.version}")
    if (memo.trading_type, memo.action) == (TradingType.MARKET_MAKING, MemoAction.CREATE):
        if memo.pair_id is None:
            raise MemoError(MemoErrorReason.BAD_FIELD, "market making create needs a pair id")
        return memo_encode_market_making_create(
            pair_id=memo.pair_id, order_id=memo.order_id, reward_address=memo.reward_address
        )
    if (memo.trading_type, memo.action) == (TradingType.SIMPLY_GROW, MemoAction.CREATE):
        if memo.reward_address is None:
            raise MemoError(MemoErrorReason.BAD_FIELD, "simply grow create needs an address")
        return memo_encode_simply_grow_create(
            order_id=memo.order_id, reward_address=memo.reward_address
        )
    raise MemoError(
        MemoErrorReason.UNSUPPORTED,
        f"no version-1 layout for type {memo.trading_type.name} action {memo.action.name}",
    )


def memo_decode(text: str) -> Memo:
    """Decode the base58 memo text (as handed out by the intent endpoint)."""
    if not text:
        raise MemoError(MemoErrorReason.EMPTY, "memo is empty")
    if len(text) > _MAX_MEMO_CHARS:
        raise MemoError(MemoErrorReason.TOO_LONG, f"memo is {len(text)} characters")
    try:
        raw = base58.b58decode(text.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise MemoError(
            MemoErrorReason.BAD_BASE58, "memo is not base58 (Bitcoin alphabet)"
        ) from exc
    if len(raw) < _HEADER_LEN + _CHECKSUM_LEN:
        raise MemoError(MemoErrorReason.TOO_SHORT, f"{len(raw)} bytes is shorter than a header")
    payload, checksum = raw[:-_CHECKSUM_LEN], raw[-_CHECKSUM_LEN:]
    if _checksum(payload) != checksum:
        raise MemoError(MemoErrorReason.BAD_CHECKSUM, "checksum does not match the payload")
    version, type_byte, action_byte = payload[0], payload[1], payload[2]
    if version != MEMO_VERSION:
        raise MemoError(MemoErrorReason.WRONG_VERSION, f"version {version}, expected 1")
    try:
        trading_type = TradingType(type_byte)
    except ValueError as exc:
        raise MemoError(MemoErrorReason.UNKNOWN_TYPE, f"trading type {type_byte}") from exc
    try:
        action = MemoAction(action_byte)
    except ValueError as exc:
        raise MemoError(MemoErrorReason.UNKNOWN_ACTION, f"action {action_byte}") from exc
    lengths = _LAYOUTS.get((trading_type, action))
    if lengths is None:
        raise MemoError(
            MemoErrorReason.UNSUPPORTED,
            f"no version-1 layout for type {trading_type.name} action {action.name}",
        )
    if len(payload) not in lengths:
        raise MemoError(
            MemoErrorReason.WRONG_LENGTH,
            f"payload is {len(payload)} bytes, expected one of {sorted(lengths)}",
        )
    fields = payload[_HEADER_LEN:]
    if trading_type is TradingType.MARKET_MAKING:
        pair_id = str(uuid.UUID(bytes=fields[:_UUID_LEN]))
        order_id = str(uuid.UUID(bytes=fields[_UUID_LEN : 2 * _UUID_LEN]))
        address = fields[2 * _UUID_LEN :]
        return Memo(
            version=version,
            trading_type=trading_type,
            action=action,
            pair_id=pair_id,
            order_id=order_id,
            reward_address=("0x" + address.hex()) if address else None,
        )
    # simply grow create: order id | address
    return Memo(
        version=version,
        trading_type=trading_type,
        action=action,
        order_id=str(uuid.UUID(bytes=fields[:_UUID_LEN])),
        reward_address="0x" + fields[_UUID_LEN:].hex(),
    )


def memo_decode_hex(memo_hex: str) -> Memo:
    """Decode a memo as Mixin's Safe API returns it: the hex of the memo's UTF-8 bytes."""
    if not memo_hex:
        raise MemoError(MemoErrorReason.EMPTY, "memo is empty")
    if len(memo_hex) > 2 * _MAX_MEMO_CHARS:
        raise MemoError(MemoErrorReason.TOO_LONG, f"hex memo is {len(memo_hex)} characters")
    try:
        raw = binascii.unhexlify(memo_hex)
    except (binascii.Error, ValueError) as exc:
        raise MemoError(MemoErrorReason.NOT_HEX, "memo is not hex") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MemoError(MemoErrorReason.NOT_UTF8, "memo bytes are not UTF-8") from exc
    return memo_decode(text)


def memo_to_hex(text: str) -> str:
    """The hex-of-UTF-8 form Mixin stores a memo in (what the fake custody stores too)."""
    return text.encode("utf-8").hex()
