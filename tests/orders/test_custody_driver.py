"""Money always comes back: every custody transfer is driven to the end (issue 10), and intake
never stops or credits what it must not (issue 19). Each test reproduces a defect seen in an
operator's fault run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from exchanges.paper.gateway import PaperGateway
from exchanges.paper.models import PaperWithdrawal
from exchanges.venues.base import VenueTimeout
from ledger.selectors import ledger_verify_report, order_balances, user_balances
from orders import tasks
from orders.custody.base import (
    CustodyTimeout,
    InsufficientBalance,
    Snapshot,
    SnapshotPage,
)
from orders.enums import SnapshotStatus
from orders.models import CustodyTransfer, IntakeCursor, MarketMakingOrder, PaymentSnapshot
from orders.services import intake, lifecycle, transfers
from orders.services.controls import order_exit
from standins.custody.gateway import FakeCustody, fake_custody_pay
from standins.custody.models import FakeCustodyTransaction
from tests.factories import UserFactory
from tests.support.order_flow import BTC, USDT, drive_transfers, pay, play_beat

pytestmark = pytest.mark.django_db


def assert_ledger_clean() -> None:
    report = ledger_verify_report()
    assert report.ok, report


def refund_of(snapshot: PaymentSnapshot) -> CustodyTransfer:
    return CustodyTransfer.objects.get(snapshot=snapshot, purpose="refund")


# ---------------------------------------------------------------------------- refunds without an order


@pytest.mark.parametrize("case", ["bad_memo", "other_payer", "wrong_asset", "after_complete"])
def test_a_rejected_payments_refund_is_sent_and_confirmed(new_order, case: str) -> None:
    order = new_order()
    payer, asset, memo = None, BTC, None
    if case == "bad_memo":
        memo = "garbage"
    elif case == "other_payer":
        payer = str(UserFactory.create().pk)
    elif case == "wrong_asset":
        asset = "43d61dcd-e413-450d-80b8-101d5e903357"
    elif case == "after_complete":
        pay(order, BTC, "0.01")
        pay(order, USDT, "100")
        assert order.state == "payment_complete"
    pay(order, asset, "0.5", payer=payer, memo=memo)
    snapshot = PaymentSnapshot.objects.get(status=SnapshotStatus.REFUNDING)
    # when the sweeper drives the transfers
    assert drive_transfers() == 1
    # then the refund went out and is confirmed; the snapshot is refunded
    refund = refund_of(snapshot)
    assert (refund.status, refund.attempts, refund.next_attempt_at) == ("confirmed", 1, None)
    snapshot.refresh_from_db()
    assert snapshot.status == SnapshotStatus.REFUNDED
    tx = FakeCustody().transaction(request_id=refund.request_id)
    assert tx is not None and (tx.status, tx.amount) == ("confirmed", Decimal("0.5"))
    assert user_balances(user_id=refund.recipient_id)[asset].posted == 0
    # and nothing is left to do
    assert drive_transfers() == 0
    assert_ledger_clean()


def test_a_refund_after_a_timeout_that_hid_the_send_is_looked_up_not_paid_twice(
    new_order, monkeypatch
) -> None:
    order = new_order()
    pay(order, BTC, "0.5", memo="garbage")
    real = FakeCustody.transfer

    def sent_then_timed_out(self: FakeCustody, **kwargs: Any) -> Any:
        real(self, **kwargs)
        raise CustodyTimeout("read timed out")

    monkeypatch.setattr(FakeCustody, "transfer", sent_then_timed_out)
    assert drive_transfers() == 1
    refund = CustodyTransfer.objects.get()
    assert (refund.status, refund.attempts) == ("pending", 1)
    assert refund.next_attempt_at is not None  # a next attempt is scheduled
    # the next drive asks custody first and finds the send: not sent again
    drive_transfers()
    refund.refresh_from_db()
    assert (refund.status, refund.attempts) == ("confirmed", 1)
    assert FakeCustodyTransaction.objects.count() == 1
    assert_ledger_clean()


def test_a_refund_that_timed_out_before_reaching_custody_is_sent_again_under_its_id(
    new_order, monkeypatch
) -> None:
    order = new_order()
    pay(order, BTC, "0.5", memo="garbage")
    real = FakeCustody.transfer
    calls: list[str] = []

    def flaky(self: FakeCustody, **kwargs: Any) -> Any:
        calls.append(kwargs["request_id"])
        if len(calls) == 1:
            raise CustodyTimeout("connect timed out")
        return real(self, **kwargs)

    monkeypatch.setattr(FakeCustody, "transfer", flaky)
    drive_transfers()
    drive_transfers()
    refund = CustodyTransfer.objects.get()
    assert (refund.status, refund.attempts) == ("confirmed", 2)
    assert calls == [refund.request_id, refund.request_id]
    assert FakeCustodyTransaction.objects.count() == 1


def test_a_definite_failure_voids_the_refund_and_raises_an_operator_issue(
    new_order, monkeypatch, api
) -> None:
    order = new_order()
    pay(order, BTC, "0.5", memo="garbage")

    def refused(self: FakeCustody, **kwargs: Any) -> Any:
        raise InsufficientBalance("wallet is empty")

    monkeypatch.setattr(FakeCustody, "transfer", refused)
    drive_transfers()
    refund = CustodyTransfer.objects.get()
    assert refund.status == "failed" and refund.next_attempt_at is None
    assert "InsufficientBalance" in refund.operator_issue
    # the money is the payer's again (pending entry voided), nothing left pending
    balance = user_balances(user_id=refund.recipient_id)[BTC]
    assert (balance.posted, balance.available) == (Decimal("0.5"), Decimal("0.5"))
    issues = api.get("/health/system-status").json()["issues"]
    assert any(
        i["component"] == "custody_transfers" and refund.request_id in i["message"] for i in issues
    )
    assert_ledger_clean()


def test_retries_back_off_exponentially_up_to_the_cap(new_order, monkeypatch, settings) -> None:
    settings.CUSTODY_TRANSFER_RETRY_BASE_SECONDS = 5
    settings.CUSTODY_TRANSFER_RETRY_MAX_SECONDS = 30
    order = new_order()
    pay(order, BTC, "0.5", memo="garbage")
    monkeypatch.setattr(
        FakeCustody, "transfer", lambda self, **kw: (_ for _ in ()).throw(CustodyTimeout("x"))
    )
    monkeypatch.setattr(FakeCustody, "transaction", lambda self, **kw: None)
    refund = CustodyTransfer.objects.get()
    now = timezone.now()
    delays = []
    for _ in range(6):
        assert transfers.transfer_advance(transfer_id=refund.pk, now=now) is not None
        refund.refresh_from_db()
        assert refund.next_attempt_at is not None
        delays.append((refund.next_attempt_at - now).total_seconds())
        # not due before its time: another drive is a no-op
        assert transfers.transfer_advance(transfer_id=refund.pk, now=now) is None
        now = refund.next_attempt_at
    assert delays == [5, 10, 20, 30, 30, 30]
    assert refund.status == "pending" and refund.attempts == 6


# ---------------------------------------------------------------------------- exits


def _running_order(new_order) -> MarketMakingOrder:  # type: ignore[no-untyped-def]
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    order = play_beat(order, until={"created"})
    assert order.state == "created"
    return order


@pytest.mark.parametrize("applied", [False, True], ids=["before_applying", "after_applying"])
def test_a_retryable_error_on_an_exits_venue_withdrawal_does_not_strand_the_exit(
    new_order, user, monkeypatch, applied: bool
) -> None:
    order = _running_order(new_order)
    real = PaperGateway.withdraw
    calls: list[str] = []

    def flaky(self: PaperGateway, **kwargs: Any) -> Any:
        calls.append(kwargs["client_id"])
        if len(calls) == 1:
            if applied:
                real(self, **kwargs)
            raise VenueTimeout("read timed out", venue="paper")
        return real(self, **kwargs)

    monkeypatch.setattr(PaperGateway, "withdraw", flaky)
    order_exit(order_id=order.pk, actor=user)
    order = play_beat(order, until={"exit_complete"})
    assert order.state == "exit_complete", order.failure_reason
    back = CustodyTransfer.objects.filter(order=order, purpose="venue_to_custody")
    assert {t.status for t in back} == {"arrived"}
    # one venue withdrawal per asset, whatever the retries
    assert PaperWithdrawal.objects.count() == back.count() == 2
    assert all(b.posted == 0 for b in order_balances(order_id=order.pk).values())
    assert_ledger_clean()


def test_a_users_payment_is_never_taken_for_a_venue_withdrawal_arriving(
    new_order, user, monkeypatch
) -> None:
    order = _running_order(new_order)
    # the venue's withdrawal answer is lost: the move back has no transaction hash yet
    monkeypatch.setattr(
        PaperGateway,
        "withdraw",
        lambda self, **kw: (_ for _ in ()).throw(VenueTimeout("down", venue="paper")),
    )
    order_exit(order_id=order.pk, actor=user)
    play_beat(order, rounds=4)
    move = CustodyTransfer.objects.get(order=order, purpose="venue_to_custody", asset_id=BTC)
    assert move.status == "pending" and move.transaction_hash == ""
    # when a user pays exactly that amount without a memo
    stranger = UserFactory.create()
    fake_custody_pay(user_id=str(stranger.pk), asset_id=BTC, amount=move.amount, memo_text="")
    for pk in intake.custody_snapshots_poll():
        intake.payment_snapshot_process(snapshot_pk=pk)
    # then it is refunded to that user, and the move is still waiting for its own money
    snapshot = PaymentSnapshot.objects.get(opponent_id=str(stranger.pk))
    assert snapshot.status == SnapshotStatus.REFUNDING
    move.refresh_from_db()
    assert move.status == "pending"


# ---------------------------------------------------------------------------- intake and expiry


def test_expiry_counts_a_payment_stored_before_the_deadline_but_not_processed(
    new_order,
) -> None:
    order = new_order()
    fake_custody_pay(
        user_id=str(order.user_id), asset_id=BTC, amount=Decimal("0.01"), memo_text=order.memo
    )
    stored = intake.custody_snapshots_poll()  # stored, its processing message still queued
    assert len(stored) == 1
    # the memo expires before intake processes the payment
    MarketMakingOrder.objects.filter(pk=order.pk).update(
        deadline_at=timezone.now(), next_step_at=timezone.now()
    )
    intake.custody_snapshots_poll()  # intake has read past the deadline
    lifecycle.order_step(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == "payment_incomplete"
    assert PaymentSnapshot.objects.get().status == SnapshotStatus.CREDITED


def test_expiry_waits_for_intake_to_read_past_the_deadline(new_order) -> None:
    order = new_order()
    MarketMakingOrder.objects.filter(pk=order.pk).update(
        deadline_at=timezone.now(), next_step_at=timezone.now()
    )
    # intake has not polled since the deadline: a payment made before it may be unseen
    lifecycle.order_step(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == "payment_pending" and order.next_step_at is not None
    intake.custody_snapshots_poll()
    MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=timezone.now())
    lifecycle.order_step(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == "deleted"


def test_a_payment_to_an_expired_memo_is_refunded_before_the_sweeper_runs(new_order) -> None:
    order = new_order()
    MarketMakingOrder.objects.filter(pk=order.pk).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )
    pay(order, BTC, "0.01")
    order.refresh_from_db()
    assert order.state == "payment_pending"
    snapshot = PaymentSnapshot.objects.get()
    assert snapshot.status == SnapshotStatus.REFUNDING
    assert snapshot.reason.startswith("memo expired")
    assert order_balances(order_id=order.pk) == {}


class PoisonCustody(FakeCustody):
    """The fake, with one snapshot no numeric(38, 18) column can hold ahead of a good one."""

    def snapshots_since(self, *, cursor: str | None, limit: int) -> SnapshotPage:
        page = super().snapshots_since(cursor=cursor, limit=limit)
        poison = Snapshot(
            snapshot_id="11111111-2222-4333-8444-555555555555",
            asset_id=BTC,
            amount=Decimal("1e20"),
            opponent_id="3c2ab7a5-0000-4000-8000-000000000000",
            memo="",
            transaction_hash="ab" * 32,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        return SnapshotPage(
            items=(poison, *page.items), next_cursor=page.next_cursor, has_more=page.has_more
        )


def test_a_snapshot_that_cannot_be_stored_is_quarantined_and_intake_moves_on(
    new_order, monkeypatch, api
) -> None:
    monkeypatch.setattr(intake, "custody_gateway", lambda: PoisonCustody())
    order = new_order()
    pay(order, BTC, "0.01")  # polls: the poison first, then the payment
    assert order.state == "payment_incomplete"
    poison = PaymentSnapshot.objects.get(status=SnapshotStatus.QUARANTINED)
    assert poison.raw["amount"] == "1E+20" and poison.amount == 0
    assert IntakeCursor.objects.get(name="fake").polled_at is not None
    # polled again: stored once, nothing credited or refunded for it
    pay(order, USDT, "100")
    assert PaymentSnapshot.objects.filter(status=SnapshotStatus.QUARANTINED).count() == 1
    assert not CustodyTransfer.objects.filter(purpose="refund").exists()
    issues = api.get("/health/system-status").json()["issues"]
    assert any(i["component"] == "intake" and "quarantined" in i["message"] for i in issues)


# ---------------------------------------------------------------------------- the sweeper


def test_the_sweeper_queues_only_what_is_due_and_not_already_queued(
    new_order, sent_tasks: list[tuple[Any, ...]]
) -> None:
    order = new_order()
    pay(order, BTC, "0.5", memo="garbage")  # a refund to send
    second = new_order()
    fake_custody_pay(
        user_id=str(second.user_id), asset_id=BTC, amount=Decimal("0.01"), memo_text=second.memo
    )
    PaymentSnapshot.objects.update(next_attempt_at=None)
    intake.custody_snapshots_poll()  # a snapshot stored, its message "lost"
    PaymentSnapshot.objects.filter(status="received").update(next_attempt_at=None)
    MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=timezone.now())
    tasks.orders_sweep_task()
    first = sorted(name for name, *_ in sent_tasks)
    assert first == [
        "custody_transfer_advance_task",
        "order_step_task",
        "payment_snapshot_process_task",
    ]
    # a second sweep while those messages wait in the queue queues nothing
    sent_tasks.clear()
    tasks.orders_sweep_task()
    assert sent_tasks == []


def test_a_queued_task_runs_with_its_lease_and_a_duplicate_is_a_no_op(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.5", memo="garbage")
    [(pk, token)] = transfers.transfers_queue_due()
    tasks.custody_transfer_advance_task(pk, token)
    tasks.custody_transfer_advance_task(pk, token)  # the same message delivered twice
    refund = CustodyTransfer.objects.get()
    assert (refund.status, refund.attempts) == ("confirmed", 1)


def test_no_open_transfer_is_left_without_a_next_attempt(new_order, user) -> None:
    order = _running_order(new_order)
    order_exit(order_id=order.pk, actor=user)
    for _ in range(3):
        play_beat(order, rounds=1)
        for transfer in CustodyTransfer.objects.exclude(status__in=["arrived", "failed"]).exclude(
            status="confirmed", purpose="refund"
        ):
            assert transfer.next_attempt_at is not None, transfer
