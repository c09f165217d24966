"""The fake custody: the custody gateway protocol over our own database, for the demo and tests.

State lives in tables (`models.py`, this app's own migrations) so the web, worker and beat processes and
`manage.py demo_pay` all see one wallet. Payments arrive through `fake_custody_pay` as
snapshots with the memo stored hex-of-UTF-8, like Mixin. Sends are idempotent by request id:
the transaction row is inserted first under a unique constraint (a racing duplicate waits on
the index, then reads the winner's row), and the balance is debited by one conditional
UPDATE that cannot go below zero. With `CUSTODY_FAKE_CONFIRM_SECONDS` > 0 a send stays
`pending` that long and is confirmed lazily by the next read, to exercise pending states;
`fake_custody_fail` makes a pending send fail and gives the money back.

Money coming back from an exchange arrives through `fake_custody_deposit_receive` at the
deterministic `deposit_address` of the asset: an incoming snapshot without opponent or memo
that carries the chain transaction hash. It is idempotent by that hash the same way sends
are by request id (insert first under a unique constraint, then credit).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders.custody.base import (
    AssetInfo,
    CustodyDepositAddress,
    CustodyInvalidRequest,
    CustodyNotFound,
    CustodyTransaction,
    InsufficientBalance,
    RequestIdConflict,
    Snapshot,
    SnapshotPage,
    TransactionKind,
    TransactionStatus,
    WithdrawalFee,
    format_timestamp,
    parse_timestamp,
)
from orders.memo import memo_to_hex
from standins.custody.models import (
    HASH_MAX_LENGTH,
    FakeCustodyAsset,
    FakeCustodyBalance,
    FakeCustodySnapshot,
    FakeCustodyTransaction,
)

log = structlog.get_logger(__name__)


def _to_snapshot(row: FakeCustodySnapshot) -> Snapshot:
    return Snapshot(
        snapshot_id=str(row.snapshot_id),
        asset_id=row.asset_id,
        amount=Decimal(row.amount),
        opponent_id=row.opponent_id,
        memo=row.memo,
        transaction_hash=row.transaction_hash,
        created_at=row.created_at,
        request_id=row.request_id,
    )


def _to_transaction(row: FakeCustodyTransaction) -> CustodyTransaction:
    return CustodyTransaction(
        request_id=row.request_id,
        status=TransactionStatus(row.status),
        kind=TransactionKind(row.kind),
        asset_id=row.asset_id,
        amount=Decimal(row.amount),
        transaction_hash=row.transaction_hash,
        snapshot_id=str(row.snapshot_id) if row.snapshot_id else None,
        fee=Decimal(row.fee),
        failure_reason=row.failure_reason,
    )


def _locked_balance(asset_id: str) -> FakeCustodyBalance:
    FakeCustodyBalance.objects.get_or_create(asset_id=asset_id)
    return FakeCustodyBalance.objects.select_for_update().get(asset_id=asset_id)


def _credit(*, asset_id: str, amount: Decimal) -> None:
    # Arithmetic in Python under the row lock, not `F() + x` in SQL: SQLite would do it in
    # binary floating point and the wallet would drift from the ledger by 1e-17s.
    row = _locked_balance(asset_id)
    row.balance = Decimal(row.balance) + amount
    row.save(update_fields=["balance"])


def fake_custody_pay(*, user_id: str, asset_id: str, amount: Decimal, memo_text: str) -> Snapshot:
    """A user pays the bot: record an incoming snapshot and credit the wallet."""
    if amount <= 0:
        raise CustodyInvalidRequest("a payment must be positive")
    with transaction.atomic():
        row = FakeCustodySnapshot.objects.create(
            asset_id=asset_id,
            amount=amount,
            opponent_id=user_id,
            memo=memo_to_hex(memo_text),
            transaction_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            created_at=timezone.now(),
        )
        _credit(asset_id=asset_id, amount=amount)
    log.info("fake_custody_paid", snapshot_id=str(row.snapshot_id), asset_id=asset_id)
    return _to_snapshot(row)


def fake_custody_deposit_destination(*, asset_id: str) -> str:
    """The fake wallet's deposit address of an asset: stable across processes and restarts."""
    return "fake-mixin-" + hashlib.sha256(asset_id.encode()).hexdigest()[:40]


