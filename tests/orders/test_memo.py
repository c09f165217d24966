"""The payment memo codec against every vector of `shared/vectors/memo.md`, plus properties."""

from __future__ import annotations

import hashlib
import uuid

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mrmarket.exceptions import DomainError
from orders.memo import (
    Memo,
    MemoAction,
    MemoError,
    MemoErrorReason,
    TradingType,
    memo_decode,
    memo_decode_hex,
    memo_encode,
    memo_encode_market_making_create,
    memo_encode_simply_grow_create,
    memo_to_hex,
)

PAIR = "0776b00f-95c0-46f9-85e4-7b8e7ca51e94"
ORDER = "b0177350-ae29-43ec-a26e-d46f821e416e"

# (type, action, pair id, order id, reward address, memo) — the table of vectors/memo.md.
VECTORS = [
    (
        TradingType.MARKET_MAKING,
        MemoAction.CREATE,
        PAIR,
        ORDER,
        None,
        "fKDK7dAB8tygM9cXiU3QgFBHuJYGBvZwpS11FED8C7gBTuwGMv6j",
    ),
    (
        TradingType.MARKET_MAKING,
        MemoAction.CREATE,
        PAIR,
        ORDER,
        "0x0000000000000000000000000000000000000000",
        "3MeYVTmBgmvTWQr8q9LKscJs1zr8qeG3vkFPk17hqueCyUesJDBPRTyBoh4frse7DKSrisBYfci34bjm",
    ),
    (
        TradingType.SIMPLY_GROW,
        MemoAction.CREATE,
        None,
        ORDER,
        "0x7dfa0e4456cb794d1f46cc8e0e5882dc3ad6d6d3",
        "5JkNjkChhHjzsFr6cm4yAbJPUGVDST6tk9Cxdapvvq9kFgBmJuQVoahd8v",
    ),
]


def _pack(payload: bytes) -> str:
    checksum = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    return base58.b58encode(payload + checksum).decode()


@pytest.mark.parametrize(("ttype", "action", "pair", "order", "address", "memo"), VECTORS)
def test_every_vector_encodes_to_its_memo(ttype, action, pair, order, address, memo) -> None:
    value = Memo(
        version=1,
        trading_type=ttype,
        action=action,
        pair_id=pair,
        order_id=order,
        reward_address=address,
    )
    assert memo_encode(value) == memo


@pytest.mark.parametrize(("ttype", "action", "pair", "order", "address", "memo"), VECTORS)
def test_every_vector_decodes_to_its_fields(ttype, action, pair, order, address, memo) -> None:
    expected = Memo(
        version=1,
        trading_type=ttype,
        action=action,
        pair_id=pair,
        order_id=order,
        reward_address=address,
    )
    assert memo_decode(memo) == expected
    # and in Mixin's hex-of-UTF-8 form, as a snapshot carries it
    assert memo_decode_hex(memo.encode().hex()) == expected
    assert memo_decode_hex(memo_to_hex(memo)) == expected


def test_helper_encoders_match_the_vectors() -> None:
    assert memo_encode_market_making_create(pair_id=PAIR, order_id=ORDER) == VECTORS[0][5]
    assert (
        memo_encode_market_making_create(
            pair_id=PAIR, order_id=ORDER, reward_address="0x" + "00" * 20
        )
        == VECTORS[1][5]
    )
    assert (
        memo_encode_simply_grow_create(
            order_id=ORDER, reward_address="0x7DFA0E4456CB794D1F46CC8E0E5882DC3AD6D6D3"
        )
        == VECTORS[2][5]
    )


def test_memo_error_is_a_domain_error_with_a_reason() -> None:
    with pytest.raises(MemoError) as info:
        memo_decode_hex("zz")
    assert isinstance(info.value, DomainError)
    assert info.value.reason is MemoErrorReason.NOT_HEX
    assert info.value.payload == {"reason": MemoErrorReason.NOT_HEX}


@pytest.mark.parametrize(
    ("memo_hex", "reason"),
    [
        ("", MemoErrorReason.EMPTY),
        ("abc", MemoErrorReason.NOT_HEX),  # odd length
        ("zz00", MemoErrorReason.NOT_HEX),
        ("ff" * 10, MemoErrorReason.NOT_UTF8),
        ("30" * 10, MemoErrorReason.BAD_BASE58),  # "0" is not in the Bitcoin alphabet
        ("6c", MemoErrorReason.BAD_BASE58),  # "l" neither
        ("ab" * 600, MemoErrorReason.TOO_LONG),
    ],
)
def test_hex_layer_failures_have_precise_reasons(memo_hex: str, reason: MemoErrorReason) -> None:
    with pytest.raises(MemoError) as info:
        memo_decode_hex(memo_hex)
    assert info.value.reason is reason


def _mm_payload(version: int = 1, ttype: int = 3, action: int = 1, extra: bytes = b"") -> bytes:
    return bytes([version, ttype, action]) + uuid.UUID(PAIR).bytes + uuid.UUID(ORDER).bytes + extra


