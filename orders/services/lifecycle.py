"""The step of each state: what moves an order on once the outside world allows.

`order_step` is what `order_step_task` and the sweeper call. It first claims the order by
moving `next_step_at` forward with a conditional UPDATE (a lease: two workers never run one
order's step at once), then runs the handler of the order's current state. Handlers talk to
custody and venues outside any row lock, persist every intent before it is sent, and change
state only through `order_transition` under the order's lock, re-checking the state there.
Running a step twice, or after a crash anywhere in it, is safe.

    payment_pending/incomplete  time out → deleted / failed, once intake has read past the
                                deadline and every payment made before it is processed
    payment_complete            service fee; withdrawals to the venue persisted → withdrawing
                                (held while custody drifts; failed past its hold timeout)
    withdrawing                 send / confirm custody withdrawals → withdrawal_confirmed
    withdrawal_confirmed        → deposit_confirming
    deposit_confirming          match venue deposits; on a venue with a funding and a trading
                                wallet, move each deposit to trading → deposit_confirmed
    deposit_confirmed           → joining_campaign (a matching HuFi campaign) or created
    joining_campaign            bounded join attempt → campaign_joined or created
    campaign_joined             → created
    created                     strategy session started → running
    exit_* and failed           unwinding (`unwind`): venue → custody, refunds → final

Transfers are advanced by `transfers.transfer_advance` (inline here for the order's own, and
by the sweeper for every transfer), never sent from a step directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from exchanges.venues.base import VenueError
from ledger import codes as ledger_codes
from ledger import services as ledger
from orders.custody import custody_gateway
from orders.custody.base import CustodyError
from orders.enums import OrderState, TransferPurpose, TransferStatus
from orders.models import CustodyTransfer, MarketMakingOrder
from orders.selectors import order_balances
from orders.services import intake, moves, seams
from orders.services.intake import paid_by_asset
from orders.services.reconcile import custody_drift_persists
from orders.services.stepping import StepFailure, past_deadline, poll_later, step_transition
from orders.services.transfers import transfers_advance_open
from orders.services.transitions import order_lock
from orders.services.unwind import (
    step_exit_refunding,
    step_exit_requested,
    step_exit_withdrawing,
    step_failed,
)
from orders.steps import AUTOMATIC_STATES, WAITING_STATES

log = structlog.get_logger(__name__)
S = OrderState
P = TransferPurpose
T = TransferStatus


# ---------------------------------------------------------------------------- claiming


def order_step_claim(
    *, order_id: UUID | str, now: datetime | None = None, token: datetime | None = None
) -> bool:
    """Take the order's step lease if it is due (or still holds the `token` lease the sweeper
    queued it with); False if not due or another worker has it."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.ORDER_STEP_LEASE_SECONDS)
    due = Q(next_step_at__lte=now)
    if token is not None:
        due |= Q(next_step_at=token)
    return bool(
        MarketMakingOrder.objects.filter(due, pk=order_id).update(
            next_step_at=lease, step_attempts=F("step_attempts") + 1
        )
    )


# ---------------------------------------------------------------------------- payment


def _step_awaiting_payment(order: MarketMakingOrder) -> None:
    if not past_deadline(order):
        MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=order.deadline_at)
        return
    # Every payment made before the deadline counts: wait until intake has read past it, and
    # process what it stored but has not processed yet (a credit may complete the order).
    assert order.deadline_at is not None
    if not intake.intake_caught_up(moment=order.deadline_at):
        log.info("order_expiry_waits_for_intake", order_id=str(order.pk))
        poll_later(order)
        return
    for pk in intake.snapshots_received_before(moment=order.deadline_at):
        intake.payment_snapshot_process(snapshot_pk=pk)
    if order.state == S.PAYMENT_PENDING:
        step_transition(
            order.pk,
            "memo_expired",
            "order.memo_expired",
            expect=S.PAYMENT_PENDING,
            reason="memo expired with nothing paid",
        )
    else:
        step_transition(
            order.pk,
            "failed",
            "order.payment_timeout",
            expect=S.PAYMENT_INCOMPLETE,
            reason="payment timed out before it was complete",
        )