# The fake stores amounts as numeric(38, 18): a finer amount would be rounded by the database
# (and then never compare equal to itself on a replay), a larger one would not fit.
_AMOUNT_STEP = Decimal("1e-18")
_AMOUNT_LIMIT = Decimal("1e20")


def _fits_the_ledger(amount: Decimal) -> bool:
    with localcontext() as ctx:
        ctx.prec = 60  # enough for 20 + 18 digits, so quantize never raises
        return amount < _AMOUNT_LIMIT and amount.quantize(_AMOUNT_STEP) == amount


def fake_custody_deposit_receive(
    *, asset_id: str, amount: Decimal, transaction_hash: str
) -> Snapshot:
    """An on-chain deposit (e.g. an exchange's withdrawal) reaches the wallet's deposit address.

    Records an incoming snapshot with no opponent and no memo, carrying the chain's
    `transaction_hash`, and credits the wallet, once per transaction hash: a repeat (or a
    concurrent duplicate) returns the first snapshot; the same hash with another asset or
    amount raises `RequestIdConflict` and changes nothing.
    """
    if not asset_id:
        raise CustodyInvalidRequest("a deposit needs an asset")
    if not amount.is_finite() or amount <= 0:
        raise CustodyInvalidRequest("a deposit must be positive")
    if not _fits_the_ledger(amount):
        raise CustodyInvalidRequest("a deposit has at most 20 digits and 18 decimal places")
    if (
        not transaction_hash
        or len(transaction_hash) > HASH_MAX_LENGTH
        or transaction_hash != transaction_hash.strip()
    ):
        raise CustodyInvalidRequest(f"bad chain transaction hash {transaction_hash!r}")
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = FakeCustodySnapshot.objects.create(
                    asset_id=asset_id,
                    amount=amount,
                    opponent_id="",
                    memo="",
                    transaction_hash=transaction_hash,
                    deposit_hash=transaction_hash,
                    created_at=timezone.now(),
                )
        except IntegrityError:
            # Reported before (or concurrently, and that one committed first): on PostgreSQL
            # the loser waited on the unique index, so the winner's row is visible now.
            existing = FakeCustodySnapshot.objects.get(deposit_hash=transaction_hash)
            if existing.asset_id != asset_id or Decimal(existing.amount) != amount:
                raise RequestIdConflict(
                    f"chain transaction {transaction_hash} was already received "
                    "with another asset or amount"
                ) from None
            log.info("fake_custody_deposit_replayed", snapshot_id=str(existing.snapshot_id))
            return _to_snapshot(existing)
        _credit(asset_id=asset_id, amount=amount)
    log.info("fake_custody_deposit_received", snapshot_id=str(row.snapshot_id), asset_id=asset_id)
    return _to_snapshot(row)


def fake_custody_asset_upsert(
    *,
    asset_id: str,
    symbol: str,
    chain_id: str,
    precision: int = 8,
    price_usd: Decimal = Decimal(0),
    withdrawal_fee: Decimal = Decimal(0),
) -> FakeCustodyAsset:
    asset, _ = FakeCustodyAsset.objects.update_or_create(
        asset_id=asset_id,
        defaults={
            "symbol": symbol,
            "chain_id": chain_id,
            "precision": precision,
            "price_usd": price_usd,
            "withdrawal_fee": withdrawal_fee,
        },
    )
    return asset


