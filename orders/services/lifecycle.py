"""The step of each state: what moves an order on once the outside world allows.

`order_step` is what `order_step_task` and the sweeper call. It first claims the order by
moving `next_step_at` forward with a conditional UPDATE (a lease: two workers never run one
order's step at once), then runs the handler of the order's current state. Handlers talk to
custody and venues outside any row lock, persist every intent before it is sent, and change
state only through `order_transition` under the order's lock, re-checking the state there.
Running a step twice, or after a crash anywhere in it, is safe.

    payment_pending/incomplete  time out → deleted / failed
    payment_complete            service fee; withdrawals to the venue persisted → withdrawing
    withdrawing                 send / confirm custody withdrawals → withdrawal_confirmed
    withdrawal_confirmed        → deposit_confirming
    deposit_confirming          match venue deposits → deposit_confirmed
    deposit_confirmed           → joining_campaign (a matching HuFi campaign) or created
    joining_campaign            bounded join attempt → campaign_joined or created
    campaign_joined             → created
    created                     strategy session started → running
    exit_requested              session stopped, live orders gone → exit_withdrawing / exit_refunding
    exit_withdrawing            venue → custody, arrivals matched → exit_refunding
    exit_refunding              refunds sent and confirmed → exit_complete
    failed                      unwind like an exit → refunded
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
from orders.enums import (
    IN_FLIGHT_TRANSFER_STATUSES,
    OrderState,
    TransferPurpose,
    TransferStatus,
)
from orders.models import CustodyTransfer, MarketMakingOrder
from orders.selectors import order_balances
from orders.services import moves
from orders.services.intake import paid_by_asset
from orders.services.transitions import order_lock, order_transition
from orders.steps import AUTOMATIC_STATES, WAITING_STATES

log = structlog.get_logger(__name__)
S = OrderState
P = TransferPurpose
T = TransferStatus


# ---------------------------------------------------------------------------- claiming


def order_step_claim(*, order_id: UUID | str, now: datetime | None = None) -> bool:
    """Take the order's step lease if it is due; False if not due or another worker has it."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.ORDER_STEP_LEASE_SECONDS)
    return bool(
        MarketMakingOrder.objects.filter(pk=order_id, next_step_at__lte=now).update(
            next_step_at=lease, step_attempts=F("step_attempts") + 1
        )
    )


def _poll_later(order: MarketMakingOrder, *, seconds: int | None = None) -> None:
    """Look again in a while (the lease is replaced by the poll time)."""
    delay = settings.ORDER_STEP_POLL_SECONDS if seconds is None else seconds
    when = timezone.now() + timedelta(seconds=delay)
    MarketMakingOrder.objects.filter(pk=order.pk, state=order.state).update(next_step_at=when)


def _past_deadline(order: MarketMakingOrder) -> bool:
    return order.deadline_at is not None and timezone.now() >= order.deadline_at


