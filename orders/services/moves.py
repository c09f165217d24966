"""Money out of an order: refunds, withdrawals to the venue, and venue → custody on exit.

Every move is a `CustodyTransfer` row written, together with its *pending* ledger entry, in
the same transaction as the decision to move (DESIGN §3–§4): the intent is persisted with a
deterministic external id before anything is sent. Sending happens after commit, outside any
lock; the sender (custody or venue) dedupes by that id, so a retried or duplicated send never
pays twice. The pending entry is posted when the outside world confirms (a refund when custody
confirms it; a custody move when the money is seen at its destination) and voided if it
definitely failed.

    refund             custody:mixin → user's Mixin wallet     posted at custody confirmation
    withdraw_to_venue  custody:mixin → the venue's deposit wallet  posted when the venue shows the deposit
    funding_to_trading venue funding → trading wallet          posted when the venue applied it
    trading_to_funding venue trading → funding wallet          posted when the venue applied it
    venue_to_custody   the venue's withdrawal wallet → custody:mixin  posted when the snapshot arrives

A venue that splits wallets (OKX, Bybit, KuCoin: its profile's funding and trading wallets
differ) takes deposits into and sends withdrawals from funding (`custody:venue:<v>:<a>:funding`)
while orders trade in trading (`custody:venue:<v>:<a>`): a deposit is moved to trading before
the order is `deposit_confirmed`, and the order's balance back to funding before it is
withdrawn. Those moves are transfers like the others: persisted with their pending entry under
a deterministic client id the venue dedupes (the gateway looks it up before applying), so a
retry or a crash between the venue's answer and the ledger's post never moves twice. On a
venue with one wallet both codes are the same account and no such move exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from django.conf import settings
from django.utils import timezone

from exchanges.models import AssetNetwork
from exchanges.selectors import venue_wallets_split
from exchanges.services import venue_gateway_get
from exchanges.venues.base import (
    TransferStatus as VenueTransferStatus,
)
from exchanges.venues.base import VenueGateway, VenueTransfer
from ledger import codes as ledger_codes
from ledger import services as ledger
from mrmarket.audit import audit_record
from mrmarket.enums import AuditOutcome
from orders.custody.base import request_id_for
from orders.enums import SnapshotStatus, TransferPurpose, TransferStatus
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
    split: bool = False  # deposits/withdrawals (funding) and orders (trading) in two wallets

    @property
    def custody_code(self) -> str:
        """The trading wallet's custody account (where the order trades)."""
        return ledger_codes.custody_venue(self.exchange_id, self.account)

    @property
    def deposit_wallet(self) -> str:
        """Where deposits land and withdrawals leave from."""
        return ledger_codes.WALLET_FUNDING if self.split else ledger_codes.WALLET_TRADING

    def wallet_code(self, wallet: str) -> str:
        return ledger_codes.custody_venue(self.exchange_id, self.account, wallet)


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
        split=venue_wallets_split(exchange=account.exchange),
    )


def venue_gateway_for(order: MarketMakingOrder) -> VenueGateway:
    return venue_gateway_get(
        exchange_id=order.venue_account.exchange.exchange_id,
        account_index=order.venue_account.index,
    )


# ---------------------------------------------------------------------------- creating moves


def _transfer_get_or_create(*, request_id: str, defaults: dict[str, object]) -> CustodyTransfer:
    """The transfer row with its first attempt due now: the driver (an order's step, or the
    sweeper's next pass) sends it."""
    transfer, _ = CustodyTransfer.objects.get_or_create(
        request_id=request_id, defaults={**defaults, "next_attempt_at": timezone.now()}
    )
    return transfer


def _raise_operator_issue(transfer: CustodyTransfer, issue: str) -> None:
    """Mark a transfer for an operator (system status lists it) and audit why, once."""
    if not CustodyTransfer.objects.filter(pk=transfer.pk, operator_issue="").update(
        operator_issue=issue[:2000]
    ):
        return
    audit_record(
        action="custody.transfer_issue",
        outcome=AuditOutcome.REJECTED,
        target_type="custody_transfer",
        target_id=transfer.request_id,
        reason=issue[:2000],
        payload={
            "purpose": transfer.purpose,
            "orderId": str(transfer.order_id) if transfer.order_id else None,
            "assetId": transfer.asset_id,
            "amount": str(transfer.amount),
        },
    )
    log.warning("custody_transfer_issue", transfer_id=transfer.pk, issue=issue[:200])


def ledger_accounts_for(
    *, order: MarketMakingOrder, asset_id: str, purposes: Iterable[str], service_fee: bool = False
) -> list[tuple[str, str]]:
    """The ledger accounts `(code, asset)` that the order's moves of `purposes` in one asset
    touch (network-fee legs included; `service_fee`: the order's service fee too), for
    `ledger.ledger_accounts_lock` before a step writes several entries in one transaction.
    Mirrors the postings of `refund_create`, `withdraw_to_venue_create`,
    `venue_to_custody_create` and `venue_wallet_move_create` below."""
    own = ledger_codes.order_account(order.pk)
    codes = {own}
    if service_fee:
        codes.add(ledger_codes.REVENUE_SERVICE)
    wanted = {P(p) for p in purposes}
    if P.REFUND in wanted:
        codes.add(ledger_codes.CUSTODY_MIXIN)
    venue = wanted - {P.REFUND}
    if venue:
        route = venue_route(order=order, asset_id=asset_id)
        if wanted & {P.WITHDRAW_TO_VENUE, P.VENUE_TO_CUSTODY}:
            codes |= {
                ledger_codes.CUSTODY_MIXIN,
                ledger_codes.FEES_NETWORK,
                route.wallet_code(route.deposit_wallet),
            }
        if route.split:  # a venue with one wallet moves nothing between wallets
            for purpose in wanted & set(WALLET_MOVES):
                codes |= {route.wallet_code(wallet) for wallet in WALLET_MOVES[purpose]}
    return [(code, asset_id) for code in sorted(codes)]


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
        destination=route.wallet_code(route.deposit_wallet),
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
        source=route.wallet_code(route.deposit_wallet),
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


