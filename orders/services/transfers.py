"""The one driver of every custody transfer, with or without an order.

Refunds of rejected payments, order refunds, withdrawals to venues and venue → custody moves
are all `CustodyTransfer` rows persisted (with their pending ledger entry) before anything is
sent (`moves`). From then on only `transfer_advance` moves them, called by the sweeper's task
for every transfer that is due, and inline by an order's step for its own transfers:

    pending    never sent, or its send's outcome is unknown: ask the sender whether it saw the
               request id (a timeout may have hidden a send that happened); if not, send it
               again under the same id (the sender dedupes) → sent | confirmed | failed
    sent       ask the sender → confirmed | failed
    confirmed  a refund is done; a custody move waits for its arrival: the venue's deposit
               list (withdraw_to_venue) or the custody snapshot (venue_to_custody, matched by
               intake; the driver re-matches a deposit intake could not attribute) → arrived

A move between a venue's wallets (funding_to_trading, trading_to_funding) is one call the
venue applies at once: pending/sent → arrived (or failed). Every drive asks the gateway to
transfer under the same client id; the gateway first looks the id up and returns the
transfer the venue already has, so a drive after a crash between the venue's answer and
the ledger's post finds it and posts, and never moves twice.

Each drive first claims the row by moving `next_attempt_at` forward with a conditional UPDATE
(a lease: one driver at a time; a killed worker's row is due again when the lease ends), and
ends by scheduling the next attempt with bounded exponential backoff. Progress resets the
backoff. A definite failure voids the pending entry and raises an operator issue (`moves`);
a transfer still open after `CUSTODY_TRANSFER_TIMEOUT_SECONDS` raises one too and is still
driven. So an open transfer always has a next attempt.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from exchanges.venues.base import FinalVenueError, InternalTransfer, VenueError, VenueTransfer
from exchanges.venues.base import TransferStatus as VenueTransferStatus
from ledger import codes as ledger_codes
from ledger import services as ledger
from orders.custody import custody_gateway
from orders.custody.base import (
    CustodyError,
    CustodyTransaction,
    FinalCustodyError,
    TransactionStatus,
)
from orders.enums import OPEN_TRANSFER_STATUSES, SnapshotStatus, TransferPurpose, TransferStatus
from orders.models import CustodyTransfer, PaymentSnapshot
from orders.services import moves

log = structlog.get_logger(__name__)
P = TransferPurpose
T = TransferStatus


# ---------------------------------------------------------------------------- scheduling


def backoff_seconds(checks: int) -> float:
    """Delay before the next attempt after `checks` drives without progress: doubling from
    the base, capped (bounded: a transfer is never left for longer than the cap)."""
    base = settings.CUSTODY_TRANSFER_RETRY_BASE_SECONDS
    cap = settings.CUSTODY_TRANSFER_RETRY_MAX_SECONDS
    return float(min(cap, base * (2 ** min(max(checks - 1, 0), 16))))


def transfer_claim(
    *, transfer_id: int, now: datetime | None = None, token: datetime | None = None
) -> bool:
    """Take the transfer's lease if it is open and due (or still holds the `token` lease the
    sweeper queued it with). False if another driver has it or it is not due."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.ORDER_STEP_LEASE_SECONDS)
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
    if token is not None:
        due |= Q(next_attempt_at=token)
    return bool(
        CustodyTransfer.objects.filter(due, pk=transfer_id, status__in=OPEN_TRANSFER_STATUSES)
        .exclude(status=T.CONFIRMED, purpose=P.REFUND)
        .update(next_attempt_at=lease, checks=F("checks") + 1)
    )


def _schedule_next(transfer: CustodyTransfer, now: datetime) -> None:
    """After a drive: the next attempt of a still-open transfer, with backoff."""
    transfer.refresh_from_db()
    if transfer.status not in OPEN_TRANSFER_STATUSES or (
        transfer.status == T.CONFIRMED and transfer.purpose == P.REFUND
    ):
        CustodyTransfer.objects.filter(pk=transfer.pk).update(next_attempt_at=None)
        return
    when = now + timedelta(seconds=backoff_seconds(transfer.checks))
    CustodyTransfer.objects.filter(pk=transfer.pk, status=transfer.status).update(
        next_attempt_at=when
    )
    age = (now - transfer.created_at).total_seconds()
    if age >= settings.CUSTODY_TRANSFER_TIMEOUT_SECONDS:
        moves._raise_operator_issue(
            transfer,
            f"{transfer.purpose} still {transfer.status} after {int(age)} s "
            f"(last error: {transfer.last_error or 'none'})",
        )