def _confirm(row: FakeCustodyTransaction, *, now: datetime) -> bool:
    """pending -> confirmed once (conditional UPDATE), with its outgoing snapshot."""
    snapshot_id = uuid.uuid4()
    won = FakeCustodyTransaction.objects.filter(pk=row.pk, status="pending").update(
        status="confirmed", snapshot_id=snapshot_id, updated_at=now
    )
    if won:
        FakeCustodySnapshot.objects.create(
            snapshot_id=snapshot_id,
            asset_id=row.asset_id,
            amount=-(Decimal(row.amount) + Decimal(row.fee)),
            opponent_id=row.opponent_id,
            memo=memo_to_hex(row.memo),
            transaction_hash=row.transaction_hash,
            request_id=row.request_id,
            created_at=now,
        )
    return bool(won)


def fake_custody_settle_due(*, now: datetime | None = None) -> int:
    """Confirm every pending send whose delay has passed. Returns how many were confirmed."""
    moment = now or timezone.now()
    done = 0
    due = FakeCustodyTransaction.objects.filter(status="pending", confirm_after__lte=moment)
    for row in due.order_by("pk"):
        with transaction.atomic():
            done += _confirm(row, now=moment)
    return done


def fake_custody_fail(*, request_id: str, reason: str) -> CustodyTransaction:
    """Make a pending send fail for good; the money goes back to the wallet."""
    with transaction.atomic():
        row = FakeCustodyTransaction.objects.select_for_update().get(request_id=request_id)
        if row.status == "pending":
            FakeCustodyTransaction.objects.filter(pk=row.pk, status="pending").update(
                status="failed", failure_reason=reason, updated_at=timezone.now()
            )
            _credit(asset_id=row.asset_id, amount=Decimal(row.amount) + Decimal(row.fee))
            row.refresh_from_db()
    return _to_transaction(row)