WALLET_MOVES = {
    P.FUNDING_TO_TRADING: (ledger_codes.WALLET_FUNDING, ledger_codes.WALLET_TRADING),
    P.TRADING_TO_FUNDING: (ledger_codes.WALLET_TRADING, ledger_codes.WALLET_FUNDING),
}


def venue_wallet_move_create(
    *, order: MarketMakingOrder, asset_id: str, amount: Decimal, purpose: str, attempt: int = 0
) -> CustodyTransfer:
    """Between the funding and trading wallets of the order's venue account (`purpose` is
    funding_to_trading or trading_to_funding). No fee: the venue moves it whole. `attempt`
    numbers the tries after a definite failure (each try is its own client id)."""
    from_wallet, to_wallet = WALLET_MOVES[P(purpose)]
    route = venue_route(order=order, asset_id=asset_id)
    if not route.split:
        raise ValueError(f"{route.exchange_id} keeps one wallet: nothing moves between wallets")
    request_id = request_id_for(purpose, str(order.pk), asset_id, str(attempt))
    entry_key = f"move:{request_id}"
    ledger.custody_move_start(
        idempotency_key=entry_key,
        source=route.wallet_code(from_wallet),
        destination=route.wallet_code(to_wallet),
        asset=asset_id,
        amount=amount,
        reference=request_id,
    )
    return _transfer_get_or_create(
        request_id=request_id,
        defaults={
            "purpose": purpose,
            "order": order,
            "venue_account": order.venue_account,
            "asset_id": asset_id,
            "amount": amount,
            "destination": to_wallet,
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
    # Progress: the backoff starts over; a final transfer has no next attempt; one that moved
    # on is looked at again at once (a confirmed custody move waits for its arrival).
    final = to in (T.FAILED, T.ARRIVED) or (to == T.CONFIRMED and transfer.purpose == P.REFUND)
    fields: dict[str, object] = {
        "status": to,
        "updated_at": now,
        "checks": 0,
        "next_attempt_at": None if final else now,
    }
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
        _raise_operator_issue(transfer, f"{transfer.purpose} failed definitely: {error}")
    elif to == T.CONFIRMED and transfer.purpose == P.REFUND:
        ledger.refund_confirm(entry_key=transfer.entry_key, idempotency_key=resolution)
        if transfer.snapshot_id is not None:
            PaymentSnapshot.objects.filter(
                pk=transfer.snapshot_id, status=SnapshotStatus.REFUNDING
            ).update(status=SnapshotStatus.REFUNDED, updated_at=now)
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


def venue_client_id(transfer: CustodyTransfer) -> str:
    """Venues take alphanumeric withdrawal and transfer ids: the request id without dashes
    (32 characters, OKX's maximum)."""
    return transfer.request_id.replace("-", "")


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


def _hash_key(value: str) -> str:
    """Chain hashes as the chain writes them: EVM hashes may come with or without `0x`, in
    either case, depending on who reports them."""
    text = value.strip().lower()
    return text[2:] if text.startswith("0x") else text


def custody_arrival_match(*, snapshot: PaymentSnapshot) -> CustodyTransfer | None:
    """The venue → custody move an incoming snapshot is, if any.

    Only a chain deposit (no payer, no memo) can be one: a user's payment never is. The
    candidates are open moves of the snapshot's asset asked for before it arrived (less the
    snapshot overlap, for clock skew). The transaction hash decides first; a move whose hash
    is known matches nothing else. A move whose venue has not reported the hash yet (its
    answer was lost) matches by amount within tolerance, oldest first, and only a snapshot
    whose hash no transfer claims.
    """
    if snapshot.opponent_id or snapshot.memo_hex or snapshot.amount <= 0:
        return None
    skew = timedelta(seconds=settings.CUSTODY_SNAPSHOT_OVERLAP_SECONDS)
    candidates = list(
        CustodyTransfer.objects.filter(
            purpose=P.VENUE_TO_CUSTODY,
            status__in=[T.PENDING, T.SENT, T.CONFIRMED],
            asset_id=snapshot.asset_id,
            created_at__lte=snapshot.snapshot_created_at + skew,
        ).order_by("id")
    )
    key = _hash_key(snapshot.transaction_hash)
    if key:
        for move in candidates:
            if move.transaction_hash and _hash_key(move.transaction_hash) == key:
                return move
        if CustodyTransfer.objects.filter(transaction_hash=snapshot.transaction_hash).exists():
            return None  # another transfer's money (already arrived or sent elsewhere)
    for move in candidates:
        if not move.transaction_hash and _within(snapshot.amount, move.amount):
            return move
    return None


def custody_arrival_record(*, transfer: CustodyTransfer, snapshot: PaymentSnapshot) -> None:
    """Inside the snapshot's transaction: the money is back in custody; post the move."""
    transfer.transaction_hash = snapshot.transaction_hash or transfer.transaction_hash
    _resolve(transfer, to=T.ARRIVED, now=timezone.now())