def transfers_queue_due(*, now: datetime | None = None, limit: int = 500) -> list[tuple[int, str]]:
    """For the sweeper: claim the open transfers that are due for a queue lease and return
    `(id, token)`. A transfer already queued (its lease not over) is not queued again."""
    now = now or timezone.now()
    token = now + timedelta(seconds=settings.ORDER_QUEUE_LEASE_SECONDS)
    due = list(
        CustodyTransfer.objects.filter(
            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),
            status__in=OPEN_TRANSFER_STATUSES,
        )
        .exclude(status=T.CONFIRMED, purpose=P.REFUND)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    claimed = []
    for pk, seen in due:
        same = Q(next_attempt_at=seen) if seen is not None else Q(next_attempt_at__isnull=True)
        if CustodyTransfer.objects.filter(same, pk=pk).update(next_attempt_at=token):
            claimed.append((pk, token.isoformat()))
    return claimed


# ---------------------------------------------------------------------------- answers


def _book_other_asset_fee(transfer: CustodyTransfer, tx: CustodyTransaction) -> None:
    """A withdrawal's network fee paid in another asset (e.g. ETH for an ERC-20), once."""
    fee = tx.fee if tx.fee is not None else transfer.fee_amount
    if transfer.fee_asset_id == transfer.asset_id or not fee or fee <= 0 or transfer.order is None:
        return
    ledger.fee_pay(
        idempotency_key=f"fee:{transfer.request_id}",
        fee_kind="network",
        custody=ledger_codes.CUSTODY_MIXIN,
        asset=transfer.fee_asset_id,
        amount=fee,
        payer=ledger_codes.order_account(transfer.order.pk),
        reference=transfer.request_id,
    )


def _apply_custody_answer(transfer: CustodyTransfer, tx: CustodyTransaction) -> None:
    now = timezone.now()
    transfer.transaction_hash = tx.transaction_hash or transfer.transaction_hash
    with transaction.atomic():
        if tx.status == TransactionStatus.CONFIRMED:
            if (
                moves._resolve(transfer, to=T.CONFIRMED, now=now)
                and transfer.purpose == P.WITHDRAW_TO_VENUE
            ):
                _book_other_asset_fee(transfer, tx)
        elif tx.status == TransactionStatus.FAILED:
            moves._resolve(
                transfer, to=T.FAILED, now=now, error=tx.failure_reason or "custody: failed"
            )
        elif transfer.status == T.PENDING:
            moves._resolve(transfer, to=T.SENT, now=now)


def _apply_venue_answer(transfer: CustodyTransfer, withdrawal: VenueTransfer) -> None:
    now = timezone.now()
    transfer.external_id = withdrawal.id
    transfer.transaction_hash = withdrawal.txid or transfer.transaction_hash
    with transaction.atomic():
        if withdrawal.status == VenueTransferStatus.OK:
            moves._resolve(transfer, to=T.CONFIRMED, now=now)
            CustodyTransfer.objects.filter(pk=transfer.pk).update(
                transaction_hash=transfer.transaction_hash, external_id=transfer.external_id
            )
        elif withdrawal.status in (VenueTransferStatus.FAILED, VenueTransferStatus.CANCELED):
            moves._resolve(transfer, to=T.FAILED, now=now, error=f"venue: {withdrawal.status}")
        elif transfer.status == T.PENDING:
            moves._resolve(transfer, to=T.SENT, now=now)


