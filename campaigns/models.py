"""HuFi campaigns as we know them, the oracle session of our wallet, our joins, and payouts.

Amounts in a token's base units (uint256 on chain) are kept as decimal digit strings
(`*_base_units`): they exceed 64 bits and SQLite would round a NUMERIC of that size. The
human amount (`base units / 10**decimals`) is a `Decimal` beside it, for display and queries.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, overload

from django.conf import settings
from django.db import models
from django.db.models.expressions import Combinable

from campaigns.enums import (
    CampaignStatus,
    JoinStatus,
    ParticipationStatus,
    PayoutAllocationStatus,
)

# 18 decimals covers every ERC-20 HuFi funds with (HMT, USDT, USDC: 18/6/6); 60 digits in all.
AMOUNT_DIGITS = 60
AMOUNT_PLACES = 18


@overload
def amount_field(
    *, null: Literal[True], **kwargs: Any
) -> models.DecimalField[Decimal | float | str | Combinable | None, Decimal | None]: ...
@overload
def amount_field(
    *, null: Literal[False] = False, **kwargs: Any
) -> models.DecimalField[Decimal | float | str | Combinable, Decimal]: ...
def amount_field(*, null: bool = False, **kwargs: Any) -> models.DecimalField[Any, Any]:
    return models.DecimalField(
        max_digits=AMOUNT_DIGITS,
        decimal_places=AMOUNT_PLACES,
        null=null,
        **kwargs,
    )


class Campaign(models.Model):
    """One HuFi campaign (an escrow contract), as listed by the campaign launcher."""

    chain_id = models.PositiveIntegerField()
    # EIP-55 checksummed escrow address.
    address = models.CharField(max_length=42)
    # Lower-case ccxt exchange id as HuFi names it ("mexc", "gate").
    exchange_name = models.CharField(max_length=40, db_index=True)
    # HuFi's pair form "BASE/QUOTE" upper-case (ccxt unified spot symbol); a token for
    # holding/threshold campaigns.
    symbol = models.CharField(max_length=40, db_index=True)
    type = models.CharField(max_length=40, default="MARKET_MAKING")
    start_date = models.DateTimeField()
    end_date = models.DateTimeField()
    fund_token = models.CharField(max_length=42, blank=True, default="")
    fund_token_symbol = models.CharField(max_length=20, blank=True, default="")
    fund_token_decimals = models.PositiveSmallIntegerField(default=18)
    fund_amount_base_units = models.CharField(max_length=80, default="0")
    fund_amount = amount_field(default=Decimal(0))
    balance_base_units = models.CharField(max_length=80, default="0")
    balance = amount_field(default=Decimal(0))
    # In the quote token per day (HuFi manifest `daily_volume_target`); null if not market making.
    daily_volume_target = amount_field(null=True, blank=True)
    # Sum of the three oracle fees in percent (launcher detail: exchange, recording and
    # reputation oracle); HuFi pays out the fund net of them. Null until read.
    oracle_fee_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.ACTIVE
    )
    manifest = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField()
    # Set when a sync found the campaign no longer active (completed / cancelled).
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="campaign_chain_address"),
            models.CheckConstraint(
                condition=models.Q(end_date__gt=models.F("start_date")),
                name="campaign_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(fund_amount__gte=0), name="campaign_fund_amount_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "end_date"], name="campaign_status_end"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_name} {self.symbol} {self.chain_id}-{self.address}"

    @property
    def key(self) -> str:
        """HuFi's own id of a campaign: `{chain_id}-{address}`."""
        return f"{self.chain_id}-{self.address}"


class OracleSession(models.Model):
    """The recording oracle tokens of one wallet, shared by every worker process.

    HuFi keeps exactly one live refresh token per wallet, so exactly one owner may hold it:
    this row. It is locked (`select_for_update`) while a process logs in or refreshes, which
    makes login/refresh single-flight across processes. Tokens are sealed with a key derived
    from the wallet's private key (whoever can read them could log in anyway).
    """

    wallet_address = models.CharField(max_length=42, unique=True)
    access_token_sealed = models.TextField(blank=True, default="")
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_sealed = models.TextField(blank=True, default="")
    logged_in_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    login_count = models.PositiveIntegerField(default=0)
    refresh_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"oracle session of {self.wallet_address}"


