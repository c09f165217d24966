"""Real Safe transfers against the emulator, which verifies the raw, the inputs, the sums,
the ghost keys and every input's signature against the one-time keys it derived."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orders.custody.base import (
    CustodyInvalidRequest,
    CustodySendUnsupported,
    CustodyUnavailable,
    InsufficientBalance,
    RequestIdConflict,
    TransactionStatus,
)
from orders.custody.mixin.kernel import decode_transaction
from standins.mixin.emulator import MixinSafeEmulator
from tests.support.mixin_safe import BTC, USER, mixin_client, requests_to


def test_transfer_spends_oldest_outputs_and_returns_change(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="0.3")
    emulator.add_output(asset=BTC, amount="0.5")
    emulator.add_output(asset=BTC, amount="9")
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    tx = client.transfer(
        request_id=rid, asset_id=BTC, amount=Decimal("0.7"), opponent_id=USER, memo="refund"
    )
    assert tx.status is TransactionStatus.CONFIRMED
    assert tx.amount == Decimal("0.7")
    raw = decode_transaction(bytes.fromhex(emulator.requests_by_id[rid]["raw_transaction"]))
    assert len(raw.inputs) == 2
    assert [o.amount for o in raw.outputs] == [Decimal("0.7"), Decimal("0.1")]
    assert raw.extra == b"refund"
    # 0.3 + 0.5 spent, 0.1 change back as a new output the bot can spend again.
    assert client.wallet_balance(asset_id=BTC) == Decimal("9.1")
    again = client.transfer(
        request_id=str(uuid.uuid4()),
        asset_id=BTC,
        amount=Decimal("9.1"),
        opponent_id=USER,
    )
    assert again.status is TransactionStatus.CONFIRMED
    assert client.wallet_balance(asset_id=BTC) == Decimal(0)


def test_exact_amount_has_no_change_output(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="1")
    rid = str(uuid.uuid4())
    mixin_client(emulator, key).transfer(
        request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id=USER
    )
    raw = decode_transaction(bytes.fromhex(emulator.requests_by_id[rid]["raw_transaction"]))
    assert len(raw.outputs) == 1


def test_same_request_id_twice_pays_once(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="2")
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    first = client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    second = client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    assert first == second
    assert client.wallet_balance(asset_id=BTC) == Decimal("1")
    assert requests_to(emulator, "POST", "/safe/transactions") == 1
    with pytest.raises(RequestIdConflict):
        client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("0.5"), opponent_id=USER)


def test_crash_after_request_before_submit_resumes_the_same_transaction(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="2")
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    # The submit fails retryably (as if the worker died after requesting).
    emulator.fail_submits = 1
    with pytest.raises(CustodyUnavailable):
        client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    assert client.transaction(request_id=rid).status is TransactionStatus.PENDING  # type: ignore[union-attr]
    requested = emulator.requests_by_id[rid]["raw_transaction"]
    tx = client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    assert tx.status is TransactionStatus.CONFIRMED
    assert emulator.requests_by_id[rid]["raw_transaction"] == requested
    assert requests_to(emulator, "POST", "/safe/transaction/requests") == 1
    assert client.wallet_balance(asset_id=BTC) == Decimal("1")


def test_insufficient_outputs_send_nothing(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="0.5")
    with pytest.raises(InsufficientBalance):
        mixin_client(emulator, key).transfer(
            request_id=str(uuid.uuid4()), asset_id=BTC, amount=Decimal("1"), opponent_id=USER
        )
    assert requests_to(emulator, "POST", "/safe/keys") == 0


def test_wrong_spend_key_is_refused_before_anything_is_submitted(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="1")
    with pytest.raises(Exception, match="cannot sign"):
        mixin_client(emulator, key, spend="11" * 32).transfer(
            request_id=str(uuid.uuid4()), asset_id=BTC, amount=Decimal("1"), opponent_id=USER
        )
    assert requests_to(emulator, "POST", "/safe/transactions") == 0


def test_emulator_refuses_a_bad_signature(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    """The emulator really verifies each input's signature: a flipped bit is refused."""
    emulator.add_output(asset=BTC, amount="1")
    emulator.tamper_submit = True
    with pytest.raises(CustodyInvalidRequest):
        mixin_client(emulator, key).transfer(
            request_id=str(uuid.uuid4()), asset_id=BTC, amount=Decimal("1"), opponent_id=USER
        )
    assert emulator.outputs[0].state == "unspent"


def test_without_spend_key_withdraw_stays_unsupported(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="1")
    with pytest.raises(CustodySendUnsupported):
        mixin_client(emulator, key, spend="").withdraw(
            request_id=str(uuid.uuid4()), asset_id=BTC, amount=Decimal("1"), destination="bc1q"
        )