def _apply_wallet_move_answer(transfer: CustodyTransfer, moved: InternalTransfer) -> None:
    now = timezone.now()
    transfer.external_id = moved.id or transfer.external_id
    with transaction.atomic():
        if moved.status == VenueTransferStatus.OK:
            moves._resolve(transfer, to=T.ARRIVED, now=now)
        elif moved.status in (VenueTransferStatus.FAILED, VenueTransferStatus.CANCELED):
            moves._resolve(transfer, to=T.FAILED, now=now, error=f"venue: {moved.status}")
        elif transfer.status == T.PENDING:
            moves._resolve(transfer, to=T.SENT, now=now)


def _record_error(transfer: CustodyTransfer, exc: Exception) -> None:
    CustodyTransfer.objects.filter(pk=transfer.pk).update(
        last_error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=timezone.now()
    )


# ---------------------------------------------------------------------------- sender calls


def _venue_lookup(transfer: CustodyTransfer) -> VenueTransfer | None:
    """The venue's record of this withdrawal, by our client id (or its id once known)."""
    assert transfer.order is not None
    route = moves.venue_route(order=transfer.order, asset_id=transfer.asset_id)
    client_id = moves.venue_client_id(transfer)
    for withdrawal in moves.venue_gateway_for(transfer.order).fetch_withdrawals(route.currency):
        if withdrawal.client_id == client_id or (
            transfer.external_id and withdrawal.id == transfer.external_id
        ):
            return withdrawal
    return None


def _send_wallet_move(transfer: CustodyTransfer) -> None:
    """Ask the venue to move between wallets under the transfer's client id (the gateway
    returns the venue's transfer under that id if there is one, else applies it)."""
    assert transfer.order is not None
    CustodyTransfer.objects.filter(pk=transfer.pk).update(attempts=F("attempts") + 1)
    from_wallet, to_wallet = moves.WALLET_MOVES[P(transfer.purpose)]
    route = moves.venue_route(order=transfer.order, asset_id=transfer.asset_id)
    moved = moves.venue_gateway_for(transfer.order).transfer_internal(
        asset=route.currency,
        amount=transfer.amount,
        from_wallet=from_wallet,
        to_wallet=to_wallet,
        client_id=moves.venue_client_id(transfer),
    )
    _apply_wallet_move_answer(transfer, moved)


def _send(transfer: CustodyTransfer) -> None:
    """One send under the transfer's deterministic id; the answer is applied."""
    CustodyTransfer.objects.filter(pk=transfer.pk).update(attempts=F("attempts") + 1)
    if transfer.purpose == P.VENUE_TO_CUSTODY:
        assert transfer.order is not None
        route = moves.venue_route(order=transfer.order, asset_id=transfer.asset_id)
        # What leaves the venue account is the amount custody receives plus the venue's fee;
        # the gateway sends a venue that charges its fee on top only the part that arrives.
        withdrawal = moves.venue_gateway_for(transfer.order).withdraw(
            asset=route.currency,
            amount=transfer.amount + transfer.fee_amount,
            address=transfer.destination,
            client_id=moves.venue_client_id(transfer),
            network=route.network,
            tag=transfer.tag or None,
            fee=transfer.fee_amount,
        )
        _apply_venue_answer(transfer, withdrawal)
        return
    custody = custody_gateway()
    if transfer.purpose == P.REFUND:
        tx = custody.transfer(
            request_id=transfer.request_id,
            asset_id=transfer.asset_id,
            amount=transfer.amount,
            opponent_id=transfer.recipient_id,
            memo="Mr.Market refund",
        )
    else:
        tx = custody.withdraw(
            request_id=transfer.request_id,
            asset_id=transfer.asset_id,
            amount=transfer.amount,
            destination=transfer.destination,
            tag=transfer.tag or None,
        )
    _apply_custody_answer(transfer, tx)


def _send_or_look_up(transfer: CustodyTransfer) -> None:
    """Pending or sent: ask the sender first whenever a send may have happened; send (again,
    same id) only when the sender never saw it."""
    if transfer.purpose in moves.WALLET_MOVES:
        _send_wallet_move(transfer)
        return
    if transfer.purpose == P.VENUE_TO_CUSTODY:
        found = _venue_lookup(transfer) if transfer.attempts or transfer.external_id else None
        if found is not None:
            _apply_venue_answer(transfer, found)
        elif transfer.status == T.PENDING:
            _send(transfer)
        return
    tx = (
        custody_gateway().transaction(request_id=transfer.request_id) if transfer.attempts else None
    )
    if tx is not None:
        _apply_custody_answer(transfer, tx)
    else:
        _send(transfer)