class FakeCustody:
    backend = "fake"

    def __init__(self, *, confirm_seconds: int | None = None) -> None:
        self._confirm_seconds = (
            settings.CUSTODY_FAKE_CONFIRM_SECONDS if confirm_seconds is None else confirm_seconds
        )

    # ------------------------------------------------------------------ snapshots

    def snapshots_since(self, *, cursor: str | None, limit: int) -> SnapshotPage:
        fake_custody_settle_due()
        rows = FakeCustodySnapshot.objects.order_by("created_at", "snapshot_id")
        if cursor is not None:
            # Inclusive, like the Mixin emulator: repeats are fine, skips are not.
            rows = rows.filter(created_at__gte=parse_timestamp(cursor))
        page = list(rows[: max(1, limit)])
        next_cursor = format_timestamp(page[-1].created_at) if page else cursor
        return SnapshotPage(
            items=tuple(_to_snapshot(r) for r in page),
            next_cursor=next_cursor,
            has_more=len(page) >= limit and next_cursor != cursor,
        )

    # ------------------------------------------------------------------ sends

    def transaction(self, *, request_id: str) -> CustodyTransaction | None:
        row = FakeCustodyTransaction.objects.filter(request_id=request_id).first()
        if row is None:
            return None
        if row.status == "pending" and row.confirm_after <= timezone.now():
            with transaction.atomic():
                _confirm(row, now=timezone.now())
            row.refresh_from_db()
        return _to_transaction(row)

    def _send(
        self,
        *,
        kind: str,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        fee: Decimal,
        opponent_id: str = "",
        destination: str = "",
        tag: str = "",
        memo: str = "",
    ) -> CustodyTransaction:
        if amount <= 0:
            raise CustodyInvalidRequest("amount must be positive")
        try:
            uuid.UUID(request_id)  # a request id is a UUID, as on Mixin
        except ValueError as exc:
            raise CustodyInvalidRequest(f"request id {request_id!r} is not a UUID") from exc
        content = {
            "kind": kind,
            "asset_id": asset_id,
            "amount": amount,
            "opponent_id": opponent_id,
            "destination": destination,
            "tag": tag,
        }
        now = timezone.now()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    row = FakeCustodyTransaction.objects.create(
                        request_id=request_id,
                        fee=fee,
                        memo=memo,
                        transaction_hash=uuid.uuid4().hex + uuid.uuid4().hex,
                        confirm_after=now + timedelta(seconds=self._confirm_seconds),
                        **content,
                    )
            except IntegrityError:
                # The same request id was sent before (or concurrently, and that one won).
                existing = FakeCustodyTransaction.objects.get(request_id=request_id)
                if any(getattr(existing, k) != v for k, v in content.items()):
                    raise RequestIdConflict(
                        f"request {request_id} was used for a different send"
                    ) from None
                log.info("fake_custody_send_replayed", request_id=request_id)
                return self.transaction(request_id=request_id) or _to_transaction(existing)
            wallet = _locked_balance(asset_id)
            debited = Decimal(wallet.balance) >= amount + fee
            if debited:
                wallet.balance = Decimal(wallet.balance) - (amount + fee)
                wallet.save(update_fields=["balance"])
            if not debited:
                # Raising rolls the transaction row back too: nothing was sent.
                raise InsufficientBalance(f"wallet holds less than {amount + fee} of {asset_id}")
            if self._confirm_seconds <= 0:
                _confirm(row, now=now)
        row.refresh_from_db()
        log.info("fake_custody_sent", request_id=request_id, kind=kind, status=row.status)
        return _to_transaction(row)

    def transfer(
        self,
        *,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        opponent_id: str,
        memo: str = "",
    ) -> CustodyTransaction:
        return self._send(
            kind="transfer",
            request_id=request_id,
            asset_id=asset_id,
            amount=amount,
            fee=Decimal(0),
            opponent_id=opponent_id,
            memo=memo,
        )

    def withdraw(
        self,
        *,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        destination: str,
        tag: str | None = None,
    ) -> CustodyTransaction:
        if not destination:
            raise CustodyInvalidRequest("a withdrawal needs a destination")
        fee = self.withdrawal_fee(asset_id=asset_id, destination=destination)
        return self._send(
            kind="withdrawal",
            request_id=request_id,
            asset_id=asset_id,
            amount=amount,
            fee=fee.amount,
            destination=destination,
            tag=tag or "",
        )

    # ------------------------------------------------------------------ reads

    def withdrawal_fee(self, *, asset_id: str, destination: str) -> WithdrawalFee:
        asset = FakeCustodyAsset.objects.filter(asset_id=asset_id).first()
        fee = (
            Decimal(asset.withdrawal_fee)
            if asset is not None
            else settings.CUSTODY_FAKE_WITHDRAWAL_FEE_DEFAULT
        )
        return WithdrawalFee(asset_id=asset_id, amount=fee)

    def wallet_balance(self, *, asset_id: str) -> Decimal:
        row = FakeCustodyBalance.objects.filter(asset_id=asset_id).first()
        return Decimal(row.balance) if row is not None else Decimal(0)

    def deposit_address(self, *, asset_id: str) -> CustodyDepositAddress:
        # One address per asset (Mixin shares one per chain; the fake knows no chains for
        # assets it was never told about, and the address must not change once it is told).
        if not asset_id:
            raise CustodyInvalidRequest("a deposit address needs an asset")
        return CustodyDepositAddress(
            asset_id=asset_id,
            destination=fake_custody_deposit_destination(asset_id=asset_id),
            tag=None,
        )

    def asset(self, *, asset_id: str) -> AssetInfo:
        asset = FakeCustodyAsset.objects.filter(asset_id=asset_id).first()
        if asset is None:
            raise CustodyNotFound(f"unknown asset {asset_id}")
        return AssetInfo(
            asset_id=asset.asset_id,
            symbol=asset.symbol,
            chain_id=asset.chain_id,
            precision=asset.precision,
            price_usd=Decimal(asset.price_usd),
            name=asset.symbol,
        )