class CampaignJoin(models.Model):
    """Our wallet's membership of one campaign on HuFi's recording oracle.

    One row per (campaign, wallet): the idempotency key of the join. `lease_until` lets one
    caller at a time talk to HuFi without holding a database lock over the network call.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="joins")
    wallet_address = models.CharField(max_length=42)
    exchange_name = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=JoinStatus.choices, default=JoinStatus.PENDING)
    hufi_join_id = models.CharField(max_length=100, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    # `waiting`: when to ask HuFi again, and how many times it did not know the campaign.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    waits = models.PositiveIntegerField(default=0)
    joined_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "wallet_address"], name="campaign_join_campaign_wallet"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=JoinStatus.JOINED) | models.Q(joined_at__isnull=False),
                name="campaign_join_joined_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"join {self.campaign_id} by {self.wallet_address}: {self.status}"


class Payout(models.Model):
    """One ERC-20 `Transfer` from a campaign escrow to our wallet, seen on chain once.

    (chain_id, tx_hash, log_index) identifies a log uniquely, so a re-scan records nothing new.
    """

    chain_id = models.PositiveIntegerField()
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    block_number = models.PositiveBigIntegerField()
    block_hash = models.CharField(max_length=66)
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="payouts")
    token_address = models.CharField(max_length=42)
    from_address = models.CharField(max_length=42)
    to_address = models.CharField(max_length=42)
    amount_base_units = models.CharField(max_length=80)
    amount = amount_field()
    # The UTC day of the block: allocation shares it by that day's scores.
    block_time = models.DateTimeField()
    observed_at = models.DateTimeField(auto_now_add=True)
    # Sharing with users (campaigns.services.payout_allocate).
    allocation_status = models.CharField(
        max_length=20,
        choices=PayoutAllocationStatus.choices,
        default=PayoutAllocationStatus.PENDING,
        db_index=True,
    )
    # Why it is held (no mapping, no score that day, the ledger's refusal), for the operator.
    allocation_note = models.TextField(blank=True, default="")
    # The Mixin asset the payout was booked as; frozen once booked (the ledger key remembers it).
    asset_id = models.CharField(max_length=36, blank=True, default="")
    # When `reward_receive` booked it (custody debit, rewards:hufi credit); once per payout.
    received_at = models.DateTimeField(null=True, blank=True)
    allocated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash", "log_index"], name="payout_chain_tx_log"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"payout {self.amount} {self.campaign_id} {self.tx_hash}:{self.log_index}"

    @property
    def key(self) -> str:
        """The payout's identity, also its ledger idempotency key: `payout:<chain>:<tx>:<log>`."""
        return f"payout:{self.chain_id}:{self.tx_hash}:{self.log_index}"


class ChainScanCursor(models.Model):
    """The next block a named chain scan reads; advanced in the transaction that records."""

    chain_id = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    next_block = models.PositiveBigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "name"], name="chain_scan_cursor_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.chain_id}: {self.next_block}"


class Participation(models.Model):
    """One order's part in one campaign: the wallet joined for it, and its fills earn a share.

    Unique per (campaign, order); the user is the order's owner, kept here so rewards are
    credited without reaching into the orders app. `joined_at` starts the fills that count,
    `left_at` ends them.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="participations")
    # By name, not by import: campaigns sit below orders (campaigns/order_source.py).
    order = models.ForeignKey(
        "orders.MarketMakingOrder", on_delete=models.PROTECT, related_name="campaign_participations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaign_participations"
    )
    status = models.CharField(max_length=10, choices=ParticipationStatus.choices)
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # Join attempts recorded for this order (failed ones and the one that succeeded).
    attempts = models.PositiveIntegerField(default=0)
    # Estimates refreshed by the participations task (quote-token volume, HuFi-weighted score):
    # since joining, and over the last 24 hours (the window the daily estimate uses).
    volume = amount_field(default=Decimal(0))
    score = amount_field(default=Decimal(0))
    window_volume = amount_field(default=Decimal(0))
    window_score = amount_field(default=Decimal(0))
    scored_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "order"], name="participation_campaign_order"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=ParticipationStatus.JOINED)
                | models.Q(joined_at__isnull=False),
                name="participation_joined_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(volume__gte=0)
                & models.Q(score__gte=0)
                & models.Q(window_volume__gte=0)
                & models.Q(window_score__gte=0),
                name="participation_scores_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="participation_user_status"),
            models.Index(fields=["campaign", "status"], name="participation_campaign_status"),
        ]

    def __str__(self) -> str:
        return f"participation {self.campaign_id}/{self.order_id}: {self.status}"


class Allocation(models.Model):
    """One user's share of one payout, credited to their ledger balance exactly once.

    Unique per (payout, user); the rows of a payout sum to its amount exactly (base units).
    """

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="allocations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="campaign_allocations"
    )
    # The user's HuFi-weighted score over the payout's day (sum over their orders).
    score = amount_field()
    amount_base_units = models.CharField(max_length=80)
    amount = amount_field()
    asset_id = models.CharField(max_length=36)
    # The ledger entry's idempotency key: `payout:<chain>:<tx>:<log>:user:<user id>`.
    entry_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payout", "user"], name="allocation_payout_user"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="allocation_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(score__gt=0), name="allocation_score_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"allocation {self.amount} of payout {self.payout_id} to {self.user_id}"