def _transition(
    order_id: UUID,
    name: str,
    trigger: str,
    *,
    expect: str,
    reason: str = "",
    payload: dict[str, object] | None = None,
    extra: Callable[[MarketMakingOrder], None] | None = None,
) -> bool:
    """Lock, re-check the state the step saw, run `extra` (ledger, intents), transition."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.state != expect:
            return False
        if extra is not None:
            extra(order)
        order_transition(order=order, name=name, trigger=trigger, reason=reason, payload=payload)
    return True


# ---------------------------------------------------------------------------- payment


def _step_awaiting_payment(order: MarketMakingOrder) -> None:
    if not _past_deadline(order):
        MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=order.deadline_at)
        return
    if order.state == S.PAYMENT_PENDING:
        _transition(
            order.pk,
            "memo_expired",
            "order.memo_expired",
            expect=S.PAYMENT_PENDING,
            reason="memo expired with nothing paid",
        )
    else:
        _transition(
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
    if not settings.ORDER_WITHDRAW_ON_PAYMENT:
        MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=None)
        log.info("order_withdrawal_not_queued", order_id=str(order.pk))
        return
    from orders.services.reconcile import custody_drift_persists

    if custody_drift_persists():
        # Sending more out of a wallet whose books disagree with it increases the risk.
        log.warning("order_withdrawal_held_for_drift", order_id=str(order.pk))
        _poll_later(order)
        return
    if not settings.ORDER_WITHDRAW_SEND:
        _transition(
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
        _transition(
            order.pk,
            "withdrawal_started",
            "order.withdrawal_started",
            expect=S.PAYMENT_COMPLETE,
            extra=persist,
        )
    except StepFailure as exc:
        _transition(
            order.pk,
            "failed",
            "order.withdrawal_impossible",
            expect=S.PAYMENT_COMPLETE,
            reason=str(exc),
        )


class StepFailure(Exception):
    """The step cannot succeed for this order (not a passing outage): fail the order."""


# ---------------------------------------------------------------------------- to the venue


def _transfers(order: MarketMakingOrder, purpose: str) -> list[CustodyTransfer]:
    return list(
        CustodyTransfer.objects.filter(order=order, purpose=purpose).select_related("order")
    )


def _step_withdrawing(order: MarketMakingOrder) -> None:
    transfers = [moves.transfer_drive(transfer=t) for t in _transfers(order, P.WITHDRAW_TO_VENUE)]
    failed = [t for t in transfers if t.status == T.FAILED]
    if failed:
        _transition(
            order.pk,
            "failed",
            "order.withdrawal_failed",
            expect=S.WITHDRAWING,
            reason=f"custody withdrawal failed: {failed[0].last_error}",
        )
    elif transfers and all(t.status in (T.CONFIRMED, T.ARRIVED) for t in transfers):
        _transition(
            order.pk, "withdrawal_confirmed", "order.withdrawal_confirmed", expect=S.WITHDRAWING
        )
    elif _past_deadline(order):
        _transition(
            order.pk,
            "failed",
            "order.withdrawal_timeout",
            expect=S.WITHDRAWING,
            reason="custody withdrawal did not confirm in time",
        )
    else:
        _poll_later(order)


def _step_withdrawal_confirmed(order: MarketMakingOrder) -> None:
    _transition(
        order.pk,
        "deposit_watch_started",
        "order.deposit_watch_started",
        expect=S.WITHDRAWAL_CONFIRMED,
    )


def _step_deposit_confirming(order: MarketMakingOrder) -> None:
    transfers = [
        moves.venue_arrival_check(transfer=t) for t in _transfers(order, P.WITHDRAW_TO_VENUE)
    ]
    if transfers and all(t.status == T.ARRIVED for t in transfers):
        _transition(
            order.pk, "deposit_confirmed", "order.deposit_confirmed", expect=S.DEPOSIT_CONFIRMING
        )
    elif _past_deadline(order):
        _transition(
            order.pk,
            "failed",
            "order.deposit_timeout",
            expect=S.DEPOSIT_CONFIRMING,
            reason="the venue did not show the deposit in time",
        )
    else:
        _poll_later(order)


# ---------------------------------------------------------------------------- campaign, start


def _step_deposit_confirmed(order: MarketMakingOrder) -> None:
    from orders.services.seams import campaign_for_order

    if settings.ORDER_JOIN_CAMPAIGNS and campaign_for_order(order=order) is not None:
        _transition(
            order.pk,
            "campaign_join_started",
            "order.campaign_join_started",
            expect=S.DEPOSIT_CONFIRMED,
        )
    else:
        _transition(
            order.pk, "strategy_created", "order.strategy_created", expect=S.DEPOSIT_CONFIRMED
        )


def _step_joining_campaign(order: MarketMakingOrder) -> None:
    from orders.services.seams import campaign_join_for_order

    result = campaign_join_for_order(order=order)  # bounded: never holds trading for long
    if result.ok:
        _transition(
            order.pk,
            "campaign_join_succeeded",
            "order.campaign_joined",
            expect=S.JOINING_CAMPAIGN,
            payload={"status": result.status},
        )
    else:
        _transition(
            order.pk,
            "strategy_created",
            "order.campaign_join_failed",
            expect=S.JOINING_CAMPAIGN,
            reason=result.error or result.status,
            payload={"status": result.status},
        )


def _step_campaign_joined(order: MarketMakingOrder) -> None:
    _transition(order.pk, "strategy_created", "order.strategy_created", expect=S.CAMPAIGN_JOINED)


def _step_created(order: MarketMakingOrder) -> None:
    from orders.services.seams import session_start

    _transition(
        order.pk,
        "started",
        "order.started",
        expect=S.CREATED,
        extra=lambda locked: session_start(order=locked),
    )


# ---------------------------------------------------------------------------- unwinding


def _venue_held(order: MarketMakingOrder) -> set[str]:
    """Assets of this order whose balance sits on the venue: they went there (the deposit
    arrived) and no venue → custody move of them is under way or done."""
    went = set(
        CustodyTransfer.objects.filter(
            order=order, purpose=P.WITHDRAW_TO_VENUE, status=T.ARRIVED
        ).values_list("asset_id", flat=True)
    )
    coming_back = set(
        CustodyTransfer.objects.filter(order=order, purpose=P.VENUE_TO_CUSTODY)
        .exclude(status=T.FAILED)
        .values_list("asset_id", flat=True)
    )
    return went - coming_back


def _moves_in_flight(order: MarketMakingOrder) -> bool:
    return CustodyTransfer.objects.filter(
        Q(order=order)
        & (
            Q(status__in=IN_FLIGHT_TRANSFER_STATUSES)
            | Q(purpose__in=[P.WITHDRAW_TO_VENUE, P.VENUE_TO_CUSTODY], status=T.CONFIRMED)
        )
    ).exists()


def _drive_open_transfers(order: MarketMakingOrder) -> None:
    for transfer in CustodyTransfer.objects.filter(order=order).select_related("order"):
        if transfer.status in IN_FLIGHT_TRANSFER_STATUSES:
            moves.transfer_drive(transfer=transfer)
        elif transfer.status == T.CONFIRMED and transfer.purpose == P.WITHDRAW_TO_VENUE:
            moves.venue_arrival_check(transfer=transfer)


def _start_venue_withdrawals(order: MarketMakingOrder, expect: str) -> bool:
    """Persist venue → custody moves for the order's venue-held balances. True if any."""
    venue_assets = _venue_held(order)
    balances = order_balances(order)
    wanted = {a: amt for a, amt in balances.items() if a in venue_assets and amt > 0}
    if not wanted:
        return False
    custody = custody_gateway()
    addresses = {asset: custody.deposit_address(asset_id=asset) for asset in wanted}
    created = False

    def persist(locked: MarketMakingOrder) -> None:
        nonlocal created
        held = _venue_held(locked)
        for asset, amount in order_balances(locked).items():
            if asset not in wanted or asset not in held or amount <= 0:
                continue
            route = moves.venue_route(order=locked, asset_id=asset)
            if amount <= route.withdraw_fee:
                continue  # dust below the venue's fee stays on the order's account
            address = addresses[asset]
            failed_before = CustodyTransfer.objects.filter(
                order=locked, purpose=P.VENUE_TO_CUSTODY, asset_id=asset, status=T.FAILED
            ).count()
            moves.venue_to_custody_create(
                order=locked,
                asset_id=asset,
                amount=amount,
                destination=address.destination,
                tag=address.tag,
                attempt=failed_before,
            )
            created = True

    with transaction.atomic():
        locked = order_lock(order_id=order.pk)
        if locked.state != expect:
            return False
        persist(locked)
    return created