@pytest.mark.parametrize(
    ("memo", "reason"),
    [
        (_pack(b"\x01\x03"), MemoErrorReason.TOO_SHORT),
        (_pack(_mm_payload(version=2)), MemoErrorReason.WRONG_VERSION),
        (_pack(_mm_payload(version=0)), MemoErrorReason.WRONG_VERSION),
        (_pack(_mm_payload(ttype=7)), MemoErrorReason.UNKNOWN_TYPE),
        (_pack(_mm_payload(action=3)), MemoErrorReason.UNKNOWN_ACTION),
        (_pack(_mm_payload(action=0)), MemoErrorReason.UNKNOWN_ACTION),
        (_pack(_mm_payload(ttype=0)), MemoErrorReason.UNSUPPORTED),  # spot: no v1 layout
        (_pack(_mm_payload(action=2)), MemoErrorReason.UNSUPPORTED),  # mm deposit: no layout
        (_pack(_mm_payload(extra=b"\x00")), MemoErrorReason.WRONG_LENGTH),  # 36
        (_pack(_mm_payload(extra=b"\x00" * 19)), MemoErrorReason.WRONG_LENGTH),  # 54
        (_pack(_mm_payload(extra=b"\x00" * 21)), MemoErrorReason.WRONG_LENGTH),  # 56
        (_pack(_mm_payload()[:-1]), MemoErrorReason.WRONG_LENGTH),  # 34
        (_pack(bytes([1, 2, 1]) + uuid.UUID(ORDER).bytes), MemoErrorReason.WRONG_LENGTH),
    ],
)
def test_payload_failures_have_precise_reasons(memo: str, reason: MemoErrorReason) -> None:
    with pytest.raises(MemoError) as info:
        memo_decode(memo)
    assert info.value.reason is reason


def test_a_flipped_checksum_byte_is_rejected() -> None:
    raw = bytearray(base58.b58decode(VECTORS[0][5]))
    raw[-1] ^= 0x01
    with pytest.raises(MemoError) as info:
        memo_decode(base58.b58encode(bytes(raw)).decode())
    assert info.value.reason is MemoErrorReason.BAD_CHECKSUM


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pair_id": "not-a-uuid", "order_id": ORDER},
        {"pair_id": PAIR, "order_id": ORDER, "reward_address": "0x1234"},
        {
            "pair_id": PAIR,
            "order_id": ORDER,
            "reward_address": "7dfa0e4456cb794d1f46cc8e0e5882dc3ad6d6d3",
        },
    ],
)
def test_encoder_rejects_bad_fields(kwargs: dict[str, str]) -> None:
    with pytest.raises(MemoError) as info:
        memo_encode_market_making_create(**kwargs)
    assert info.value.reason is MemoErrorReason.BAD_FIELD


_uuids = st.uuids().map(str)
_addresses = st.one_of(st.none(), st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()))


@given(pair=_uuids, order=_uuids, address=_addresses)
def test_market_making_round_trip(pair: str, order: str, address: str | None) -> None:
    memo = memo_encode_market_making_create(pair_id=pair, order_id=order, reward_address=address)
    decoded = memo_decode_hex(memo_to_hex(memo))
    assert (decoded.pair_id, decoded.order_id, decoded.reward_address) == (pair, order, address)
    assert decoded.trading_type is TradingType.MARKET_MAKING
    assert decoded.action is MemoAction.CREATE
    assert memo_encode(decoded) == memo


@given(order=_uuids, raw_address=st.binary(min_size=20, max_size=20))
def test_simply_grow_round_trip(order: str, raw_address: bytes) -> None:
    address = "0x" + raw_address.hex()
    memo = memo_encode_simply_grow_create(order_id=order, reward_address=address)
    decoded = memo_decode(memo)
    assert (decoded.order_id, decoded.reward_address, decoded.pair_id) == (order, address, None)
    assert memo_encode(decoded) == memo


@given(
    pair=_uuids,
    order=_uuids,
    address=_addresses,
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_any_corrupted_byte_is_rejected(
    pair: str, order: str, address: str | None, position: int, flip: int
) -> None:
    # given a valid memo whose raw bytes get one byte changed
    memo = memo_encode_market_making_create(pair_id=pair, order_id=order, reward_address=address)
    raw = bytearray(base58.b58decode(memo))
    raw[position % len(raw)] ^= flip
    corrupted = base58.b58encode(bytes(raw)).decode()
    # then decoding never yields a memo (a 4-byte checksum catches every single-byte change)
    with pytest.raises(MemoError):
        memo_decode(corrupted)


@given(text=st.text(max_size=120))
def test_arbitrary_text_never_crashes_the_decoder(text: str) -> None:
    try:
        memo_decode_hex(text.encode("utf-8").hex())
    except MemoError:
        pass