def _take_service_fee(order: MarketMakingOrder) -> None:
    if order.strategy_fee_percentage <= 0:
        return
    paid = paid_by_asset(order)
    for asset in (str(order.pair.base_asset_id), str(order.pair.quote_asset_id)):
        fee = (paid.get(asset, Decimal(0)) * order.strategy_fee_percentage).quantize(
            Decimal("1e-8"), rounding="ROUND_DOWN"
        )
        if fee > 0:
            ledger.service_fee_take(
                idempotency_key=f"order:{order.pk}:service_fee:{asset}",
                payer=ledger_codes.order_account(order.pk),
                asset=asset,
                amount=fee,
                reference=str(order.pk),
            )


def _step_payment_complete(order: MarketMakingOrder) -> None:
    held = ""
    if not settings.ORDER_WITHDRAW_ON_PAYMENT:
        held = "withdrawals on payment are off"
    elif custody_drift_persists():
        # Sending more out of a wallet whose books disagree with it increases the risk.
        held = "the custody wallet drifts from the ledger"
    if held and past_deadline(order):
        step_transition(
            order.pk,
            "failed",
            "order.hold_timeout",
            expect=S.PAYMENT_COMPLETE,
            reason=f"held too long ({held}); the payment is refunded",
        )
        return
    if held:
        # Shown in system status while it lasts; the deadline above ends it.
        log.warning("order_withdrawal_held", order_id=str(order.pk), reason=held)
        poll_later(order)
        return
    if not settings.ORDER_WITHDRAW_SEND:
        step_transition(
            order.pk,
            "failed",
            "order.withdrawals_disabled",
            expect=S.PAYMENT_COMPLETE,
            reason="withdrawals to exchanges are disabled; the payment is refunded",
        )
        return
    # Outside the lock: the venue's deposit addresses and custody's current fees.
    gateway = moves.venue_gateway_for(order)
    custody = custody_gateway()
    plan = []
    for asset in (str(order.pair.base_asset_id), str(order.pair.quote_asset_id)):
        route = moves.venue_route(order=order, asset_id=asset)
        address = gateway.fetch_deposit_address(route.currency, network=route.network)
        fee = custody.withdrawal_fee(asset_id=asset, destination=address.address)
        plan.append((asset, address, fee))

    def persist(locked: MarketMakingOrder) -> None:
        # Up to four entries (two service fees, two moves) in this transaction: their
        # accounts are locked together first, in one order (see ledger_accounts_lock).
        ledger.ledger_accounts_lock(
            accounts=[
                account
                for asset, _address, _fee in plan
                for account in moves.ledger_accounts_for(
                    order=locked,
                    asset_id=asset,
                    purposes=[P.WITHDRAW_TO_VENUE],
                    service_fee=locked.strategy_fee_percentage > 0,
                )
            ]
        )
        _take_service_fee(locked)
        balances = order_balances(locked)
        for asset, address, fee in plan:
            same_asset_fee = fee.amount if fee.asset_id == asset else Decimal(0)
            amount = balances.get(asset, Decimal(0)) - same_asset_fee
            if amount <= 0:
                raise StepFailure(f"nothing left of {asset} after the withdrawal fee")
            if fee.asset_id != asset and balances.get(fee.asset_id, Decimal(0)) < fee.amount:
                raise StepFailure(f"fee asset {fee.asset_id} does not cover the withdrawal fee")
            moves.withdraw_to_venue_create(
                order=locked,
                asset_id=asset,
                amount=amount,
                fee_asset_id=fee.asset_id,
                fee_amount=fee.amount,
                destination=address.address,
                tag=address.tag,
            )

    try:
        step_transition(
            order.pk,
            "withdrawal_started",
            "order.withdrawal_started",
            expect=S.PAYMENT_COMPLETE,
            extra=persist,
        )
    except StepFailure as exc:
        step_transition(
            order.pk,
            "failed",
            "order.withdrawal_impossible",
            expect=S.PAYMENT_COMPLETE,
            reason=str(exc),
        )


# ---------------------------------------------------------------------------- to the venue


