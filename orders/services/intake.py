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
- anything else (bad memo, unknown or expired order, another payer, unknown asset) → the
  money goes back: a pending refund with a deterministic request id → `refunding`, with the
  reason recorded (an audit event and, when an order is involved, an order event).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

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


def _store(snapshot: Snapshot) -> PaymentSnapshot | None:
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
            )
    except IntegrityError:
        return None  # seen before: stored once


def custody_snapshots_poll(*, max_pages: int = 20) -> list[int]:
    """Fetch new snapshots; returns the ids of the rows stored by this run."""
    custody = custody_gateway()
    state, _ = IntakeCursor.objects.get_or_create(name=custody.backend)
    cursor = cursor_rewind(state.cursor or None, seconds=settings.CUSTODY_SNAPSHOT_OVERLAP_SECONDS)
    stored: list[int] = []
    newest = state.cursor or None
    for _ in range(max_pages):
        page = custody.snapshots_since(cursor=cursor, limit=settings.CUSTODY_SNAPSHOT_PAGE_LIMIT)
        for snapshot in page.items:
            row = _store(snapshot)
            if row is not None:
                stored.append(row.pk)
        if page.next_cursor and (newest is None or page.next_cursor > newest):
            newest = page.next_cursor
        if not page.has_more or page.next_cursor == cursor:
            break
        cursor = page.next_cursor
    # The cursor only moves forward (RFC 3339 UTC strings of one format sort as time).
    if newest and newest != state.cursor:
        IntakeCursor.objects.filter(name=custody.backend).update(cursor=newest)
    if stored:
        log.info("custody_snapshots_stored", count=len(stored))
    return stored


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
    order = (
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


def snapshots_due() -> list[int]:
    """Stored but unprocessed snapshots (a lost task message is re-driven by the sweeper)."""
    cutoff = timezone.now() - timedelta(seconds=settings.ORDER_STEP_POLL_SECONDS)
    return list(
        PaymentSnapshot.objects.filter(status=SnapshotStatus.RECEIVED, created_at__lte=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:500]
    )
