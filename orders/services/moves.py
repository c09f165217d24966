"""Money out of an order: refunds, withdrawals to the venue, and venue → custody on exit.

Every move is a `CustodyTransfer` row written, together with its *pending* ledger entry, in
the same transaction as the decision to move (DESIGN §3–§4): the intent is persisted with a
deterministic external id before anything is sent. Sending happens after commit, outside any
lock; the sender (custody or venue) dedupes by that id, so a retried or duplicated send never
pays twice. The pending entry is posted when the outside world confirms (a refund when custody
confirms it; a custody move when the money is seen at its destination) and voided if it
definitely failed.

    refund            custody:mixin → user's Mixin wallet     posted at custody confirmation
    withdraw_to_venue custody:mixin → custody:venue:<v>:<a>   posted when the venue shows the deposit
    venue_to_custody  custody:venue:<v>:<a> → custody:mixin   posted when the snapshot arrives
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from exchanges.models import AssetNetwork
from exchanges.services import venue_gateway_get
from exchanges.venues.base import (
    FinalVenueError,
    VenueError,
    VenueGateway,
    VenueTransfer,
)
from exchanges.venues.base import (
    TransferStatus as VenueTransferStatus,
)
from ledger import codes as ledger_codes
from ledger import services as ledger
from orders.custody import custody_gateway
from orders.custody.base import (
    CustodyError,
    CustodyTransaction,
    FinalCustodyError,
    TransactionStatus,
    request_id_for,
)
from orders.enums import TransferPurpose, TransferStatus
from orders.models import CustodyTransfer, MarketMakingOrder, PaymentSnapshot

log = structlog.get_logger(__name__)
P = TransferPurpose
T = TransferStatus


# ---------------------------------------------------------------------------- venue context


@dataclass(frozen=True)
class VenueRoute:
    """How one asset travels to and from an order's venue account."""

    exchange_id: str
    account: str  # the venue account's index, as the ledger names custody accounts
    asset_id: str
    currency: str  # the venue's code for the asset
    network: str | None  # the venue's network code (ccxt), None for the default
    withdraw_fee: Decimal  # the venue's fee on withdrawing this asset, in this asset

    @property
    def custody_code(self) -> str:
        return ledger_codes.custody_venue(self.exchange_id, self.account)


def venue_route(*, order: MarketMakingOrder, asset_id: str) -> VenueRoute:
    account = order.venue_account
    exchange_id = account.exchange.exchange_id
    network = AssetNetwork.objects.filter(
        asset_id=asset_id, exchange__exchange_id=exchange_id
    ).first()
    if network is not None:
        currency, net, fee = (
            network.currency,
            network.network or None,
            Decimal(network.withdraw_fee),
        )
    else:
        pair = order.pair
        symbol = pair.base_symbol if str(pair.base_asset_id) == asset_id else pair.quote_symbol
        currency, net, fee = symbol, None, Decimal(0)
    return VenueRoute(
        exchange_id=exchange_id,
        account=str(account.index),
        asset_id=asset_id,
        currency=currency,
        network=net,
        withdraw_fee=fee,
    )


def venue_gateway_for(order: MarketMakingOrder) -> VenueGateway:
    return venue_gateway_get(
        exchange_id=order.venue_account.exchange.exchange_id,
        account_index=order.venue_account.index,
    )


# ---------------------------------------------------------------------------- creating moves


def _transfer_get_or_create(*, request_id: str, defaults: dict[str, object]) -> CustodyTransfer:
    transfer, _ = CustodyTransfer.objects.get_or_create(request_id=request_id, defaults=defaults)
    return transfer


def refund_create(
    *,
    key: str,
    recipient_id: str,
    asset_id: str,
    amount: Decimal,
    order: MarketMakingOrder | None = None,
    snapshot: PaymentSnapshot | None = None,
) -> CustodyTransfer:
    """A refund to a Mixin user, from the order's budget (or the user's free balance).

    `key` names what is refunded (a snapshot id, or `<order>:<asset>`): the same key is the
    same refund, whoever asks and however often.
    """
    request_id = request_id_for(P.REFUND, key)
    entry_key = f"refund:{request_id}"
    ledger.refund_start(
        idempotency_key=entry_key,
        user_id=recipient_id,
        asset=asset_id,
        amount=amount,
        reference=request_id,
        order_id=order.pk if order is not None else None,
    )
    return _transfer_get_or_create(
        request_id=request_id,
        defaults={
            "purpose": P.REFUND,
            "order": order,
            "snapshot": snapshot,
            "recipient_id": recipient_id,
            "asset_id": asset_id,
            "amount": amount,
            "destination": recipient_id,
            "entry_key": entry_key,
        },
    )