def _step_withdrawing(order: MarketMakingOrder) -> None:
    transfers = [
        t for t in transfers_advance_open(order_id=order.pk) if t.purpose == P.WITHDRAW_TO_VENUE
    ]
    failed = [t for t in transfers if t.status == T.FAILED]
    if failed:
        step_transition(
            order.pk,
            "failed",
            "order.withdrawal_failed",
            expect=S.WITHDRAWING,
            reason=f"custody withdrawal failed: {failed[0].last_error}",
        )
    elif transfers and all(t.status in (T.CONFIRMED, T.ARRIVED) for t in transfers):
        step_transition(
            order.pk, "withdrawal_confirmed", "order.withdrawal_confirmed", expect=S.WITHDRAWING
        )
    elif past_deadline(order):
        step_transition(
            order.pk,
            "failed",
            "order.withdrawal_timeout",
            expect=S.WITHDRAWING,
            reason="custody withdrawal did not confirm in time",
        )
    else:
        poll_later(order)


def _step_withdrawal_confirmed(order: MarketMakingOrder) -> None:
    step_transition(
        order.pk,
        "deposit_watch_started",
        "order.deposit_watch_started",
        expect=S.WITHDRAWAL_CONFIRMED,
    )


def _to_trading_wallet(order: MarketMakingOrder, deposits: list[CustodyTransfer]) -> bool | None:
    """Deposits all arrived: on a venue with two wallets, each must also be in trading.

    True when every deposit is in the trading wallet; None when a move to it failed as often
    as it may (the order fails, its unwind takes the money back from funding); False while
    moves are under way (created here, idempotently, and driven at once)."""
    if not moves.venue_route(order=order, asset_id=deposits[0].asset_id).split:
        return True
    with transaction.atomic():
        locked = order_lock(order_id=order.pk)
        if locked.state != S.DEPOSIT_CONFIRMING:
            return False
        ledger.ledger_accounts_lock(
            accounts=[
                account
                for deposit in deposits
                for account in moves.ledger_accounts_for(
                    order=locked, asset_id=deposit.asset_id, purposes=[P.FUNDING_TO_TRADING]
                )
            ]
        )
        for deposit in deposits:
            tries = CustodyTransfer.objects.filter(
                order=locked, purpose=P.FUNDING_TO_TRADING, asset_id=deposit.asset_id
            )
            failed = tries.filter(status=T.FAILED).count()
            if tries.exclude(status=T.FAILED).exists():
                continue
            if failed >= settings.ORDER_REFUND_MAX_ROUNDS:
                return None
            moves.venue_wallet_move_create(
                order=locked,
                asset_id=deposit.asset_id,
                amount=deposit.amount,
                purpose=P.FUNDING_TO_TRADING,
                attempt=failed,
            )
    moved = [
        t
        for t in transfers_advance_open(order_id=order.pk)
        if t.purpose == P.FUNDING_TO_TRADING and t.status != T.FAILED
    ]
    return {t.asset_id for t in moved if t.status == T.ARRIVED} >= {d.asset_id for d in deposits}


def _step_deposit_confirming(order: MarketMakingOrder) -> None:
    transfers = [
        t for t in transfers_advance_open(order_id=order.pk) if t.purpose == P.WITHDRAW_TO_VENUE
    ]
    arrived = bool(transfers) and all(t.status == T.ARRIVED for t in transfers)
    in_trading = _to_trading_wallet(order, transfers) if arrived else False
    if in_trading:
        step_transition(
            order.pk, "deposit_confirmed", "order.deposit_confirmed", expect=S.DEPOSIT_CONFIRMING
        )
    elif in_trading is None:
        step_transition(
            order.pk,
            "failed",
            "order.wallet_move_failed",
            expect=S.DEPOSIT_CONFIRMING,
            reason="the venue refused to move the deposit to its trading wallet",
        )
    elif past_deadline(order):
        step_transition(
            order.pk,
            "failed",
            "order.deposit_timeout",
            expect=S.DEPOSIT_CONFIRMING,
            reason="the venue did not show the deposit in time",
        )
    else:
        poll_later(order)


# ---------------------------------------------------------------------------- campaign, start


def _step_deposit_confirmed(order: MarketMakingOrder) -> None:
    if settings.ORDER_JOIN_CAMPAIGNS and seams.campaign_for_order(order=order) is not None:
        step_transition(
            order.pk,
            "campaign_join_started",
            "order.campaign_join_started",
            expect=S.DEPOSIT_CONFIRMED,
        )
    else:
        step_transition(
            order.pk, "strategy_created", "order.strategy_created", expect=S.DEPOSIT_CONFIRMED
        )


