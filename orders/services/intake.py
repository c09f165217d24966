"""Custody snapshots in: each stored once, then credited to its order or refunded.

Polling (`custody_snapshots_poll`) follows the custody cursor, rewound by a small overlap
once per run, and inserts every snapshot under its unique `snapshot_id` (a repeat is
ignored). Processing (`payment_snapshot_process`) runs per snapshot under its row lock and is
a no-op unless the snapshot is still `received`:

- our own venue withdrawal arriving back → `matched` (the custody move is posted);
- outgoing or zero → `ignored`;
- a valid payment for an order awaiting payment, by its user, in one of its assets →
  deposit credited to the user, allocated to the order → `credited`; the order moves to
  `payment_incomplete` or `payment_complete`;
- anything else (bad memo, unknown or expired order, a payment made after the order's
  deadline, another payer, unknown asset) → the money goes back: a pending refund with a
  deterministic request id → `refunding`, with the reason recorded (an audit event and, when
  an order is involved, an order event). The transfer driver sends it.

A snapshot that cannot be stored as money (an amount of 1e20 or more, finer than 1e-18, a
field too long) is quarantined: kept raw for an operator, with an issue in system status,
and intake moves on past it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

import structlog
from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from ledger import codes as ledger_codes
from ledger import services as ledger
from mrmarket.audit import audit_record
from mrmarket.enums import AuditOutcome
from orders.custody import custody_gateway
from orders.custody.base import Snapshot, cursor_rewind
from orders.enums import OrderState, PaymentRole, SnapshotStatus
from orders.memo import MemoAction, MemoError, TradingType, memo_decode_hex
from orders.models import IntakeCursor, MarketMakingOrder, OrderEvent, PaymentSnapshot
from orders.services import moves
from orders.services.payments import payment_state_credit
from orders.services.transitions import order_transition

log = structlog.get_logger(__name__)
S = OrderState
AWAITING_PAYMENT = (S.PAYMENT_PENDING, S.PAYMENT_INCOMPLETE)


# ---------------------------------------------------------------------------- polling


# What a `PaymentSnapshot` can hold: numeric(38, 18) amounts and these field lengths.
_AMOUNT_STEP = Decimal("1e-18")
_AMOUNT_LIMIT = Decimal("1e20")
_FIELD_LIMITS = {"snapshot_id": 64, "asset_id": 36, "opponent_id": 64, "transaction_hash": 128}


def _unstorable(snapshot: Snapshot) -> str:
    """Why a snapshot cannot be stored as money ("" if it can)."""
    for name, limit in _FIELD_LIMITS.items():
        if len(str(getattr(snapshot, name))) > limit:
            return f"{name} longer than {limit} characters"
    amount = snapshot.amount
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return f"amount {amount!r} is not a finite decimal"
    with localcontext() as ctx:
        ctx.prec = 80  # room for any storable amount, so quantize cannot raise
        if abs(amount) >= _AMOUNT_LIMIT:
            return f"amount {amount} does not fit (limit 1e20)"
        if amount.quantize(_AMOUNT_STEP) != amount:
            return f"amount {amount} has more than 18 decimal places"
    return ""


def _quarantine(snapshot: Snapshot, reason: str) -> PaymentSnapshot | None:
    """Keep a snapshot that cannot be stored as money raw, for an operator (an issue in system
    status), so intake moves on past it. Stored once, like any snapshot."""
    raw = {
        "snapshotId": str(snapshot.snapshot_id),
        "assetId": str(snapshot.asset_id),
        "amount": str(snapshot.amount),
        "opponentId": str(snapshot.opponent_id),
        "memo": str(snapshot.memo)[:4096],
        "transactionHash": str(snapshot.transaction_hash),
        "createdAt": snapshot.created_at.isoformat(),
    }
    key = str(snapshot.snapshot_id)
    if len(key) > _FIELD_LIMITS["snapshot_id"]:
        key = "q:" + hashlib.sha256(key.encode()).hexdigest()
    try:
        with transaction.atomic():
            row = PaymentSnapshot.objects.create(
                snapshot_id=key,
                asset_id=str(snapshot.asset_id)[:36],
                amount=Decimal(0),
                opponent_id=str(snapshot.opponent_id)[:64],
                transaction_hash=str(snapshot.transaction_hash)[:128],
                snapshot_created_at=snapshot.created_at,
                status=SnapshotStatus.QUARANTINED,
                reason=f"quarantined: {reason}",
                raw=raw,
            )
    except IntegrityError:
        return None  # quarantined before
    audit_record(
        action="payment.quarantined",
        outcome=AuditOutcome.REJECTED,
        target_type="snapshot",
        target_id=key,
        reason=reason,
        payload=raw,
    )
    log.warning("payment_quarantined", snapshot_id=key, reason=reason)
    return row


def _store(snapshot: Snapshot, *, queued_until: datetime) -> PaymentSnapshot | None:
    reason = _unstorable(snapshot)
    if reason:
        return _quarantine(snapshot, reason)
    try:
        with transaction.atomic():
            return PaymentSnapshot.objects.create(
                snapshot_id=snapshot.snapshot_id,
                asset_id=snapshot.asset_id,
                amount=snapshot.amount,
                opponent_id=snapshot.opponent_id,
                memo_hex=snapshot.memo,
                transaction_hash=snapshot.transaction_hash,
                snapshot_created_at=snapshot.created_at,
                next_attempt_at=queued_until,
            )
    except IntegrityError:
        return None  # seen before: stored once
    except DataError as exc:
        # What the checks above did not foresee must not stop intake either.
        return _quarantine(snapshot, f"the database refused it: {type(exc).__name__}")


def custody_snapshots_poll(*, max_pages: int = 20) -> list[int]:
    """Fetch new snapshots; returns the ids of the rows stored by this run (to process)."""
    custody = custody_gateway()
    started = timezone.now()
    queued_until = started + timedelta(seconds=settings.ORDER_QUEUE_LEASE_SECONDS)
    state, _ = IntakeCursor.objects.get_or_create(name=custody.backend)
    cursor = cursor_rewind(state.cursor or None, seconds=settings.CUSTODY_SNAPSHOT_OVERLAP_SECONDS)
    stored: list[int] = []
    newest = state.cursor or None
    reached_end = False
    for _ in range(max_pages):
        page = custody.snapshots_since(cursor=cursor, limit=settings.CUSTODY_SNAPSHOT_PAGE_LIMIT)
        for snapshot in page.items:
            row = _store(snapshot, queued_until=queued_until)
            if row is not None and row.status == SnapshotStatus.RECEIVED:
                stored.append(row.pk)
        if page.next_cursor and (newest is None or page.next_cursor > newest):
            newest = page.next_cursor
        if not page.has_more or page.next_cursor == cursor:
            reached_end = True
            break
        cursor = page.next_cursor
    # The cursor only moves forward (RFC 3339 UTC strings of one format sort as time).
    fields: dict[str, object] = {}
    if newest and newest != state.cursor:
        fields["cursor"] = newest
    if reached_end:
        fields["polled_at"] = started
    if fields:
        IntakeCursor.objects.filter(name=custody.backend).update(**fields)
    if stored:
        log.info("custody_snapshots_stored", count=len(stored))
    return stored


def intake_caught_up(*, moment: datetime) -> bool:
    """Whether intake has read the whole snapshot list since `moment`: every payment made
    before it is stored (a poll run that reached the end started after it)."""
    return IntakeCursor.objects.filter(name=settings.CUSTODY_BACKEND, polled_at__gt=moment).exists()


def snapshots_received_before(*, moment: datetime) -> list[int]:
    """Stored, unprocessed snapshots made up to `moment` (oldest first)."""
    return list(
        PaymentSnapshot.objects.filter(
            status=SnapshotStatus.RECEIVED, snapshot_created_at__lte=moment
        )
        .order_by("snapshot_created_at", "id")
        .values_list("pk", flat=True)[:1000]
    )


# ---------------------------------------------------------------------------- payment rules


class Rejected(Exception):
    """A snapshot that is not a valid payment; `reason` goes to the refund's record."""

    def __init__(self, reason: str, order: MarketMakingOrder | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.order = order


def payment_role(order: MarketMakingOrder, asset_id: str) -> str | None:
    pair = order.pair
    if asset_id == str(pair.base_asset_id):
        return PaymentRole.BASE
    if asset_id == str(pair.quote_asset_id):
        return PaymentRole.QUOTE
    if asset_id == order.base_fee_asset_id:
        return PaymentRole.BASE_FEE
    if asset_id == order.quote_fee_asset_id:
        return PaymentRole.QUOTE_FEE
    return None


def paid_by_asset(order: MarketMakingOrder) -> dict[str, Decimal]:
    rows = (
        PaymentSnapshot.objects.filter(order=order, status=SnapshotStatus.CREDITED)
        .values("asset_id")
        .annotate(total=Sum("amount"))
    )
    return {row["asset_id"]: Decimal(row["total"]) for row in rows}


def required_fees_by_asset(order: MarketMakingOrder) -> dict[str, Decimal]:
    required: dict[str, Decimal] = defaultdict(Decimal)
    required[order.base_fee_asset_id] += order.required_base_withdrawal_fee
    required[order.quote_fee_asset_id] += order.required_quote_withdrawal_fee
    return dict(required)


def payment_is_complete(order: MarketMakingOrder, paid: dict[str, Decimal]) -> bool:
    """Base and quote both paid beyond the withdrawal fees due in them, and every other fee
    asset covered (the fee is charged on top of what moves to the venue)."""
    fees = required_fees_by_asset(order)
    base, quote = str(order.pair.base_asset_id), str(order.pair.quote_asset_id)
    for asset in (base, quote):
        if paid.get(asset, Decimal(0)) <= fees.get(asset, Decimal(0)):
            return False
    return all(
        paid.get(asset, Decimal(0)) >= fee
        for asset, fee in fees.items()
        if asset not in (base, quote)
    )


def _order_for(row: PaymentSnapshot) -> MarketMakingOrder:
    try:
        memo = memo_decode_hex(row.memo_hex)
    except MemoError as exc:
        raise Rejected(f"bad memo: {exc.message}") from exc
    if memo.trading_type != TradingType.MARKET_MAKING or memo.action != MemoAction.CREATE:
        raise Rejected("memo is not a market-making payment")
    order: MarketMakingOrder | None = (
        MarketMakingOrder.objects.select_for_update()
        .select_related("pair")
        .filter(pk=memo.order_id)
        .first()
    )
    if order is None:
        raise Rejected("unknown order")
    if str(memo.pair_id) != str(order.pair_id):
        raise Rejected("memo names another pair than the order's", order)
    if order.state not in AWAITING_PAYMENT:
        raise Rejected(f"order is {order.state}, not awaiting payment", order)
    # Judged by when the payment was made, not when intake got to it: a payment after the
    # deadline is refunded even if the expiry step has not run yet, one before it counts.
    if order.deadline_at is not None and row.snapshot_created_at > order.deadline_at:
        what = "memo expired" if order.state == S.PAYMENT_PENDING else "payment deadline passed"
        raise Rejected(f"{what} before the payment was made", order)
    if row.opponent_id.lower() != str(order.user_id).lower():
        raise Rejected("payer is not the order's user", order)
    return order


# ---------------------------------------------------------------------------- processing


def _reject(row: PaymentSnapshot, rejection: Rejected) -> None:
    """Give the money back: credit the payer, then a pending refund from their free balance."""
    order = rejection.order
    if not row.opponent_id:
        row.status, row.reason = (
            SnapshotStatus.IGNORED,
            f"cannot refund (no payer): {rejection.reason}",
        )
        row.save(update_fields=["status", "reason", "updated_at"])
        audit_record(
            action="payment.unattributed",
            outcome=AuditOutcome.REJECTED,
            target_type="snapshot",
            target_id=row.snapshot_id,
            reason=row.reason,
        )
        return
    # Two entries (the deposit, its refund): their accounts locked together first.
    ledger.ledger_accounts_lock(
        accounts=[
            (ledger_codes.CUSTODY_MIXIN, row.asset_id),
            (ledger_codes.user_available(row.opponent_id), row.asset_id),
        ]
    )
    ledger.deposit_credit(
        idempotency_key=f"snapshot:{row.snapshot_id}:deposit",
        user_id=row.opponent_id,
        asset=row.asset_id,
        amount=row.amount,
        snapshot_id=row.snapshot_id,
    )
    moves.refund_create(
        key=row.snapshot_id,
        recipient_id=row.opponent_id,
        asset_id=row.asset_id,
        amount=row.amount,
        snapshot=row,
    )
    row.status, row.reason, row.order = SnapshotStatus.REFUNDING, rejection.reason, order
    row.save(update_fields=["status", "reason", "order", "updated_at"])
    audit_record(
        action="payment.rejected",
        outcome=AuditOutcome.REJECTED,
        target_type="snapshot",
        target_id=row.snapshot_id,
        reason=rejection.reason,
        payload={
            "orderId": str(order.pk) if order else None,
            "assetId": row.asset_id,
            "amount": str(row.amount),
        },
    )
    if order is not None:
        OrderEvent.objects.create(
            order=order,
            from_state=order.state,
            to_state=order.state,
            trigger="payment.refunding",
            reason=rejection.reason,
            payload={
                "snapshotId": row.snapshot_id,
                "assetId": row.asset_id,
                "amount": str(row.amount),
            },
        )
    log.info("payment_rejected", snapshot_id=row.snapshot_id, reason=rejection.reason)


def _credit(row: PaymentSnapshot, order: MarketMakingOrder, role: str) -> None:
    # Two entries (the deposit, its allocation to the order): their accounts locked together
    # first, in one order, so a concurrent step on the same accounts cannot cross them.
    ledger.ledger_accounts_lock(
        accounts=[
            (ledger_codes.CUSTODY_MIXIN, row.asset_id),
            (ledger_codes.user_available(order.user_id), row.asset_id),
            (ledger_codes.order_account(order.pk), row.asset_id),
        ]
    )
    ledger.deposit_credit(
        idempotency_key=f"snapshot:{row.snapshot_id}:deposit",
        user_id=order.user_id,
        asset=row.asset_id,
        amount=row.amount,
        snapshot_id=row.snapshot_id,
    )
    ledger.order_allocate(
        idempotency_key=f"snapshot:{row.snapshot_id}:allocate",
        user_id=order.user_id,
        order_id=order.pk,
        asset=row.asset_id,
        amount=row.amount,
    )
    row.status, row.order, row.role = SnapshotStatus.CREDITED, order, role
    row.save(update_fields=["status", "order", "role", "updated_at"])
    payment_state_credit(order=order, role=role, amount=row.amount, snapshot_id=row.snapshot_id)
    payload = {
        "snapshotId": row.snapshot_id,
        "assetId": row.asset_id,
        "amount": str(row.amount),
        "role": role,
    }
    if payment_is_complete(order, paid_by_asset(order)):
        order_transition(
            order=order, name="payment_completed", trigger="payment.complete", payload=payload
        )
    elif order.state == S.PAYMENT_PENDING:
        order_transition(
            order=order,
            name="payment_partially_received",
            trigger="payment.partial",
            payload=payload,
        )
    else:
        OrderEvent.objects.create(
            order=order,
            from_state=order.state,
            to_state=order.state,
            trigger="payment.partial",
            payload=payload,
        )


def payment_snapshot_process(*, snapshot_pk: int) -> PaymentSnapshot:
    """Process one stored snapshot. Safe to run twice: only a `received` snapshot is touched."""
    with transaction.atomic():
        row = PaymentSnapshot.objects.select_for_update().get(pk=snapshot_pk)
        if row.status != SnapshotStatus.RECEIVED:
            return row
        if row.amount <= 0:
            row.status, row.reason = SnapshotStatus.IGNORED, "outgoing"
            row.save(update_fields=["status", "reason", "updated_at"])
            return row
        if not row.memo_hex:
            arrival = moves.custody_arrival_match(snapshot=row)
            if arrival is not None:
                moves.custody_arrival_record(transfer=arrival, snapshot=row)
                row.status, row.order_id = SnapshotStatus.MATCHED, arrival.order_id
                row.reason = f"arrival of transfer {arrival.request_id}"
                row.save(update_fields=["status", "order", "reason", "updated_at"])
                return row
        try:
            order = _order_for(row)
            role = payment_role(order, row.asset_id)
            if role is None:
                raise Rejected("asset is not one this order takes", order)
            _credit(row, order, role)
        except Rejected as rejection:
            _reject(row, rejection)
    return row


def snapshots_queue_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """For the sweeper: stored, unprocessed snapshots not queued already (a lost task message
    is queued again once its queue lease is over). Each is claimed for a new lease."""
    now = now or timezone.now()
    until = now + timedelta(seconds=settings.ORDER_QUEUE_LEASE_SECONDS)
    due = list(
        PaymentSnapshot.objects.filter(
            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),
            status=SnapshotStatus.RECEIVED,
        )
        .order_by("id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    claimed = []
    for pk, seen in due:
        same = Q(next_attempt_at=seen) if seen is not None else Q(next_attempt_at__isnull=True)
        if PaymentSnapshot.objects.filter(same, pk=pk).update(next_attempt_at=until):
            claimed.append(pk)
    return claimed
