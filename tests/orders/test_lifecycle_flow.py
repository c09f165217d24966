"""The order's journey through the lifecycle on the fake custody and the paper venue."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import codes
from ledger.selectors import account_balance, ledger_verify_report, order_balances
from orders.enums import SnapshotStatus, TransferPurpose, TransferStatus
from orders.memo import memo_encode_market_making_create
from orders.models import CustodyTransfer, OrderEvent, PaymentSnapshot
from orders.services import intake
from standins.custody.gateway import FakeCustody
from tests.factories import UserFactory
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db


def assert_ledger_clean() -> None:
    report = ledger_verify_report()
    assert report.ok, report


def test_intent_quotes_fees_and_hands_out_a_decodable_memo(new_order, demo) -> None:
    order = new_order()
    assert order.state == "payment_pending"
    assert order.required_base_withdrawal_fee == Decimal("0.00001")
    assert order.required_quote_withdrawal_fee == Decimal(1)
    assert order.memo == memo_encode_market_making_create(
        pair_id=str(demo.pk), order_id=str(order.pk)
    )
    assert OrderEvent.objects.get(order=order).trigger == "order.intent_created"


def test_partial_then_full_payment_completes_the_order(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    assert order.state == "payment_incomplete"
    pay(order, USDT, "1000")
    assert order.state == "payment_complete"
    balances = order_balances(order_id=order.pk)
    assert balances[BTC].available == Decimal("0.01")
    assert balances[USDT].available == Decimal(1000)
    assert_ledger_clean()


def test_paid_order_reaches_created_with_its_money_on_the_venue(new_order, demo) -> None:
    # given a fully paid order
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    # when beat plays until the order no longer moves by itself
    order = play_beat(order, until={"created"})
    # then its money moved to the paper venue, less the custody withdrawal fees and our fee
    assert order.state == "created", order.failure_reason
    fee = order.strategy_fee_percentage
    btc = Decimal("0.01") - (Decimal("0.01") * fee).quantize(Decimal("1e-8"))
    usdt = Decimal(1000) - (Decimal(1000) * fee).quantize(Decimal("1e-8"))
    moves = {t.asset_id: t for t in CustodyTransfer.objects.filter(order=order)}
    assert {t.status for t in moves.values()} == {TransferStatus.ARRIVED}
    assert moves[BTC].amount == btc - Decimal("0.00001")
    assert moves[USDT].amount == usdt - Decimal(1)
    venue = codes.custody_venue("paper", "0")
    assert account_balance(code=venue, asset=BTC).posted == moves[BTC].amount
    assert account_balance(code=venue, asset=USDT).posted == moves[USDT].amount
    assert order_balances(order_id=order.pk)[BTC].available == moves[BTC].amount
    states = list(OrderEvent.objects.filter(order=order).values_list("to_state", flat=True))
    assert states == [
        "payment_pending",
        "payment_incomplete",
        "payment_complete",
        "withdrawing",
        "withdrawal_confirmed",
        "deposit_confirming",
        "deposit_confirmed",
        "created",
    ]
    assert_ledger_clean()


def test_a_duplicate_snapshot_is_credited_once(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    snapshot = PaymentSnapshot.objects.get()
    # the same snapshot delivered again (overlap re-read) and processed again
    assert intake.custody_snapshots_poll() == []
    intake.payment_snapshot_process(snapshot_pk=snapshot.pk)
    assert order_balances(order_id=order.pk)[BTC].available == Decimal("0.01")
    assert PaymentSnapshot.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("bad_memo", "bad memo"),
        ("unknown_order", "unknown order"),
        ("other_payer", "payer is not the order's user"),
        ("unknown_asset", "asset is not one this order takes"),
    ],
)
def test_a_bad_payment_is_refunded_in_full(new_order, demo, case: str, reason: str) -> None:
    order = new_order()
    payer = str(order.user_id)
    asset, memo = BTC, order.memo
    if case == "bad_memo":
        memo = "not-a-memo"
    elif case == "unknown_order":
        memo = memo_encode_market_making_create(
            pair_id=str(demo.pk), order_id="00000000-0000-4000-8000-000000000001"
        )
    elif case == "other_payer":
        payer = str(UserFactory.create().pk)
    elif case == "unknown_asset":
        asset = "43d61dcd-e413-450d-80b8-101d5e903357"  # ETH: not this pair's
    pay(order, asset, "0.5", payer=payer, memo=memo)
    snapshot = PaymentSnapshot.objects.get()
    assert snapshot.status == SnapshotStatus.REFUNDING
    assert snapshot.reason.startswith(reason)
    refund = CustodyTransfer.objects.get(purpose=TransferPurpose.REFUND)
    assert (refund.recipient_id, refund.asset_id, refund.amount) == (payer, asset, Decimal("0.5"))
    # the order itself was not touched
    order.refresh_from_db()
    assert order.state == "payment_pending"
    assert order_balances(order_id=order.pk) == {}
    assert_ledger_clean()


def test_memo_expiry_deletes_an_unpaid_order(new_order, lifecycle_settings) -> None:
    lifecycle_settings.ORDER_MEMO_TIMEOUT_SECONDS = 0
    order = play_beat(new_order(), until={"deleted"})
    assert order.state == "deleted"


def test_payment_timeout_fails_the_order_and_refunds_what_was_paid(
    new_order, lifecycle_settings
) -> None:
    lifecycle_settings.ORDER_PAYMENT_TIMEOUT_SECONDS = 0
    order = new_order()
    pay(order, BTC, "0.01")
    order = play_beat(order, until={"refunded"})
    assert order.state == "refunded"
    refund = CustodyTransfer.objects.get(purpose=TransferPurpose.REFUND)
    assert (refund.asset_id, refund.amount, refund.status) == (
        BTC,
        Decimal("0.01"),
        TransferStatus.CONFIRMED,
    )
    assert order_balances(order_id=order.pk)[BTC].posted == 0
    tx = FakeCustody().transaction(request_id=refund.request_id)
    assert tx is not None and tx.status == "confirmed"
    assert_ledger_clean()


def test_with_sending_off_a_paid_order_is_refunded_with_the_reason(
    new_order, lifecycle_settings
) -> None:
    lifecycle_settings.ORDER_WITHDRAW_SEND = False
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "100")
    order = play_beat(order, until={"refunded"})
    assert order.state == "refunded"
    assert "withdrawals to exchanges are disabled" in order.failure_reason
    refunds = CustodyTransfer.objects.filter(purpose=TransferPurpose.REFUND)
    assert {(r.asset_id, r.status) for r in refunds} == {(BTC, "confirmed"), (USDT, "confirmed")}
    assert all(b.posted == 0 for b in order_balances(order_id=order.pk).values())
    assert_ledger_clean()


def test_exit_from_created_brings_the_money_back_from_the_venue(new_order, user) -> None:
    from orders.services.controls import order_exit

    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    order = play_beat(order, until={"created"})
    assert order.state == "created"
    # when the user exits
    order_exit(order_id=order.pk, actor=user)
    order = play_beat(order, until={"exit_complete"})
    # then everything left of the order went back to the user's wallet
    assert order.state == "exit_complete", order.failure_reason
    states = list(OrderEvent.objects.filter(order=order).values_list("to_state", flat=True))
    assert states[-4:] == ["exit_requested", "exit_withdrawing", "exit_refunding", "exit_complete"]
    refunds = {
        r.asset_id: r for r in CustodyTransfer.objects.filter(purpose=TransferPurpose.REFUND)
    }
    back = {
        t.asset_id: t
        for t in CustodyTransfer.objects.filter(purpose=TransferPurpose.VENUE_TO_CUSTODY)
    }
    assert {t.status for t in back.values()} == {TransferStatus.ARRIVED}
    assert (
        refunds[BTC].amount == back[BTC].amount and refunds[BTC].status == TransferStatus.CONFIRMED
    )
    assert refunds[USDT].amount == back[USDT].amount
    assert all(b.posted == 0 for b in order_balances(order_id=order.pk).values())
    assert account_balance(code=codes.custody_venue("paper", "0"), asset=BTC).posted == 0
    # exit again is a no-op, not an error
    assert order_exit(order_id=order.pk, actor=user).state == "exit_complete"
    assert_ledger_clean()


def test_a_transition_schedules_its_step_on_commit_with_a_derived_task_id(
    new_order, sent_tasks, django_capture_on_commit_callbacks
) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    with django_capture_on_commit_callbacks(execute=True):
        pay(order, USDT, "100")
    assert order.state == "payment_complete"
    assert [(name, args, opts["task_id"]) for name, args, _, opts in sent_tasks] == [
        ("order_step_task", (str(order.pk),), f"order:{order.pk}:payment_complete:0")
    ]


def test_a_rejected_payment_queues_no_step(
    new_order, sent_tasks, django_capture_on_commit_callbacks
) -> None:
    order = new_order()
    with django_capture_on_commit_callbacks(execute=True):
        pay(order, BTC, "0.01", memo="garbage")
    assert sent_tasks == []
    order.refresh_from_db()
    assert order.state == "payment_pending"


def test_default_order_size_is_worth_about_twenty_dollars(new_order) -> None:
    order = new_order()
    # BTC at 95,000 USD in the registry: 20 / 95000 rounded up to 1e-8
    assert order.strategy_params["orderAmount"] == "0.00021053"
