"""Unwinding an order, shared by exit and failure: stop trading, bring the money on the
venue back to custody, refund everything the order holds, finish.

    exit_requested    session stopped, live orders gone → exit_withdrawing / exit_refunding
    exit_withdrawing  venue → custody (on a venue with two wallets, trading → funding
                      first), arrivals matched → exit_refunding
    exit_refunding    refunds sent and confirmed → exit_complete
    failed            the same unwind → refunded

A move that fails definitely is tried again under a new request id, at most
`ORDER_REFUND_MAX_ROUNDS` times per asset; past that the order holds (the failed transfers
are operator issues in system status) and is not finished with money still on it.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from ledger import services as ledger
from ledger.codes import WALLET_FUNDING, WALLET_TRADING
from orders.custody import custody_gateway
from orders.enums import IN_FLIGHT_TRANSFER_STATUSES, OrderState, TransferPurpose, TransferStatus
from orders.models import CustodyTransfer, MarketMakingOrder
from orders.selectors import order_balances
from orders.services import moves, seams
from orders.services.stepping import poll_later as _poll_later
from orders.services.stepping import step_transition as _transition
from orders.services.transfers import transfers_advance_open
from orders.services.transitions import order_lock

log = structlog.get_logger(__name__)
S = OrderState
P = TransferPurpose
T = TransferStatus


def _venue_wallets(order: MarketMakingOrder) -> dict[str, str]:
    """Assets of this order whose balance sits on the venue, and in which wallet: they went
    there (the deposit arrived, in the venue's deposit wallet), moved between wallets with
    each wallet move that arrived, and no venue → custody move of them is under way or
    done. The order's transfers are replayed in the order they were made."""
    where: dict[str, str] = {}
    split: bool | None = None
    for transfer in CustodyTransfer.objects.filter(order=order).exclude(status=T.FAILED):
        asset = transfer.asset_id
        if transfer.purpose == P.WITHDRAW_TO_VENUE and transfer.status == T.ARRIVED:
            if split is None:
                split = moves.venue_route(order=order, asset_id=asset).split
            where[asset] = WALLET_FUNDING if split else WALLET_TRADING
        elif transfer.purpose in moves.WALLET_MOVES and transfer.status == T.ARRIVED:
            where[asset] = moves.WALLET_MOVES[P(transfer.purpose)][1]
        elif transfer.purpose == P.VENUE_TO_CUSTODY:
            where.pop(asset, None)
    return where


def _venue_held(order: MarketMakingOrder) -> set[str]:
    return set(_venue_wallets(order))


def _moves_in_flight(order: MarketMakingOrder) -> bool:
    return CustodyTransfer.objects.filter(
        Q(order=order)
        & (
            Q(status__in=IN_FLIGHT_TRANSFER_STATUSES)
            | Q(purpose__in=[P.WITHDRAW_TO_VENUE, P.VENUE_TO_CUSTODY], status=T.CONFIRMED)
        )
    ).exists()


def _drive_open_transfers(order: MarketMakingOrder) -> None:
    transfers_advance_open(order_id=order.pk)


def _start_venue_withdrawals(order: MarketMakingOrder, expect: str) -> bool:
    """Persist the next move of each of the order's venue-held balances: back to the
    funding wallet first where the venue withdraws from there, then venue → custody.
    True if any was created."""
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
        held = _venue_wallets(locked)
        # One move per asset, in this transaction: lock all their accounts first, in one
        # order (see ledger_accounts_lock).
        ledger.ledger_accounts_lock(
            accounts=[
                account
                for asset in sorted(set(wanted) & set(held))
                for account in moves.ledger_accounts_for(
                    order=locked,
                    asset_id=asset,
                    purposes=[P.TRADING_TO_FUNDING, P.VENUE_TO_CUSTODY],
                )
            ]
        )
        for asset, amount in order_balances(locked).items():
            if asset not in wanted or asset not in held or amount <= 0:
                continue
            route = moves.venue_route(order=locked, asset_id=asset)
            if amount <= route.withdraw_fee:
                continue  # dust below the venue's fee stays on the order's account
            if held[asset] != route.deposit_wallet:
                failed_moves = _failed_rounds(locked, P.TRADING_TO_FUNDING, asset)
                if failed_moves >= settings.ORDER_REFUND_MAX_ROUNDS:
                    continue  # an operator looks first (the failed moves are issues)
                moves.venue_wallet_move_create(
                    order=locked,
                    asset_id=asset,
                    amount=amount,
                    purpose=P.TRADING_TO_FUNDING,
                    attempt=failed_moves,
                )
                created = True
                continue
            address = addresses[asset]
            failed_before = _failed_rounds(locked, P.VENUE_TO_CUSTODY, asset)
            if failed_before >= settings.ORDER_REFUND_MAX_ROUNDS:
                continue  # an operator looks first (the failed moves are issues)
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
        balances = order_balances(locked)
        ledger.ledger_accounts_lock(
            accounts=[
                account
                for asset, amount in sorted(balances.items())
                if amount > 0 and asset not in held
                for account in moves.ledger_accounts_for(
                    order=locked, asset_id=asset, purposes=[P.REFUND]
                )
            ]
        )
        for asset, amount in balances.items():
            if amount <= 0 or asset in held:
                continue
            if _failed_rounds(locked, P.REFUND, asset) >= settings.ORDER_REFUND_MAX_ROUNDS:
                continue  # an operator looks first (the failed refunds are issues)
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


def _failed_rounds(order: MarketMakingOrder, purpose: str, asset: str) -> int:
    return CustodyTransfer.objects.filter(
        order=order, purpose=purpose, asset_id=asset, status=T.FAILED
    ).count()


def _stuck_assets(order: MarketMakingOrder) -> set[str]:
    """Assets the order still holds whose moves failed definitely too often to try again."""
    limit = settings.ORDER_REFUND_MAX_ROUNDS
    return {
        asset
        for asset, amount in order_balances(order).items()
        if amount > 0
        and any(
            _failed_rounds(order, purpose, asset) >= limit
            for purpose in (P.REFUND, P.VENUE_TO_CUSTODY, P.TRADING_TO_FUNDING)
        )
    }


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
    stuck = _stuck_assets(order)
    if stuck:
        # Never finished with money still on it; system status shows the order past its
        # deadline and the failed transfers until an operator acts.
        log.warning("order_unwind_held", order_id=str(order.pk), assets=sorted(stuck))
        _poll_later(order, seconds=settings.CUSTODY_TRANSFER_RETRY_MAX_SECONDS)
        return
    done()


def _trading_stopped(order: MarketMakingOrder) -> bool:
    """True once the order's session has no live orders; until then, stop it and poll."""
    if seams.session_live_order_count(order=order) == 0:
        return True
    seams.session_stop(order=order)
    _poll_later(order)
    return False


def step_exit_requested(order: MarketMakingOrder) -> None:
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


def step_exit_withdrawing(order: MarketMakingOrder) -> None:
    _drive_open_transfers(order)
    if _moves_in_flight(order):
        _poll_later(order)
        return
    if _start_venue_withdrawals(order, S.EXIT_WITHDRAWING):
        _drive_open_transfers(order)
        _poll_later(order)
        return
    _transition(order.pk, "exit_refund_started", "order.exit_refunding", expect=S.EXIT_WITHDRAWING)


def step_exit_refunding(order: MarketMakingOrder) -> None:
    _unwind(
        order,
        expect=S.EXIT_REFUNDING,
        done=lambda: _transition(
            order.pk, "exit_completed", "order.exit_complete", expect=S.EXIT_REFUNDING
        ),
    )


def step_failed(order: MarketMakingOrder) -> None:
    _unwind(
        order,
        expect=S.FAILED,
        done=lambda: _transition(order.pk, "refunded", "order.refunded", expect=S.FAILED),
    )
