"""Real Safe withdrawals against the emulator: the withdrawal output, Mixin's fee (in the
asset, or a second transaction in the fee asset referencing the first), change, idempotency
and crash-resume. The emulator verifies raws, inputs, sums, fee, references and signatures."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from orders.custody.base import (
    CustodyUnavailable,
    InsufficientBalance,
    RequestIdConflict,
    TransactionStatus,
)
from orders.custody.mixin.client import MIXIN_FEE_USER_ID, fee_request_id, unique_object_id
from orders.custody.mixin.kernel import (
    OUTPUT_TYPE_WITHDRAWAL_SUBMIT,
    Withdrawal,
    decode_transaction,
    transaction_hash,
)
from standins.mixin.emulator import MixinSafeEmulator
from tests.support.mixin_safe import BTC, mixin_client, requests_to

ETH = "43d61dcd-e413-450d-80b8-101d5e903357"
USDT = "4d8c508b-91c5-375b-92b0-ee702ed2dac5"
ADDRESS = "0x1111111111111111111111111111111111111111"


def _raw(emulator: MixinSafeEmulator, request_id: str) -> object:
    return decode_transaction(bytes.fromhex(emulator.requests_by_id[request_id]["raw_transaction"]))


def test_fee_request_id_is_the_go_sdk_derivation() -> None:
    rid = "a1b2c3d4-0000-4000-8000-000000000001"
    derived = fee_request_id(rid)
    assert derived == unique_object_id(rid, "FEE") == fee_request_id(rid)
    parsed = uuid.UUID(derived)
    assert parsed.version == 3 and derived != rid


def test_withdraw_with_fee_in_the_asset_is_one_transaction_with_change(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.fees[BTC] = [{"type": "withdrawal_fee", "asset_id": BTC, "amount": "0.0001"}]
    emulator.add_output(asset=BTC, amount="0.3")
    emulator.add_output(asset=BTC, amount="0.5")
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    tx = client.withdraw(
        request_id=rid, asset_id=BTC, amount=Decimal("0.6"), destination="bc1qdest", tag=""
    )
    assert tx.status is TransactionStatus.CONFIRMED
    assert tx.amount == Decimal("0.6")
    raw = _raw(emulator, rid)
    assert [o.type for o in raw.outputs][0] == OUTPUT_TYPE_WITHDRAWAL_SUBMIT  # type: ignore[attr-defined]
    assert raw.outputs[0].withdrawal == Withdrawal(address="bc1qdest")  # type: ignore[attr-defined]
    assert [o.amount for o in raw.outputs] == [  # type: ignore[attr-defined]
        Decimal("0.6"),
        Decimal("0.0001"),
        Decimal("0.1999"),
    ]
    assert fee_request_id(rid) not in emulator.requests_by_id
    assert [(w["destination"], w["amount"]) for w in emulator.withdrawals] == [
        ("bc1qdest", Decimal("0.6"))
    ]
    assert [f["amount"] for f in emulator.fee_payments] == [Decimal("0.0001")]
    assert client.wallet_balance(asset_id=BTC) == Decimal("0.1999")


def _usdt(emulator: MixinSafeEmulator, *, usdt: str = "100", eth: str = "0.01") -> None:
    emulator.add_asset(asset_id=ETH, symbol="ETH", chain_id=ETH)
    emulator.add_asset(asset_id=USDT, symbol="USDT", chain_id=ETH)
    emulator.fees[USDT] = [{"type": "withdrawal_fee", "asset_id": ETH, "amount": "0.002"}]
    emulator.add_output(asset=USDT, amount=usdt)
    emulator.add_output(asset=ETH, amount=eth)


def test_withdraw_with_fee_in_another_asset_sends_a_referencing_fee_transaction(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    _usdt(emulator)
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    tx = client.withdraw(
        request_id=rid, asset_id=USDT, amount=Decimal("40"), destination=ADDRESS, tag="memo-7"
    )
    assert tx.status is TransactionStatus.CONFIRMED
    main, fee = _raw(emulator, rid), _raw(emulator, fee_request_id(rid))
    assert [o.amount for o in main.outputs] == [Decimal("40"), Decimal("60")]  # type: ignore[attr-defined]
    assert main.outputs[0].withdrawal == Withdrawal(address=ADDRESS, tag="memo-7")  # type: ignore[attr-defined]
    assert fee.references == (transaction_hash(main),)  # type: ignore[attr-defined,arg-type]
    assert [o.amount for o in fee.outputs] == [Decimal("0.002"), Decimal("0.008")]  # type: ignore[attr-defined]
    fee_keys = {k.hex() for k in fee.outputs[0].keys}  # type: ignore[attr-defined]
    assert {emulator.key_receivers[k] for k in fee_keys} == {MIXIN_FEE_USER_ID}
    assert len(emulator.withdrawals) == 1 and len(emulator.fee_payments) == 1
    assert emulator.fee_payments[0]["references"] == [transaction_hash(main).hex()]  # type: ignore[arg-type]
    assert client.wallet_balance(asset_id=USDT) == Decimal("60")
    assert client.wallet_balance(asset_id=ETH) == Decimal("0.008")
    # One request call and one submit call carried both transactions.
    assert requests_to(emulator, "POST", "/safe/transaction/requests") == 1
    assert requests_to(emulator, "POST", "/safe/transactions") == 1


def test_same_request_id_twice_withdraws_once(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    _usdt(emulator)
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    args = {"request_id": rid, "asset_id": USDT, "amount": Decimal("40"), "destination": ADDRESS}
    first = client.withdraw(**args)  # type: ignore[arg-type]
    second = client.withdraw(**args)  # type: ignore[arg-type]
    assert first == second
    assert len(emulator.withdrawals) == 1 and len(emulator.fee_payments) == 1
    assert requests_to(emulator, "POST", "/safe/transactions") == 1
    assert client.wallet_balance(asset_id=ETH) == Decimal("0.008")
    with pytest.raises(RequestIdConflict):
        client.withdraw(**{**args, "destination": "0x2222222222222222222222222222222222222222"})  # type: ignore[arg-type]
    with pytest.raises(RequestIdConflict):
        client.withdraw(**{**args, "amount": Decimal("41")})  # type: ignore[arg-type]


@pytest.mark.parametrize("fee_in_asset", [True, False])
def test_crash_between_request_and_submit_resumes_both_transactions(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey, fee_in_asset: bool
) -> None:
    if fee_in_asset:
        emulator.fees[BTC] = [{"type": "withdrawal_fee", "asset_id": BTC, "amount": "0.0001"}]
        emulator.add_output(asset=BTC, amount="1")
        asset, amount, destination = BTC, Decimal("0.5"), "bc1qdest"
    else:
        _usdt(emulator)
        asset, amount, destination = USDT, Decimal("40"), ADDRESS
    client = mixin_client(emulator, key)
    rid = str(uuid.uuid4())
    emulator.fail_submits = 1
    with pytest.raises(CustodyUnavailable):
        client.withdraw(request_id=rid, asset_id=asset, amount=amount, destination=destination)
    assert emulator.withdrawals == [] and emulator.fee_payments == []
    requested = {r: row["raw_transaction"] for r, row in emulator.requests_by_id.items()}
    # The fee changes meanwhile: the stored raws decide, nothing is rebuilt.
    for rows in emulator.fees.values():
        rows[0]["amount"] = "0.5"
    tx = client.withdraw(request_id=rid, asset_id=asset, amount=amount, destination=destination)
    assert tx.status is TransactionStatus.CONFIRMED
    assert {r: row["raw_transaction"] for r, row in emulator.requests_by_id.items()} == requested
    assert requests_to(emulator, "POST", "/safe/transaction/requests") == 1
    assert len(emulator.withdrawals) == 1 and len(emulator.fee_payments) == 1
    assert all(row["state"] == "spent" for row in emulator.requests_by_id.values())


def test_short_fee_asset_refuses_before_posting_anything(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    _usdt(emulator, eth="0.001")
    with pytest.raises(InsufficientBalance):
        mixin_client(emulator, key).withdraw(
            request_id=str(uuid.uuid4()), asset_id=USDT, amount=Decimal("40"), destination=ADDRESS
        )
    assert requests_to(emulator, "POST", "/safe/keys") == 0
    assert requests_to(emulator, "POST", "/safe/transaction/requests") == 0
    assert emulator.requests_by_id == {}


def test_short_asset_with_fee_on_top_refuses(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    emulator.fees[BTC] = [{"type": "withdrawal_fee", "asset_id": BTC, "amount": "0.0001"}]
    emulator.add_output(asset=BTC, amount="1")
    with pytest.raises(InsufficientBalance):
        mixin_client(emulator, key).withdraw(
            request_id=str(uuid.uuid4()), asset_id=BTC, amount=Decimal("1"), destination="bc1q"
        )
    assert requests_to(emulator, "POST", "/safe/keys") == 0


def test_emulator_refuses_a_withdrawal_without_its_fee(
    emulator: MixinSafeEmulator, key: Ed25519PrivateKey
) -> None:
    """The emulator really checks the fee: a withdrawal requested alone is refused."""
    from orders.custody.base import CustodyInvalidRequest

    _usdt(emulator)
    client = mixin_client(emulator, key)
    emulator.fees[USDT] = [{"type": "withdrawal_fee", "asset_id": USDT, "amount": "1"}]
    # The client pays 1 USDT in the asset; the emulator then lists ETH instead.
    original = client.withdrawal_fee

    def stale(**kwargs: str) -> object:
        fee = original(**kwargs)  # type: ignore[arg-type]
        emulator.fees[USDT] = [{"type": "withdrawal_fee", "asset_id": ETH, "amount": "0.002"}]
        return fee

    client.withdrawal_fee = stale  # type: ignore[method-assign,assignment]
    with pytest.raises(CustodyInvalidRequest):
        client.withdraw(
            request_id=str(uuid.uuid4()), asset_id=USDT, amount=Decimal("40"), destination=ADDRESS
        )
    assert emulator.requests_by_id == {}