def _step_joining_campaign(order: MarketMakingOrder) -> None:
    result = seams.campaign_join_for_order(order=order)  # bounded: never holds trading for long
    if result.ok:
        step_transition(
            order.pk,
            "campaign_join_succeeded",
            "order.campaign_joined",
            expect=S.JOINING_CAMPAIGN,
            payload={"status": result.status},
        )
    else:
        step_transition(
            order.pk,
            "strategy_created",
            "order.campaign_join_failed",
            expect=S.JOINING_CAMPAIGN,
            reason=result.error or result.status,
            payload={"status": result.status},
        )


def _step_campaign_joined(order: MarketMakingOrder) -> None:
    step_transition(
        order.pk, "strategy_created", "order.strategy_created", expect=S.CAMPAIGN_JOINED
    )


def _step_created(order: MarketMakingOrder) -> None:
    step_transition(
        order.pk,
        "started",
        "order.started",
        expect=S.CREATED,
        extra=lambda locked: seams.session_start(order=locked),
    )


HANDLERS: dict[str, Callable[[MarketMakingOrder], None]] = {
    S.PAYMENT_PENDING: _step_awaiting_payment,
    S.PAYMENT_INCOMPLETE: _step_awaiting_payment,
    S.PAYMENT_COMPLETE: _step_payment_complete,
    S.WITHDRAWING: _step_withdrawing,
    S.WITHDRAWAL_CONFIRMED: _step_withdrawal_confirmed,
    S.DEPOSIT_CONFIRMING: _step_deposit_confirming,
    S.DEPOSIT_CONFIRMED: _step_deposit_confirmed,
    S.JOINING_CAMPAIGN: _step_joining_campaign,
    S.CAMPAIGN_JOINED: _step_campaign_joined,
    S.CREATED: _step_created,
    S.EXIT_REQUESTED: step_exit_requested,
    S.EXIT_WITHDRAWING: step_exit_withdrawing,
    S.EXIT_REFUNDING: step_exit_refunding,
    S.FAILED: step_failed,
}
assert set(HANDLERS) == AUTOMATIC_STATES | WAITING_STATES


def order_step(*, order_id: UUID | str, token: datetime | None = None) -> str | None:
    """Run the due step of one order. Returns the state it ran for, None if not due/claimed."""
    if not order_step_claim(order_id=order_id, token=token):
        return None
    order: MarketMakingOrder = MarketMakingOrder.objects.select_related(
        "pair", "venue_account__exchange"
    ).get(pk=order_id)
    handler = HANDLERS.get(order.state)
    if handler is None:
        MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=None)
        state: str = order.state
        return state
    try:
        handler(order)
    except (CustodyError, VenueError) as exc:
        # A passing outage: the step runs again after the poll interval.
        log.warning("order_step_retry", order_id=str(order.pk), state=order.state, error=str(exc))
        poll_later(order)
    state = order.state
    return state


def orders_queue_due(
    *, now: datetime | None = None, limit: int = 500
) -> list[tuple[str, str, int, str]]:
    """For the sweeper: claim the orders whose step is due (a lost message, a poll, a
    timeout) for a queue lease and return `(id, state, attempts, token)`. An order already
    queued (its lease not over) is not queued again, so a backlog cannot feed itself."""
    now = now or timezone.now()
    token = now + timedelta(seconds=settings.ORDER_QUEUE_LEASE_SECONDS)
    due = list(
        MarketMakingOrder.objects.filter(next_step_at__lte=now)
        .order_by("next_step_at")
        .values_list("pk", "state", "step_attempts", "next_step_at")[:limit]
    )
    return [
        (str(pk), state, attempts, token.isoformat())
        for pk, state, attempts, seen in due
        if MarketMakingOrder.objects.filter(pk=pk, next_step_at=seen).update(next_step_at=token)
    ]


def orders_due(*, limit: int = 500) -> list[tuple[str, str, int]]:
    """Orders whose step is due now (read only): (id, state, attempts)."""
    return [
        (str(pk), state, attempts)
        for pk, state, attempts in MarketMakingOrder.objects.filter(
            next_step_at__lte=timezone.now()
        )
        .order_by("next_step_at")
        .values_list("pk", "state", "step_attempts")[:limit]
    ]