def withdraw_to_venue_create(
    *,
    order: MarketMakingOrder,
    asset_id: str,
    amount: Decimal,
    fee_asset_id: str,
    fee_amount: Decimal,
    destination: str,
    tag: str | None,
) -> CustodyTransfer:
    """Custody → the venue's deposit address for the order's account. `amount` arrives; the
    network fee leaves custody on top and is charged to the order (same asset: in the pending
    move; another asset: booked when custody confirms the actual fee)."""
    route = venue_route(order=order, asset_id=asset_id)
    request_id = request_id_for(P.WITHDRAW_TO_VENUE, str(order.pk), asset_id)
    entry_key = f"move:{request_id}"
    same_asset_fee = fee_amount if fee_asset_id == asset_id else Decimal(0)
    ledger.custody_move_start(
        idempotency_key=entry_key,
        source=ledger_codes.CUSTODY_MIXIN,
        destination=route.custody_code,
        asset=asset_id,
        amount=amount,
        reference=request_id,
        network_fee=same_asset_fee,
        fee_payer=ledger_codes.order_account(order.pk) if same_asset_fee else None,
    )
    return _transfer_get_or_create(
        request_id=request_id,
        defaults={
            "purpose": P.WITHDRAW_TO_VENUE,
            "order": order,
            "venue_account": order.venue_account,
            "asset_id": asset_id,
            "amount": amount,
            "fee_asset_id": fee_asset_id,
            "fee_amount": fee_amount,
            "destination": destination,
            "tag": tag or "",
            "network": route.network or "",
            "entry_key": entry_key,
        },
    )


def venue_to_custody_create(
    *,
    order: MarketMakingOrder,
    asset_id: str,
    amount: Decimal,
    destination: str,
    tag: str | None,
    attempt: int = 0,
) -> CustodyTransfer:
    """The order's venue balance of one asset back to custody (exit / failure unwind).
    `amount` is what leaves the venue account; the venue's fee is charged to the order.
    `attempt` numbers the tries after a definite failure (each try is its own request id)."""
    route = venue_route(order=order, asset_id=asset_id)
    request_id = request_id_for(P.VENUE_TO_CUSTODY, str(order.pk), asset_id, str(attempt))
    entry_key = f"move:{request_id}"
    fee = min(route.withdraw_fee, amount)
    ledger.custody_move_start(
        idempotency_key=entry_key,
        source=route.custody_code,
        destination=ledger_codes.CUSTODY_MIXIN,
        asset=asset_id,
        amount=amount - fee,
        reference=request_id,
        network_fee=fee,
        fee_payer=ledger_codes.order_account(order.pk) if fee else None,
    )
    return _transfer_get_or_create(
        request_id=request_id,
        defaults={
            "purpose": P.VENUE_TO_CUSTODY,
            "order": order,
            "venue_account": order.venue_account,
            "asset_id": asset_id,
            "amount": amount - fee,
            "fee_asset_id": asset_id,
            "fee_amount": fee,
            "destination": destination,
            "tag": tag or "",
            "network": route.network or "",
            "entry_key": entry_key,
        },
    )


# ---------------------------------------------------------------------------- resolving moves


def _resolve(transfer: CustodyTransfer, *, to: str, now: datetime, error: str = "") -> bool:
    """Move one transfer to `to` once (conditional UPDATE) and resolve its ledger entry.

    Returns False when another worker already resolved it. Runs in a transaction.
    """
    sources: dict[str, list[str]] = {
        T.SENT: [T.PENDING],
        T.CONFIRMED: [T.PENDING, T.SENT],
        T.ARRIVED: [T.PENDING, T.SENT, T.CONFIRMED],
        T.FAILED: [T.PENDING, T.SENT, T.CONFIRMED],
    }
    allowed_from = sources[to]
    fields: dict[str, object] = {"status": to, "updated_at": now}
    if to == T.CONFIRMED:
        fields["confirmed_at"] = now
    if to == T.ARRIVED:
        fields["arrived_at"] = now
        fields["confirmed_at"] = transfer.confirmed_at or now
    if error:
        fields["last_error"] = error[:2000]
    if transfer.transaction_hash:
        fields["transaction_hash"] = transfer.transaction_hash
    if transfer.external_id:
        fields["external_id"] = transfer.external_id
    if not CustodyTransfer.objects.filter(pk=transfer.pk, status__in=allowed_from).update(**fields):
        return False
    resolution = f"{transfer.entry_key}:{to}"
    if to == T.FAILED:
        ledger.ledger_pending_void(entry_key=transfer.entry_key, idempotency_key=resolution)
    elif to == T.CONFIRMED and transfer.purpose == P.REFUND:
        ledger.refund_confirm(entry_key=transfer.entry_key, idempotency_key=resolution)
    elif to == T.ARRIVED:
        ledger.custody_move_confirm(entry_key=transfer.entry_key, idempotency_key=resolution)
    transfer.refresh_from_db()
    log.info(
        "custody_transfer_resolved",
        transfer_id=transfer.pk,
        purpose=transfer.purpose,
        status=to,
        order_id=str(transfer.order_id) if transfer.order_id else None,
    )
    return True


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