def _venue_arrival(transfer: CustodyTransfer) -> None:
    """A confirmed withdrawal to the venue: is the deposit credited there yet?"""
    assert transfer.order is not None
    route = moves.venue_route(order=transfer.order, asset_id=transfer.asset_id)
    deposits = moves.venue_gateway_for(transfer.order).fetch_deposits(route.currency)
    deposit = moves.venue_deposit_match(transfer=transfer, deposits=deposits)
    if deposit is not None:
        transfer.external_id = deposit.id
        with transaction.atomic():
            moves._resolve(transfer, to=T.ARRIVED, now=timezone.now())


def _custody_arrival(transfer: CustodyTransfer) -> None:
    """A confirmed venue → custody move: intake matches the snapshot when it comes. If intake
    already set that snapshot aside as unattributable (it came before the venue told us the
    hash), take it back here by the hash."""
    if not transfer.transaction_hash:
        return
    with transaction.atomic():
        snapshot = (
            PaymentSnapshot.objects.select_for_update()
            .filter(
                transaction_hash=transfer.transaction_hash,
                status=SnapshotStatus.IGNORED,
                opponent_id="",
                memo_hex="",
                asset_id=transfer.asset_id,
                amount__gt=0,
            )
            .first()
        )
        if snapshot is None or moves.custody_arrival_match(snapshot=snapshot) != transfer:
            return
        moves.custody_arrival_record(transfer=transfer, snapshot=snapshot)
        snapshot.status, snapshot.order_id = SnapshotStatus.MATCHED, transfer.order_id
        snapshot.reason = f"arrival of transfer {transfer.request_id}"
        snapshot.save(update_fields=["status", "order", "reason", "updated_at"])


# ---------------------------------------------------------------------------- the driver


def transfer_advance(
    *, transfer_id: int, token: datetime | None = None, now: datetime | None = None
) -> CustodyTransfer | None:
    """Advance one transfer as far as the outside world allows now. Returns the transfer as
    it is after, or None when it was not due or another driver holds it. Safe to run twice,
    concurrently, or after a crash anywhere in it. Runs outside any transaction."""
    now = now or timezone.now()
    if not transfer_claim(transfer_id=transfer_id, now=now, token=token):
        return None
    transfer = CustodyTransfer.objects.select_related("order").get(pk=transfer_id)
    try:
        if transfer.status in (T.PENDING, T.SENT):
            _send_or_look_up(transfer)
        elif transfer.purpose == P.WITHDRAW_TO_VENUE:
            _venue_arrival(transfer)
        elif transfer.purpose == P.VENUE_TO_CUSTODY:
            _custody_arrival(transfer)
    except (FinalCustodyError, FinalVenueError) as exc:
        log.warning("custody_transfer_refused", transfer_id=transfer.pk, error=str(exc))
        transfer.refresh_from_db()
        if transfer.status in (T.PENDING, T.SENT):
            with transaction.atomic():
                moves._resolve(
                    transfer, to=T.FAILED, now=timezone.now(), error=f"{type(exc).__name__}: {exc}"
                )
        else:
            _record_error(transfer, exc)
    except (CustodyError, VenueError) as exc:
        log.info("custody_transfer_retry_later", transfer_id=transfer.pk, error=str(exc))
        _record_error(transfer, exc)
    _schedule_next(transfer, now)
    return transfer


def transfers_advance_open(*, order_id: UUID) -> list[CustodyTransfer]:
    """Inline from an order's step: advance each of its open transfers that is due, and
    return all of its transfers as they are after."""
    open_ids = list(
        CustodyTransfer.objects.filter(order_id=order_id, status__in=OPEN_TRANSFER_STATUSES)
        .exclude(status=T.CONFIRMED, purpose=P.REFUND)
        .values_list("pk", flat=True)
    )
    for pk in open_ids:
        transfer_advance(transfer_id=pk)
    return list(CustodyTransfer.objects.filter(order_id=order_id).select_related("order"))