def test_without_spend_key_transfer_stays_unsupported(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="1")
    with pytest.raises(CustodySendUnsupported):
        mixin_client(emulator, key, spend="").transfer(
            request_id=str(uuid.uuid4()), asset_id=BTC, amount=Decimal("1"), opponent_id=USER
        )


@pytest.mark.parametrize("amount_includes_change", [False, True], ids=["net", "with-change"])
def test_a_refund_resumed_after_a_crash_is_sent_exactly_once_whatever_amount_means(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey, amount_includes_change: bool
) -> None:
    # given a transfer with change, whose worker died between the request and the submit,
    # and a Mixin whose request `amount` may count the change back to us
    emulator.request_amount_includes_change = amount_includes_change
    emulator.add_output(asset=BTC, amount="2")
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    emulator.fail_submits = 1
    with pytest.raises(CustodyUnavailable):
        client.transfer(
            request_id=rid, asset_id=BTC, amount=Decimal("0.5"), opponent_id=USER, memo="r"
        )
    stored = emulator.requests_by_id[rid]
    assert Decimal(stored["amount"]) == (Decimal(2) if amount_includes_change else Decimal("0.5"))
    # when the refund is resumed
    tx = client.transfer(
        request_id=rid, asset_id=BTC, amount=Decimal("0.5"), opponent_id=USER, memo="r"
    )
    # then the stored transaction is finished, once: no second request, one payment
    assert tx.status is TransactionStatus.CONFIRMED and tx.amount == Decimal("0.5")
    assert requests_to(emulator, "POST", "/safe/transaction/requests") == 1
    assert client.wallet_balance(asset_id=BTC) == Decimal("1.5")
    # and a third call reports it without sending anything
    again = client.transfer(
        request_id=rid, asset_id=BTC, amount=Decimal("0.5"), opponent_id=USER, memo="r"
    )
    assert again.amount == Decimal("0.5") and again.status is TransactionStatus.CONFIRMED
    assert requests_to(emulator, "POST", "/safe/transactions") == 2  # the failed one + the resume
    assert client.wallet_balance(asset_id=BTC) == Decimal("1.5")


def test_a_resumed_request_for_another_amount_or_memo_is_a_conflict(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.request_amount_includes_change = True
    emulator.add_output(asset=BTC, amount="2")
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    emulator.fail_submits = 1
    with pytest.raises(CustodyUnavailable):
        client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("0.5"), opponent_id=USER)
    for amount, memo in [(Decimal("2"), ""), (Decimal("0.5"), "other memo")]:
        with pytest.raises(RequestIdConflict):
            client.transfer(
                request_id=rid, asset_id=BTC, amount=amount, opponent_id=USER, memo=memo
            )
    assert requests_to(emulator, "POST", "/safe/transactions") == 1  # only the failed one


def test_signing_a_resumed_request_does_not_need_the_outputs_listed(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    # given a request whose inputs the outputs listing no longer shows (lag, paging)
    spent = emulator.add_output(asset=BTC, amount="1")
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    emulator.fail_submits = 1
    with pytest.raises(CustodyUnavailable):
        client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    emulator.unlisted_outputs.add(spent.output_id)
    outputs_listed = requests_to(emulator, "GET", "/safe/outputs")
    # when the send is resumed, it signs at key index 0 as both SDKs do, and completes
    tx = client.transfer(request_id=rid, asset_id=BTC, amount=Decimal("1"), opponent_id=USER)
    assert tx.status is TransactionStatus.CONFIRMED
    assert requests_to(emulator, "GET", "/safe/outputs") == outputs_listed  # no listing at all


def test_a_memo_over_256_bytes_is_refused_before_anything_is_requested(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="1")
    client = mixin_client(emulator, key)
    with pytest.raises(CustodyInvalidRequest, match="256"):
        client.transfer(
            request_id=str(uuid.uuid4()),
            asset_id=BTC,
            amount=Decimal("0.5"),
            opponent_id=USER,
            memo="m" * 257,
        )
    assert [r.method for r in emulator.requests] == ["GET"]  # the request id's lookup only
    ok = client.transfer(
        request_id=str(uuid.uuid4()),
        asset_id=BTC,
        amount=Decimal("0.5"),
        opponent_id=USER,
        memo="m" * 256,
    )
    assert ok.status is TransactionStatus.CONFIRMED


def test_the_emulator_lists_outputs_with_the_kernel_asset_hash(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.add_output(asset=BTC, amount="1")
    client = mixin_client(emulator, key)
    assert client.wallet_balance(asset_id=BTC) == Decimal(1)
    response = next(r for r in emulator.requests if r.path == "/safe/outputs")
    assert response.query["asset"] == BTC
    # Go kernel TestEncoding: BitcoinAssetId
    from standins.mixin.emulator import kernel_asset

    assert kernel_asset(BTC) == "fe6b7788944d328778f98e3e81588215b5a07de4f9a4a7de4db4535b404e65db"