def _apply_custody_answer(transfer: CustodyTransfer, tx: CustodyTransaction | None) -> None:
    now = timezone.now()
    if tx is None:
        return
    transfer.transaction_hash = tx.transaction_hash or transfer.transaction_hash
    with transaction.atomic():
        if tx.status == TransactionStatus.CONFIRMED:
            if (
                _resolve(transfer, to=T.CONFIRMED, now=now)
                and transfer.purpose == P.WITHDRAW_TO_VENUE
            ):
                _book_other_asset_fee(transfer, tx)
        elif tx.status == TransactionStatus.FAILED:
            _resolve(transfer, to=T.FAILED, now=now, error=tx.failure_reason or "custody: failed")
        elif transfer.status == T.PENDING:
            _resolve(transfer, to=T.SENT, now=now)


def _apply_venue_answer(transfer: CustodyTransfer, withdrawal: VenueTransfer | None) -> None:
    if withdrawal is None:
        return
    now = timezone.now()
    transfer.external_id = withdrawal.id
    transfer.transaction_hash = withdrawal.txid or transfer.transaction_hash
    with transaction.atomic():
        if withdrawal.status == VenueTransferStatus.OK:
            _resolve(transfer, to=T.CONFIRMED, now=now)
            CustodyTransfer.objects.filter(pk=transfer.pk).update(
                transaction_hash=transfer.transaction_hash, external_id=transfer.external_id
            )
        elif withdrawal.status in (VenueTransferStatus.FAILED, VenueTransferStatus.CANCELED):
            _resolve(transfer, to=T.FAILED, now=now, error=f"venue: {withdrawal.status}")
        elif transfer.status == T.PENDING:
            _resolve(transfer, to=T.SENT, now=now)


def _record_error(transfer: CustodyTransfer, exc: Exception) -> None:
    CustodyTransfer.objects.filter(pk=transfer.pk).update(
        last_error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=timezone.now()
    )


def venue_client_id(transfer: CustodyTransfer) -> str:
    """Venues take alphanumeric withdrawal ids: the request id without dashes (32 chars)."""
    return transfer.request_id.replace("-", "")


def transfer_send(*, transfer: CustodyTransfer) -> CustodyTransfer:
    """Send a pending transfer (outside any transaction). Safe to call again at any time:
    the sender dedupes by the request id, and a send that raises a retryable error is simply
    sent again by the next step or the sweeper."""
    if transfer.status != T.PENDING:
        return transfer
    CustodyTransfer.objects.filter(pk=transfer.pk).update(attempts=F("attempts") + 1)
    try:
        if transfer.purpose == P.VENUE_TO_CUSTODY:
            assert transfer.order is not None
            route = venue_route(order=transfer.order, asset_id=transfer.asset_id)
            gateway = venue_gateway_for(transfer.order)
            withdrawal = gateway.withdraw(
                asset=route.currency,
                amount=transfer.amount + transfer.fee_amount,
                address=transfer.destination,
                client_id=venue_client_id(transfer),
                network=route.network,
                tag=transfer.tag or None,
            )
            _apply_venue_answer(transfer, withdrawal)
        else:
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
    except (FinalCustodyError, FinalVenueError) as exc:
        log.warning("custody_transfer_refused", transfer_id=transfer.pk, error=str(exc))
        with transaction.atomic():
            _resolve(
                transfer, to=T.FAILED, now=timezone.now(), error=f"{type(exc).__name__}: {exc}"
            )
    except (CustodyError, VenueError) as exc:
        log.info("custody_transfer_retry_later", transfer_id=transfer.pk, error=str(exc))
        _record_error(transfer, exc)
    transfer.refresh_from_db()
    return transfer


