"""Writes of the paper venue outside matching: markets, funding, deposits, withdrawals.

Deposits are idempotent by txid and withdrawals by the caller's client id (a unique
constraint each: insert first, on conflict fetch and compare — STYLE §5).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import structlog
from django.db import IntegrityError, transaction

from exchanges.paper.models import PaperBalance, PaperDeposit, PaperMarket, PaperWithdrawal
from exchanges.paper.selectors import deposit_transfer, withdrawal_transfer
from exchanges.venues.base import (
    DepositAddress,
    FinalVenueError,
    InsufficientFunds,
    InvalidOrder,
    VenueTransfer,
)

log = structlog.get_logger(__name__)


class PaperConflict(FinalVenueError):
    """The idempotency key was already used with different details."""


def paper_market_ensure(
    *,
    venue: str,
    symbol: str,
    price: Decimal,
    price_increment: Decimal,
    amount_increment: Decimal,
    min_amount: Decimal = Decimal(0),
    min_notional: Decimal = Decimal(0),
    maker_fee: Decimal = Decimal("0.001"),
    taker_fee: Decimal = Decimal("0.001"),
    volatility: Decimal = Decimal("0.0005"),
    seed: int = 1,
    print_amount: Decimal = Decimal("1"),
    book_half_spread: Decimal = Decimal("0.001"),
    book_levels: int = 10,
    book_level_amount: Decimal = Decimal("1"),
    feed_kind: str = PaperMarket.FeedKind.RANDOM_WALK,
    feed_csv_path: str = "",
    feed_step_seconds: int = 1,
) -> PaperMarket:
    """Create the pair if missing (existing pairs keep their state: the demo seed may run
    on every start)."""
    base, quote = symbol.split("/")
    market, created = PaperMarket.objects.get_or_create(
        venue=venue,
        symbol=symbol,
        defaults={
            "base": base,
            "quote": quote,
            "feed_price": price,
            "price_increment": price_increment,
            "amount_increment": amount_increment,
            "min_amount": min_amount,
            "min_notional": min_notional,
            "maker_fee": maker_fee,
            "taker_fee": taker_fee,
            "feed_volatility": volatility,
            "feed_seed": seed,
            "feed_print_amount": print_amount,
            "book_half_spread": book_half_spread,
            "book_levels": book_levels,
            "book_level_amount": book_level_amount,
            "feed_kind": feed_kind,
            "feed_csv_path": feed_csv_path,
            "feed_step_seconds": feed_step_seconds,
        },
    )
    if created:
        log.info("paper_market_created", venue=venue, symbol=symbol)
    return market


def _locked_balance(*, venue: str, account: str, asset: str) -> PaperBalance:
    PaperBalance.objects.bulk_create(
        [PaperBalance(venue=venue, account=account, asset=asset)], ignore_conflicts=True
    )
    return PaperBalance.objects.select_for_update().get(venue=venue, account=account, asset=asset)


def paper_deposit_address(
    *, venue: str, account: str, asset: str, network: str | None = None
) -> DepositAddress:
    """Deterministic per (venue, account, asset, network): the same address every time, so
    the custody flow can store it; nothing to persist."""
    digest = hashlib.sha256(f"{venue}:{account}:{asset}:{network or ''}".encode()).hexdigest()
    return DepositAddress(asset=asset, network=network, address=f"paper-{digest[:40]}", tag=None)


def paper_deposit_credit(
    *,
    venue: str,
    account: str,
    asset: str,
    amount: Decimal,
    txid: str,
    network: str | None = None,
    address: str | None = None,
) -> VenueTransfer:
    """Credit a paper account with coins that arrived (the custody flow's "deposit landed").
    Idempotent by (venue, txid): a repeat returns the first deposit; a repeat with other
    details is a PaperConflict."""
    if amount <= 0:
        raise InvalidOrder("deposit amount must be positive", venue=venue)
    with transaction.atomic():
        try:
            with transaction.atomic():
                deposit = PaperDeposit.objects.create(
                    venue=venue,
                    account=account,
                    asset=asset,
                    amount=amount,
                    txid=txid,
                    network=network or "",
                    address=address
                    or paper_deposit_address(
                        venue=venue, account=account, asset=asset, network=network
                    ).address,
                )
        except IntegrityError:
            deposit = PaperDeposit.objects.get(venue=venue, txid=txid)
            if (deposit.account, deposit.asset, deposit.amount) != (account, asset, amount):
                raise PaperConflict(
                    f"txid {txid} already credited with other details", venue=venue
                ) from None
            return deposit_transfer(deposit)
        balance = _locked_balance(venue=venue, account=account, asset=asset)
        balance.free += amount
        balance.save(update_fields=["free", "updated_at"])
    log.info("paper_deposit_credited", venue=venue, account=account, asset=asset, txid=txid)
    return deposit_transfer(deposit)


def paper_withdraw(
    *,
    venue: str,
    account: str,
    asset: str,
    amount: Decimal,
    address: str,
    client_id: str,
    network: str | None = None,
    tag: str | None = None,
) -> VenueTransfer:
    """Debit and complete at once with a deterministic txid. Idempotent by client_id."""
    if amount <= 0:
        raise InvalidOrder("withdraw amount must be positive", venue=venue)
    with transaction.atomic():
        existing = PaperWithdrawal.objects.filter(
            venue=venue, account=account, client_id=client_id
        ).first()
        if existing is not None:
            if (existing.asset, existing.amount, existing.address) != (asset, amount, address):
                raise PaperConflict(
                    f"withdrawal {client_id} exists with other details", venue=venue
                )
            return withdrawal_transfer(existing)
        balance = _locked_balance(venue=venue, account=account, asset=asset)
        # Re-check under the balance lock: a concurrent twin may have just committed.
        existing = PaperWithdrawal.objects.filter(
            venue=venue, account=account, client_id=client_id
        ).first()
        if existing is not None:
            return withdrawal_transfer(existing)
        if balance.free < amount:
            raise InsufficientFunds(f"free {asset} {balance.free} < {amount}", venue=venue)
        balance.free -= amount
        balance.save(update_fields=["free", "updated_at"])
        txid = "paper-" + hashlib.sha256(f"{venue}:{account}:{client_id}".encode()).hexdigest()
        withdrawal = PaperWithdrawal.objects.create(
            venue=venue,
            account=account,
            asset=asset,
            amount=amount,
            address=address,
            network=network or "",
            tag=tag or "",
            client_id=client_id,
            txid=txid,
            status="ok",
        )
    log.info(
        "paper_withdrawal_completed", venue=venue, account=account, asset=asset, client_id=client_id
    )
    return withdrawal_transfer(withdrawal)


def paper_balance_fund(
    *, venue: str, account: str, asset: str, amount: Decimal, reference: str
) -> VenueTransfer:
    """Demo/test funding: a deposit with a synthetic txid derived from `reference`."""
    return paper_deposit_credit(
        venue=venue, account=account, asset=asset, amount=amount, txid=f"fund:{reference}"
    )
