"""Database state of the fake custody, so web, worker, beat and manage.py share one wallet.

The tables were the orders app's (its migrations 0001/0002); `orders` 0008 hands them to this
app (`fake_custody` 0001), see docs/decisions/0910-fake-custody-app.md."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q

# Amounts: 38 digits, 18 decimals. Mixin carries at most 8 decimals; 18 leaves room for
# EVM-native precision without rounding anything a chain can express.

# Chain transaction hashes: 0x + 64 hex on EVM chains, 88 base58 characters on Solana.
HASH_MAX_LENGTH = 128


class FakeCustodyAsset(models.Model):
    asset_id = models.CharField(primary_key=True, max_length=36)
    symbol = models.CharField(max_length=32)
    chain_id = models.CharField(max_length=36)
    precision = models.PositiveSmallIntegerField(default=8)
    price_usd = models.DecimalField(max_digits=38, decimal_places=18, default=0)
    # Fixed network fee charged on top of every withdrawal of this asset, in this asset.
    withdrawal_fee = models.DecimalField(max_digits=38, decimal_places=18, default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawal_fee__gte=0), name="fake_custody_asset_fee_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} ({self.asset_id})"


class FakeCustodyBalance(models.Model):
    """The wallet's balance per asset; every debit is a conditional UPDATE (never negative)."""

    asset_id = models.CharField(max_length=36, unique=True)
    balance = models.DecimalField(max_digits=38, decimal_places=18, default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="fake_custody_balance_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.balance}"


class FakeCustodySnapshot(models.Model):
    """One movement of the wallet, shaped like a Mixin Safe snapshot (memo = hex of UTF-8)."""

    snapshot_id = models.UUIDField(unique=True, default=uuid.uuid4)
    asset_id = models.CharField(max_length=36)
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    opponent_id = models.CharField(max_length=64, blank=True, default="")
    memo = models.TextField(blank=True, default="")
    transaction_hash = models.CharField(max_length=HASH_MAX_LENGTH)
    request_id = models.CharField(max_length=36, null=True, blank=True, unique=True)
    # Set only on on-chain deposits: the chain transaction that brought the money. Unique, so
    # one chain transaction is credited once however often (or concurrently) it is reported.
    # NULL (not "") on other snapshots, so they stay out of that unique constraint.
    deposit_hash = models.CharField(  # noqa: DJ001
        max_length=HASH_MAX_LENGTH, null=True, blank=True
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "snapshot_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deposit_hash"], name="fake_custody_snapshot_deposit_once"
            ),
            # A deposit is incoming and carries its chain hash as the snapshot's hash.
            models.CheckConstraint(
                condition=Q(deposit_hash__isnull=True)
                | Q(amount__gt=0, transaction_hash=F("deposit_hash")),
                name="fake_custody_snapshot_deposit_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id} {self.amount} {self.asset_id}"


class FakeCustodyTransaction(models.Model):
    """A send (transfer or withdrawal), unique by our request id."""

    class Kind(models.TextChoices):
        TRANSFER = "transfer"
        WITHDRAWAL = "withdrawal"

    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        FAILED = "failed"

    request_id = models.CharField(max_length=36, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    asset_id = models.CharField(max_length=36)
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    fee = models.DecimalField(max_digits=38, decimal_places=18, default=0)
    opponent_id = models.CharField(max_length=64, blank=True, default="")
    destination = models.CharField(max_length=256, blank=True, default="")
    tag = models.CharField(max_length=128, blank=True, default="")
    memo = models.TextField(blank=True, default="")
    transaction_hash = models.CharField(max_length=HASH_MAX_LENGTH)
    snapshot_id = models.UUIDField(null=True, blank=True)
    failure_reason = models.TextField(blank=True, default="")
    confirm_after = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="fake_custody_tx_amount_pos"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "confirmed", "failed"]),
                name="fake_custody_tx_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "confirm_after"], name="fake_custody_tx_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.request_id} {self.status}"