def transfer_check(*, transfer: CustodyTransfer) -> CustodyTransfer:
    """Ask the sender what became of a sent transfer; resolve it when it is final."""
    if transfer.status not in (T.PENDING, T.SENT):
        return transfer
    try:
        if transfer.purpose == P.VENUE_TO_CUSTODY:
            assert transfer.order is not None
            route = venue_route(order=transfer.order, asset_id=transfer.asset_id)
            client_id = venue_client_id(transfer)
            found = [
                w
                for w in venue_gateway_for(transfer.order).fetch_withdrawals(route.currency)
                if w.client_id == client_id
                or (transfer.external_id and w.id == transfer.external_id)
            ]
            _apply_venue_answer(transfer, found[0] if found else None)
        else:
            tx = custody_gateway().transaction(request_id=transfer.request_id)
            if tx is None and transfer.status == T.PENDING:
                return transfer_send(transfer=transfer)
            _apply_custody_answer(transfer, tx)
    except (CustodyError, VenueError) as exc:
        _record_error(transfer, exc)
    transfer.refresh_from_db()
    return transfer


def transfer_drive(*, transfer: CustodyTransfer) -> CustodyTransfer:
    """One nudge: send it if it was never accepted, else ask how it is doing."""
    if transfer.status == T.PENDING and transfer.attempts == 0:
        return transfer_send(transfer=transfer)
    return transfer_check(transfer=transfer)


# ---------------------------------------------------------------------------- arrivals


def _within(amount: Decimal, expected: Decimal) -> bool:
    tolerance = expected * settings.ORDER_DEPOSIT_MATCH_TOLERANCE
    return abs(amount - expected) <= tolerance


def venue_deposit_match(
    *, transfer: CustodyTransfer, deposits: list[VenueTransfer]
) -> VenueTransfer | None:
    """The venue deposit that is this withdrawal: by transaction hash, else by network and
    amount within tolerance (a deposit already claimed by another transfer never matches)."""
    credited = [d for d in deposits if d.status == VenueTransferStatus.OK]
    if transfer.transaction_hash:
        for deposit in credited:
            if deposit.txid and deposit.txid == transfer.transaction_hash:
                return deposit
    claimed = set(
        CustodyTransfer.objects.filter(purpose=P.WITHDRAW_TO_VENUE, status=T.ARRIVED)
        .exclude(pk=transfer.pk)
        .values_list("external_id", flat=True)
    )
    for deposit in credited:
        if deposit.id in claimed or (
            deposit.txid and deposit.txid != transfer.transaction_hash and transfer.transaction_hash
        ):
            continue
        network_ok = (
            not transfer.network or not deposit.network or deposit.network == transfer.network
        )
        if network_ok and _within(deposit.amount, transfer.amount):
            return deposit
    return None


def venue_arrival_check(*, transfer: CustodyTransfer) -> CustodyTransfer:
    """A confirmed withdrawal to the venue: is the deposit credited there yet?"""
    if transfer.purpose != P.WITHDRAW_TO_VENUE or transfer.status != T.CONFIRMED:
        return transfer
    assert transfer.order is not None
    route = venue_route(order=transfer.order, asset_id=transfer.asset_id)
    try:
        deposits = venue_gateway_for(transfer.order).fetch_deposits(route.currency)
    except VenueError as exc:
        _record_error(transfer, exc)
        return transfer
    deposit = venue_deposit_match(transfer=transfer, deposits=deposits)
    if deposit is not None:
        transfer.external_id = deposit.id
        with transaction.atomic():
            _resolve(transfer, to=T.ARRIVED, now=timezone.now())
    transfer.refresh_from_db()
    return transfer


def custody_arrival_match(*, snapshot: PaymentSnapshot) -> CustodyTransfer | None:
    """The venue → custody transfer an incoming, memo-less snapshot is: by transaction hash,
    else the oldest open one of that asset and amount (within tolerance)."""
    open_moves = CustodyTransfer.objects.filter(
        purpose=P.VENUE_TO_CUSTODY,
        status__in=[T.PENDING, T.SENT, T.CONFIRMED],
        asset_id=snapshot.asset_id,
    ).order_by("id")
    if snapshot.transaction_hash:
        by_hash = open_moves.filter(transaction_hash=snapshot.transaction_hash).first()
        if by_hash is not None:
            return by_hash
    for move in open_moves:
        if not move.transaction_hash and _within(snapshot.amount, move.amount):
            return move
    return None


def custody_arrival_record(*, transfer: CustodyTransfer, snapshot: PaymentSnapshot) -> None:
    """Inside the snapshot's transaction: the money is back in custody; post the move."""
    transfer.transaction_hash = snapshot.transaction_hash or transfer.transaction_hash
    _resolve(transfer, to=T.ARRIVED, now=timezone.now())
