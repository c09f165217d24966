"""The fake custody: payments as snapshots, idempotent sends, pending states, balances."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from orders.custody import custody_gateway
from orders.custody.base import (
    CustodyDepositAddress,
    CustodyGateway,
    CustodyInvalidRequest,
    CustodyNotFound,
    InsufficientBalance,
    RequestIdConflict,
    Snapshot,
    TransactionKind,
    TransactionStatus,
    request_id_for,
)
from orders.memo import memo_decode_hex, memo_encode_market_making_create
from standins.custody.gateway import (
    FakeCustody,
    fake_custody_asset_upsert,
    fake_custody_deposit_receive,
    fake_custody_fail,
    fake_custody_pay,
    fake_custody_settle_due,
)
from standins.custody.models import FakeCustodySnapshot, FakeCustodyTransaction

USDT = "4d8c508b-91c5-375b-92b0-ee702ed2dac5"
ETH = "43d61dcd-e413-450d-80b8-101d5e903357"
USER = str(uuid.uuid4())


def _memo() -> str:
    return memo_encode_market_making_create(pair_id=str(uuid.uuid4()), order_id=str(uuid.uuid4()))


@pytest.fixture
def custody(db) -> FakeCustody:  # type: ignore[no-untyped-def]
    fake_custody_asset_upsert(
        asset_id=USDT,
        symbol="USDT",
        chain_id=ETH,
        precision=6,
        price_usd=Decimal("1"),
        withdrawal_fee=Decimal("1.5"),
    )
    return FakeCustody(confirm_seconds=0)


def test_factory_returns_the_fake_by_default(settings) -> None:
    settings.CUSTODY_BACKEND = "fake"
    gateway = custody_gateway()
    assert isinstance(gateway, FakeCustody) and isinstance(gateway, CustodyGateway)


def test_pay_records_a_snapshot_with_hex_memo_and_credits(custody: FakeCustody) -> None:
    memo = _memo()
    snap = fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("100"), memo_text=memo)
    assert snap.amount == Decimal("100") and snap.opponent_id == USER
    assert snap.memo == memo.encode().hex()
    assert memo_decode_hex(snap.memo).order_id
    assert custody.wallet_balance(asset_id=USDT) == Decimal("100")
    page = custody.snapshots_since(cursor=None, limit=10)
    assert [s.snapshot_id for s in page.items] == [snap.snapshot_id]
    assert page.items[0] == snap


def test_snapshots_follow_the_cursor_at_least_once(custody: FakeCustody) -> None:
    ids = [
        fake_custody_pay(
            user_id=USER, asset_id=USDT, amount=Decimal(i + 1), memo_text="m"
        ).snapshot_id
        for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = custody.snapshots_since(cursor=cursor, limit=2)
        seen.extend(s.snapshot_id for s in page.items)
        cursor = page.next_cursor
        if not page.has_more:
            break
    assert set(seen) == set(ids)
    assert custody.snapshots_since(cursor=cursor, limit=10).next_cursor == cursor


def test_transfer_confirms_immediately_and_debits(custody: FakeCustody) -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("10"), memo_text="m")
    rid = request_id_for("refund", str(uuid.uuid4()))
    tx = custody.transfer(
        request_id=rid, asset_id=USDT, amount=Decimal("4"), opponent_id=USER, memo="refund"
    )
    assert tx.status is TransactionStatus.CONFIRMED and tx.kind is TransactionKind.TRANSFER
    assert tx.snapshot_id is not None
    assert custody.wallet_balance(asset_id=USDT) == Decimal("6")
    out = FakeCustodySnapshot.objects.get(request_id=rid)
    assert out.amount == Decimal("-4") and str(out.snapshot_id) == tx.snapshot_id
    assert custody.transaction(request_id=rid) == tx


def test_same_request_id_twice_pays_once(custody: FakeCustody) -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("10"), memo_text="m")
    rid = request_id_for("refund", "snap-1")
    first = custody.transfer(request_id=rid, asset_id=USDT, amount=Decimal("4"), opponent_id=USER)
    second = custody.transfer(request_id=rid, asset_id=USDT, amount=Decimal("4"), opponent_id=USER)
    assert second == first
    assert custody.wallet_balance(asset_id=USDT) == Decimal("6")
    assert FakeCustodyTransaction.objects.count() == 1
    assert FakeCustodySnapshot.objects.filter(amount__lt=0).count() == 1


def test_same_request_id_with_other_content_is_a_conflict(custody: FakeCustody) -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("10"), memo_text="m")
    rid = request_id_for("refund", "snap-2")
    custody.transfer(request_id=rid, asset_id=USDT, amount=Decimal("4"), opponent_id=USER)
    with pytest.raises(RequestIdConflict):
        custody.transfer(request_id=rid, asset_id=USDT, amount=Decimal("5"), opponent_id=USER)
    with pytest.raises(RequestIdConflict):
        custody.withdraw(request_id=rid, asset_id=USDT, amount=Decimal("4"), destination="0xabc")
    assert custody.wallet_balance(asset_id=USDT) == Decimal("6")


def test_insufficient_balance_sends_nothing(custody: FakeCustody) -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("3"), memo_text="m")
    rid = request_id_for("refund", "snap-3")
    with pytest.raises(InsufficientBalance):
        custody.transfer(request_id=rid, asset_id=USDT, amount=Decimal("3.01"), opponent_id=USER)
    assert custody.transaction(request_id=rid) is None
    assert custody.wallet_balance(asset_id=USDT) == Decimal("3")
    assert FakeCustodySnapshot.objects.count() == 1


def test_withdraw_charges_the_fixed_fee(custody: FakeCustody) -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("100"), memo_text="m")
    fee = custody.withdrawal_fee(asset_id=USDT, destination="0xdeposit")
    assert (fee.asset_id, fee.amount) == (USDT, Decimal("1.5"))
    rid = request_id_for("withdraw_to_venue", "order-1", "base")
    tx = custody.withdraw(
        request_id=rid, asset_id=USDT, amount=Decimal("50"), destination="0xdeposit", tag="t"
    )
    assert tx.status is TransactionStatus.CONFIRMED and tx.fee == Decimal("1.5")
    assert custody.wallet_balance(asset_id=USDT) == Decimal("48.5")
    # amount + fee above the balance is refused
    with pytest.raises(InsufficientBalance):
        custody.withdraw(
            request_id=request_id_for("w", "2"),
            asset_id=USDT,
            amount=Decimal("47.5"),
            destination="0xd",
        )


def test_default_fee_for_assets_without_a_row(custody: FakeCustody, settings) -> None:
    settings.CUSTODY_FAKE_WITHDRAWAL_FEE_DEFAULT = Decimal("0.25")
    assert custody.withdrawal_fee(asset_id=ETH, destination="0x1").amount == Decimal("0.25")


def test_delayed_send_is_pending_then_confirms(custody: FakeCustody) -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("10"), memo_text="m")
    slow = FakeCustody(confirm_seconds=30)
    rid = request_id_for("refund", "snap-4")
    tx = slow.transfer(request_id=rid, asset_id=USDT, amount=Decimal("4"), opponent_id=USER)
    assert tx.status is TransactionStatus.PENDING and tx.snapshot_id is None
    assert slow.wallet_balance(asset_id=USDT) == Decimal("6")  # reserved while pending
    assert slow.transaction(request_id=rid).status is TransactionStatus.PENDING  # type: ignore[union-attr]
    assert fake_custody_settle_due(now=timezone.now() + timedelta(seconds=31)) == 1
    assert fake_custody_settle_due(now=timezone.now() + timedelta(seconds=31)) == 0
    done = slow.transaction(request_id=rid)
    assert done is not None and done.status is TransactionStatus.CONFIRMED and done.snapshot_id
    assert FakeCustodySnapshot.objects.filter(request_id=rid).count() == 1


def test_failed_pending_send_gives_the_money_back(custody: FakeCustody) -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("10"), memo_text="m")
    slow = FakeCustody(confirm_seconds=30)
    rid = request_id_for("withdraw_to_venue", "order-2", "quote")
    slow.withdraw(request_id=rid, asset_id=USDT, amount=Decimal("5"), destination="0xd")
    failed = fake_custody_fail(request_id=rid, reason="chain rejected")
    assert failed.status is TransactionStatus.FAILED and failed.failure_reason == "chain rejected"
    assert slow.wallet_balance(asset_id=USDT) == Decimal("10")
    # failing again changes nothing, and a retry with the same id returns the failure
    fake_custody_fail(request_id=rid, reason="again")
    assert slow.wallet_balance(asset_id=USDT) == Decimal("10")
    again = slow.withdraw(request_id=rid, asset_id=USDT, amount=Decimal("5"), destination="0xd")
    assert again.status is TransactionStatus.FAILED


def test_bad_inputs_are_invalid_requests(custody: FakeCustody) -> None:
    with pytest.raises(CustodyInvalidRequest):
        custody.transfer(request_id="nope", asset_id=USDT, amount=Decimal("1"), opponent_id=USER)
    with pytest.raises(CustodyInvalidRequest):
        custody.transfer(
            request_id=str(uuid.uuid4()), asset_id=USDT, amount=Decimal("0"), opponent_id=USER
        )
    with pytest.raises(CustodyInvalidRequest):
        fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("-1"), memo_text="m")
    with pytest.raises(CustodyNotFound):
        custody.asset(asset_id=ETH)
    info = custody.asset(asset_id=USDT)
    assert (info.symbol, info.chain_id, info.precision, info.price_usd) == (
        "USDT",
        ETH,
        6,
        Decimal("1"),
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_sends_with_one_request_id_pay_once() -> None:
    # given a wallet of 10 and two threads sending the same refund at once
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("10"), memo_text="m")
    rid = request_id_for("refund", "race")
    barrier = threading.Barrier(2)
    results: list[object] = []

    def send() -> None:
        try:
            barrier.wait()
            results.append(
                FakeCustody(confirm_seconds=0).transfer(
                    request_id=rid, asset_id=USDT, amount=Decimal("7"), opponent_id=USER
                )
            )
        except Exception as exc:  # collected and asserted below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then both answer the same confirmed transaction and the wallet paid once
    assert len(results) == 2 and results[0] == results[1], results
    assert FakeCustody().wallet_balance(asset_id=USDT) == Decimal("3")
    assert FakeCustodyTransaction.objects.filter(request_id=rid).count() == 1
    assert FakeCustodySnapshot.objects.filter(request_id=rid).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_sends_with_different_ids_never_overdraw() -> None:
    fake_custody_pay(user_id=USER, asset_id=USDT, amount=Decimal("10"), memo_text="m")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def send(n: int) -> None:
        try:
            barrier.wait()
            FakeCustody(confirm_seconds=0).transfer(
                request_id=request_id_for("refund", f"r{n}"),
                asset_id=USDT,
                amount=Decimal("7"),
                opponent_id=USER,
            )
            outcomes.append("paid")
        except InsufficientBalance:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["paid", "refused"]
    assert FakeCustody().wallet_balance(asset_id=USDT) == Decimal("3")


# ---------------------------------------------------------------------------- deposits

CHAIN_TX = "0x" + "ab" * 32  # an EVM transaction hash: 66 characters


def test_deposit_address_is_deterministic_per_asset(custody: FakeCustody) -> None:
    address = custody.deposit_address(asset_id=USDT)
    assert address == CustodyDepositAddress(
        asset_id=USDT,
        destination="fake-mixin-" + hashlib.sha256(USDT.encode()).hexdigest()[:40],
        tag=None,
    )
    assert FakeCustody().deposit_address(asset_id=USDT) == address
    assert custody.deposit_address(asset_id=ETH).destination != address.destination
    with pytest.raises(CustodyInvalidRequest):
        custody.deposit_address(asset_id="")


def test_deposit_arrives_as_an_incoming_snapshot_without_opponent_or_memo(
    custody: FakeCustody,
) -> None:
    snap = fake_custody_deposit_receive(
        asset_id=USDT, amount=Decimal("12.5"), transaction_hash=CHAIN_TX
    )
    assert (snap.asset_id, snap.amount, snap.opponent_id, snap.memo) == (
        USDT,
        Decimal("12.5"),
        "",
        "",
    )
    assert snap.transaction_hash == CHAIN_TX and snap.request_id is None
    assert custody.wallet_balance(asset_id=USDT) == Decimal("12.5")
    assert custody.snapshots_since(cursor=None, limit=10).items == (snap,)


def test_same_deposit_twice_is_credited_once(custody: FakeCustody) -> None:
    first = fake_custody_deposit_receive(
        asset_id=USDT, amount=Decimal("7"), transaction_hash=CHAIN_TX
    )
    # the same amount written with more zeros than the ledger keeps is the same deposit
    again = fake_custody_deposit_receive(
        asset_id=USDT, amount=Decimal("7.00000000000000000000"), transaction_hash=CHAIN_TX
    )
    assert again == first
    assert custody.wallet_balance(asset_id=USDT) == Decimal("7")
    assert FakeCustodySnapshot.objects.count() == 1


def test_same_chain_transaction_with_other_content_is_a_conflict(custody: FakeCustody) -> None:
    first = fake_custody_deposit_receive(
        asset_id=USDT, amount=Decimal("7"), transaction_hash=CHAIN_TX
    )
    with pytest.raises(RequestIdConflict):
        fake_custody_deposit_receive(asset_id=USDT, amount=Decimal("8"), transaction_hash=CHAIN_TX)
    with pytest.raises(RequestIdConflict):
        fake_custody_deposit_receive(asset_id=ETH, amount=Decimal("7"), transaction_hash=CHAIN_TX)
    # nothing else happened: one snapshot, one credit, no ETH balance
    assert custody.snapshots_since(cursor=None, limit=10).items == (first,)
    assert custody.wallet_balance(asset_id=USDT) == Decimal("7")
    assert custody.wallet_balance(asset_id=ETH) == Decimal("0")


@pytest.mark.parametrize(
    ("asset_id", "amount", "tx_hash"),
    [
        (USDT, Decimal("0"), CHAIN_TX),
        (USDT, Decimal("-1"), CHAIN_TX),
        (USDT, Decimal("NaN"), CHAIN_TX),
        (USDT, Decimal("Infinity"), CHAIN_TX),
        (USDT, Decimal("1e-19"), CHAIN_TX),
        (USDT, Decimal("1e20"), CHAIN_TX),
        (USDT, Decimal("1"), ""),
        (USDT, Decimal("1"), " " + CHAIN_TX),
        (USDT, Decimal("1"), "f" * 129),
        ("", Decimal("1"), CHAIN_TX),
    ],
)
def test_bad_deposits_are_invalid_and_record_nothing(
    custody: FakeCustody, asset_id: str, amount: Decimal, tx_hash: str
) -> None:
    with pytest.raises(CustodyInvalidRequest):
        fake_custody_deposit_receive(asset_id=asset_id, amount=amount, transaction_hash=tx_hash)
    assert FakeCustodySnapshot.objects.count() == 0
    assert custody.wallet_balance(asset_id=USDT) == Decimal("0")


def test_database_refuses_a_second_or_misshapen_deposit_row(custody: FakeCustody) -> None:
    fake_custody_deposit_receive(asset_id=USDT, amount=Decimal("1"), transaction_hash=CHAIN_TX)
    row = {"asset_id": USDT, "amount": Decimal("1"), "created_at": timezone.now()}
    with pytest.raises(IntegrityError), transaction.atomic():
        FakeCustodySnapshot.objects.create(transaction_hash=CHAIN_TX, deposit_hash=CHAIN_TX, **row)
    with pytest.raises(IntegrityError), transaction.atomic():
        FakeCustodySnapshot.objects.create(
            transaction_hash="other", deposit_hash="0x" + "cd" * 32, **row
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        FakeCustodySnapshot.objects.create(
            transaction_hash="h", deposit_hash="h", **{**row, "amount": Decimal("-1")}
        )
    # snapshots that are not deposits may share a hash (our own sends reuse theirs)
    FakeCustodySnapshot.objects.create(transaction_hash=CHAIN_TX, **row)


def _race(calls: list[dict[str, object]]) -> list[object]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = []

    def receive(kwargs: dict[str, object]) -> None:
        try:
            barrier.wait()
            results.append(fake_custody_deposit_receive(**kwargs))  # type: ignore[arg-type]
        except Exception as exc:  # collected and asserted by the caller
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=receive, args=(kw,)) for kw in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_reports_of_one_deposit_credit_once() -> None:
    # given two workers reporting the same chain deposit at once
    call = {"asset_id": USDT, "amount": Decimal("9.5"), "transaction_hash": CHAIN_TX}
    results = _race([call, call])
    # then both answer the same snapshot and the wallet was credited once
    assert len(results) == 2 and isinstance(results[0], Snapshot), results
    assert results[0] == results[1]
    assert FakeCustody().wallet_balance(asset_id=USDT) == Decimal("9.5")
    assert FakeCustodySnapshot.objects.filter(deposit_hash=CHAIN_TX).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_conflicting_reports_of_one_deposit_credit_only_the_winner() -> None:
    results = _race(
        [
            {"asset_id": USDT, "amount": Decimal("3"), "transaction_hash": CHAIN_TX},
            {"asset_id": USDT, "amount": Decimal("4"), "transaction_hash": CHAIN_TX},
        ]
    )
    won = [r for r in results if isinstance(r, Snapshot)]
    lost = [r for r in results if isinstance(r, RequestIdConflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert FakeCustody().wallet_balance(asset_id=USDT) == won[0].amount
    assert FakeCustodySnapshot.objects.count() == 1