def _start_refunds(order: MarketMakingOrder) -> bool:
    """Persist refunds of every custody-held balance of the order. True if any was created."""
    created = False
    with transaction.atomic():
        locked = order_lock(order_id=order.pk)
        held = _venue_held(locked)
        for asset, amount in order_balances(locked).items():
            if amount <= 0 or asset in held:
                continue
            moves.refund_create(
                key=f"{locked.pk}:{asset}:{_refund_round(locked, asset)}",
                recipient_id=str(locked.user_id),
                asset_id=asset,
                amount=amount,
                order=locked,
            )
            created = True
    return created


def _refund_round(order: MarketMakingOrder, asset: str) -> int:
    """Refunds of one asset are numbered, so money arriving after a refund gets its own."""
    return CustodyTransfer.objects.filter(order=order, purpose=P.REFUND, asset_id=asset).count()


def _unwind(order: MarketMakingOrder, *, expect: str, done: Callable[[], object]) -> None:
    """Shared by exit and failure: stop trading, bring venue money back, refund, finish."""
    if not _trading_stopped(order):
        return
    _drive_open_transfers(order)
    if _moves_in_flight(order):
        _poll_later(order)
        return
    if _start_venue_withdrawals(order, expect) or _start_refunds(order):
        _drive_open_transfers(order)
        _poll_later(order)
        return
    done()


