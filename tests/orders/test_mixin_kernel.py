"""Kernel v5 encoding and input signing, checked against a published SDK vector.

The vector is mixin_bot_sdk_dart's "Test for safe transaction signature" (unsigned raw,
signed raw, the spend key, the view Mixin answered and the spent output's keys).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from orders.custody.mixin.kernel import (
    OUTPUT_TYPE_SCRIPT,
    OUTPUT_TYPE_WITHDRAWAL_SUBMIT,
    Input,
    KernelEncodingError,
    Output,
    Transaction,
    Withdrawal,
    decode_transaction,
    encode_transaction,
    input_private_key,
    public_from_scalar,
    sign_transaction,
    threshold_script,
    transaction_hash,
)

UNSIGNED = (
    "77770005b9f49cf777dc4d03bc54cd1367eebca319f8603ea1ce18910d09e2c540c630d80001c513ffcc684e"
    "9585c76bd76245aa7d2def3b9f147422b59ab91db7852c9d97dd000000000000000000010000000405f5e100"
    "0001a6c306c3137c2bf4a8bfc95ea5165f7777020916aa36ee6ec394beb9a1e6a164286d4f092015ea327ba1"
    "2145edd40ddede1bdd80f777c249128d38176e352a130003fffe010000000000000009746573742d6d656d6f"
    "0000"
)
SIGNED = (
    UNSIGNED[:-4] + "000100010000fde63b999d519394b3ba8a99a9f1d44bc91c2ee73d472d2085fa2229257328"
    "89159042b126b4436766d6d3308ee541c50fc1b9b8b83701ac534c68e7f4d0f50c"
)
SPEND_SEED = bytes.fromhex("7fb3893475a82c85e2b3c8a9a9232eddb36651ac32fa98ae83e6c2f33fb1be84")
VIEW = bytes.fromhex("0164ba23d5aa1953132bc0bf5d12d0af7e66de2ba8773701ef135e015f24bb0b")
UTXO_KEYS = (
    bytes.fromhex("0b6c1f0d107d9b825b48d2dcd711993ad5e6b0b06501adce5db767711e97551b"),
    bytes.fromhex("e0d29cfc66eee800fe3fc2329fd49a93cb11006675fa39db6e64739a79d611ba"),
)


def vector_tx() -> Transaction:
    return Transaction(
        asset=bytes.fromhex("b9f49cf777dc4d03bc54cd1367eebca319f8603ea1ce18910d09e2c540c630d8"),
        inputs=(
            Input(
                hash=bytes.fromhex(
                    "c513ffcc684e9585c76bd76245aa7d2def3b9f147422b59ab91db7852c9d97dd"
                ),
                index=0,
            ),
        ),
        outputs=(
            Output(
                type=OUTPUT_TYPE_SCRIPT,
                amount=Decimal("1"),
                keys=(
                    bytes.fromhex(
                        "a6c306c3137c2bf4a8bfc95ea5165f7777020916aa36ee6ec394beb9a1e6a164"
                    ),
                ),
                mask=bytes.fromhex(
                    "286d4f092015ea327ba12145edd40ddede1bdd80f777c249128d38176e352a13"
                ),
                script=threshold_script(1),
            ),
        ),
        extra=b"test-memo",
    )


def test_sdk_vector_encodes_unsigned_byte_for_byte() -> None:
    assert encode_transaction(vector_tx()).hex() == UNSIGNED


def test_sdk_vector_signs_byte_for_byte() -> None:
    signed = sign_transaction(
        vector_tx(), views=[VIEW], input_keys=[UTXO_KEYS], spend_seed=SPEND_SEED
    )
    assert encode_transaction(signed).hex() == SIGNED
    # An ordinary Ed25519 verifier accepts it against the output's one-time key.
    Ed25519PublicKey.from_public_bytes(UTXO_KEYS[0]).verify(
        signed.signatures[0][0], transaction_hash(vector_tx())
    )


def test_sdk_vector_decodes_and_round_trips() -> None:
    tx = decode_transaction(bytes.fromhex(SIGNED))
    assert tx.extra == b"test-memo"
    assert tx.outputs[0].amount == Decimal("1")
    assert tx.outputs[0].script == b"\xff\xfe\x01"
    assert list(tx.signatures[0]) == [0]
    assert encode_transaction(tx).hex() == SIGNED


def test_derived_key_opens_the_output_key() -> None:
    assert public_from_scalar(input_private_key(view=VIEW, spend_seed=SPEND_SEED)) == UTXO_KEYS[0]


def test_wrong_spend_key_signs_nothing() -> None:
    with pytest.raises(KernelEncodingError, match="does not open"):
        sign_transaction(vector_tx(), views=[VIEW], input_keys=[UTXO_KEYS], spend_seed=b"\x01" * 32)


def test_non_canonical_view_is_refused() -> None:
    with pytest.raises(KernelEncodingError, match="canonical"):
        input_private_key(view=b"\xff" * 32, spend_seed=SPEND_SEED)


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-1"), Decimal("0.000000001")], ids=["zero", "neg", "9dp"]
)
def test_amounts_that_the_kernel_cannot_hold_are_refused(amount: Decimal) -> None:
    tx = vector_tx()
    bad = Transaction(
        asset=tx.asset,
        inputs=tx.inputs,
        outputs=(Output(type=0, amount=amount, script=threshold_script(1)),),
    )
    with pytest.raises(KernelEncodingError):
        encode_transaction(bad)


def test_extra_is_capped_at_the_kernels_general_limit_of_256_bytes() -> None:
    # MixinNetwork/mixin common/transaction.go ExtraSizeGeneralLimit = 256 (the Node SDK's
    # own check, 512, lets through extras the kernel refuses).
    tx = vector_tx()
    at_limit = Transaction(asset=tx.asset, inputs=tx.inputs, outputs=tx.outputs, extra=b"x" * 256)
    assert decode_transaction(encode_transaction(at_limit)).extra == b"x" * 256
    with pytest.raises(KernelEncodingError, match="256"):
        encode_transaction(
            Transaction(asset=tx.asset, inputs=tx.inputs, outputs=tx.outputs, extra=b"x" * 257)
        )


def test_sdk_vector_signs_at_index_0_without_the_outputs_keys() -> None:
    # bot-api-nodejs-client signSafeTransaction(tx, views, privateKey, index = 0) and
    # bot-api-go-client `sigs[0] = &sig // for 1/1 bot transaction`: no key list needed.
    signed = sign_transaction(vector_tx(), views=[VIEW], spend_seed=SPEND_SEED)
    assert encode_transaction(signed).hex() == SIGNED


@pytest.mark.parametrize(
    "raw",
    [
        UNSIGNED[:-2],  # truncated
        UNSIGNED + "00",  # trailing byte
        "77770004" + UNSIGNED[8:],  # version 4
        UNSIGNED[:-4] + "ffff",  # aggregated signature
    ],
    ids=["truncated", "trailing", "v4", "aggregated"],
)
def test_decoder_refuses_what_it_cannot_read_fully(raw: str) -> None:
    with pytest.raises(KernelEncodingError):
        decode_transaction(bytes.fromhex(raw))


_key = st.binary(min_size=32, max_size=32)


@given(
    amounts=st.lists(
        st.integers(min_value=1, max_value=10**20).map(lambda u: Decimal(u) / 10**8),
        min_size=1,
        max_size=4,
    ),
    keys=st.lists(_key, min_size=1, max_size=3),
    extra=st.binary(max_size=256),
    address=st.text(min_size=1, max_size=60),
    tag=st.text(max_size=20),
    n_inputs=st.integers(min_value=1, max_value=5),
)
def test_round_trip(
    amounts: list[Decimal],
    keys: list[bytes],
    extra: bytes,
    address: str,
    tag: str,
    n_inputs: int,
) -> None:
    outputs = [
        Output(
            type=OUTPUT_TYPE_SCRIPT,
            amount=a,
            keys=tuple(keys),
            mask=keys[0],
            script=b"\xff\xfe\x01",
        )
        for a in amounts
    ]
    outputs.append(
        Output(
            type=OUTPUT_TYPE_WITHDRAWAL_SUBMIT,
            amount=amounts[0],
            withdrawal=Withdrawal(address=address, tag=tag),
        )
    )
    tx = Transaction(
        asset=keys[0],
        inputs=tuple(Input(hash=keys[-1], index=i) for i in range(n_inputs)),
        outputs=tuple(outputs),
        extra=extra,
        signatures=tuple({0: b"\x07" * 64} for _ in range(n_inputs)),
    )
    raw = encode_transaction(tx)
    decoded = decode_transaction(raw)
    assert encode_transaction(decoded) == raw
    assert [o.amount for o in decoded.outputs] == [*amounts, amounts[0]]
    assert decoded.outputs[-1].withdrawal == Withdrawal(address=address, tag=tag)