def _trading_stopped(order: MarketMakingOrder) -> bool:
    """True once the order's session has no live orders; until then, stop it and poll."""
    from orders.services.seams import session_live_order_count, session_stop

    if session_live_order_count(order=order) == 0:
        return True
    session_stop(order=order)
    _poll_later(order)
    return False


def _step_exit_requested(order: MarketMakingOrder) -> None:
    if not _trading_stopped(order):
        return
    if _venue_held(order):
        _transition(
            order.pk, "exit_withdrawal_started", "order.exit_withdrawing", expect=S.EXIT_REQUESTED
        )
    else:
        _transition(
            order.pk, "exit_refund_started", "order.exit_refunding", expect=S.EXIT_REQUESTED
        )


def _step_exit_withdrawing(order: MarketMakingOrder) -> None:
    _drive_open_transfers(order)
    if _moves_in_flight(order):
        _poll_later(order)
        return
    if _start_venue_withdrawals(order, S.EXIT_WITHDRAWING):
        _drive_open_transfers(order)
        _poll_later(order)
        return
    _transition(order.pk, "exit_refund_started", "order.exit_refunding", expect=S.EXIT_WITHDRAWING)


def _step_exit_refunding(order: MarketMakingOrder) -> None:
    _unwind(
        order,
        expect=S.EXIT_REFUNDING,
        done=lambda: _transition(
            order.pk, "exit_completed", "order.exit_complete", expect=S.EXIT_REFUNDING
        ),
    )


def _step_failed(order: MarketMakingOrder) -> None:
    _unwind(
        order,
        expect=S.FAILED,
        done=lambda: _transition(order.pk, "refunded", "order.refunded", expect=S.FAILED),
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
    S.EXIT_REQUESTED: _step_exit_requested,
    S.EXIT_WITHDRAWING: _step_exit_withdrawing,
    S.EXIT_REFUNDING: _step_exit_refunding,
    S.FAILED: _step_failed,
}
assert set(HANDLERS) == AUTOMATIC_STATES | WAITING_STATES


def order_step(*, order_id: UUID | str) -> str | None:
    """Run the due step of one order. Returns the state it ran for, None if not due/claimed."""
    if not order_step_claim(order_id=order_id):
        return None
    order = MarketMakingOrder.objects.select_related("pair", "venue_account__exchange").get(
        pk=order_id
    )
    handler = HANDLERS.get(order.state)
    if handler is None:
        MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=None)
        return order.state
    try:
        handler(order)
    except (CustodyError, VenueError) as exc:
        # A passing outage: the step runs again after the poll interval.
        log.warning("order_step_retry", order_id=str(order.pk), state=order.state, error=str(exc))
        _poll_later(order)
    return order.state


def orders_due(*, limit: int = 500) -> list[tuple[str, str, int]]:
    """Orders whose step is due (a lost message, a poll, a timeout): (id, state, attempts)."""
    return [
        (str(pk), state, attempts)
        for pk, state, attempts in MarketMakingOrder.objects.filter(
            next_step_at__lte=timezone.now()
        )
        .order_by("next_step_at")
        .values_list("pk", "state", "step_attempts")[:limit]
    ]
