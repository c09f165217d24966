"""Sharing a received payout with the users.

`payout_allocate` books one payout once (`reward_receive`, key = the payout's identity),
splits its base units by the users' scores for its day (`scoring.allocate`: floor,
remainder to the largest score), stores `Allocation`s and credits each user once
(`reward_credit`, key `<payout key>:user:<id>`) — all in one transaction under the payout
row's lock. Without a Mixin asset for the token, or without any score that day, the
payout is held with a status and an audit event, never credited to nobody.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.enums import (
    PayoutAllocationStatus,
)
from campaigns.hufi.launcher import scale
from campaigns.models import (
    Allocation,
    Campaign,
    Payout,
)
from campaigns.scoring import allocate
from campaigns.selectors import (
    payout_day_scores,
    payout_score_day,
)
from exchanges.models import Asset
from ledger import codes as ledger_codes
from ledger import services as ledger
from mrmarket.audit import audit_record
from mrmarket.enums import AuditOutcome
from mrmarket.exceptions import DomainError
from mrmarket.models import User

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RewardAsset:
    asset_id: str | None
    note: str = ""


def _reward_asset_map() -> dict[str, str]:
    """HUFI_REWARD_ASSETS entries `<token address or symbol>=<Mixin asset id>`; keys lowered."""
    mapping = {}
    for entry in settings.HUFI_REWARD_ASSETS:
        key, sep, value = entry.partition("=")
        if sep and key.strip() and value.strip():
            mapping[key.strip().lower()] = value.strip().lower()
        else:
            log.warning("hufi_reward_asset_entry_malformed", entry=entry)
    return mapping


def reward_asset_resolve(*, campaign: Campaign) -> RewardAsset:
    """The Mixin asset a campaign's ERC-20 fund token is booked as, or None with the reason.

    An explicit HUFI_REWARD_ASSETS entry (by token address, then by symbol) wins; otherwise
    the one `exchanges.Asset` with that symbol. Several assets with the symbol (USDT exists
    on many chains) is ambiguous, and none is unknown: both leave the payout unallocated for
    an operator to map — a reward is never booked as a guessed asset.
    """
    mapping = _reward_asset_map()
    symbol = campaign.fund_token_symbol.strip()
    mapped = mapping.get(campaign.fund_token.lower()) or (
        mapping.get(symbol.lower()) if symbol else None
    )
    if mapped:
        try:
            asset = Asset.objects.filter(asset_id=uuid.UUID(mapped)).first()
        except ValueError:
            asset = None
        if asset is None:
            return RewardAsset(
                None,
                f"HUFI_REWARD_ASSETS maps {campaign.fund_token} to {mapped}, not a known asset",
            )
        return RewardAsset(str(asset.asset_id))
    if not symbol:
        return RewardAsset(None, f"fund token {campaign.fund_token} has no symbol and no mapping")
    candidates = list(
        Asset.objects.filter(symbol__iexact=symbol).values_list("asset_id", flat=True)[:2]
    )
    if len(candidates) == 1:
        return RewardAsset(str(candidates[0]))
    if candidates:
        return RewardAsset(
            None,
            f"several Mixin assets are called {symbol}: map {campaign.fund_token} in HUFI_REWARD_ASSETS",
        )
    return RewardAsset(
        None,
        f"no Mixin asset for {symbol} ({campaign.fund_token}): add it or map it in HUFI_REWARD_ASSETS",
    )


@dataclass(frozen=True)
class PayoutAllocationResult:
    payout_id: int
    status: str
    note: str = ""
    # user id → amount credited by this call (empty when it was done before or is held).
    credited: dict[str, Decimal] = field(default_factory=dict)


def _payout_hold(
    *, payout: Payout, status: str, note: str, actor: User | None = None
) -> PayoutAllocationResult:
    """Hold the payout with a status; audit only when the status or note changes (a task
    retrying every few minutes must not flood the audit log)."""
    changed = (
        Payout.objects.filter(pk=payout.pk)
        .exclude(allocation_status=PayoutAllocationStatus.ALLOCATED)
        .exclude(allocation_status=status, allocation_note=note)
        .update(allocation_status=status, allocation_note=note)
    )
    if changed:
        audit_record(
            action="payout_allocation_held",
            outcome=AuditOutcome.REJECTED,
            actor=actor,
            target_type="payout",
            target_id=payout.key,
            reason=note,
            payload={
                "status": status,
                "campaign": payout.campaign.key,
                "amount": str(payout.amount),
            },
        )
        log.warning("payout_allocation_held", payout=payout.key, status=status, note=note)
    return PayoutAllocationResult(payout_id=payout.pk, status=status, note=note)


def payout_allocate(*, payout_id: int, actor: User | None = None) -> PayoutAllocationResult:
    """Book one payout in the ledger once and share it with the participating users.

    Scores are read from the strategy's fills before the transaction (no lock held while
    reading); then, under the payout row's lock, everything is written at once: receipt,
    allocations, credits, status. A second caller waits for the lock and finds it done; a
    crash rolls all of it back, and every ledger key is deterministic for the retry.
    """
    payout = Payout.objects.select_related("campaign").get(pk=payout_id)
    if payout.allocation_status == PayoutAllocationStatus.ALLOCATED:
        return PayoutAllocationResult(payout_id=payout.pk, status=payout.allocation_status)
    campaign = payout.campaign
    asset_id = payout.asset_id
    if not asset_id:
        resolved = reward_asset_resolve(campaign=campaign)
        if resolved.asset_id is None:
            return _payout_hold(
                payout=payout,
                status=PayoutAllocationStatus.ASSET_UNMAPPED,
                note=resolved.note,
                actor=actor,
            )
        asset_id = resolved.asset_id
    scores = payout_day_scores(payout=payout)
    units = int(payout.amount_base_units)
    shares = allocate(amount=units, scores=scores)
    decimals = campaign.fund_token_decimals
    key = payout.key
    credited: dict[str, Decimal] = {}
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            locked = Payout.objects.select_for_update().get(pk=payout.pk)
            if locked.allocation_status == PayoutAllocationStatus.ALLOCATED:
                return PayoutAllocationResult(payout_id=payout.pk, status=locked.allocation_status)
            # The receipt and one credit per user in this transaction: their accounts are
            # locked together first, in one order (ledger.ledger_accounts_lock).
            ledger.ledger_accounts_lock(
                accounts=[
                    (settings.HUFI_REWARD_CUSTODY_ACCOUNT, asset_id),
                    (ledger_codes.REWARDS_HUFI, asset_id),
                    *(
                        (ledger_codes.user_available(user_id), asset_id)
                        for user_id in sorted(shares)
                        if shares[user_id]
                    ),
                ]
            )
            # The money is in custody whether or not anyone can be credited yet: book it once.
            ledger.reward_receive(
                idempotency_key=key,
                asset=asset_id,
                amount=payout.amount,
                reference=key,
                custody=settings.HUFI_REWARD_CUSTODY_ACCOUNT,
            )
            locked.asset_id = asset_id
            locked.received_at = locked.received_at or now
            if not shares:
                locked.save(update_fields=["asset_id", "received_at"])
            else:
                for user_id in sorted(shares):
                    user_units = shares[user_id]
                    if user_units == 0:
                        continue  # a score too small for one base unit: nothing to credit
                    amount = scale(user_units, decimals)
                    entry_key = f"{key}:user:{user_id}"
                    Allocation.objects.create(
                        payout=locked,
                        user_id=user_id,
                        score=scores[user_id],
                        amount_base_units=str(user_units),
                        amount=amount,
                        asset_id=asset_id,
                        entry_key=entry_key,
                    )
                    ledger.reward_credit(
                        idempotency_key=entry_key,
                        user_id=user_id,
                        asset=asset_id,
                        amount=amount,
                        reference=key,
                    )
                    credited[user_id] = amount
                locked.allocation_status = PayoutAllocationStatus.ALLOCATED
                locked.allocation_note = ""
                locked.allocated_at = now
                locked.save(
                    update_fields=[
                        "asset_id",
                        "received_at",
                        "allocation_status",
                        "allocation_note",
                        "allocated_at",
                    ]
                )
    except DomainError as exc:
        # E.g. an amount the ledger cannot hold exactly, or a receipt booked before as another
        # asset: nothing was written; an operator reads the note.
        return _payout_hold(
            payout=payout,
            status=PayoutAllocationStatus.LEDGER_REFUSED,
            note=f"{exc.code}: {exc.message}",
            actor=actor,
        )
    if not shares:
        day = payout_score_day(payout=payout)[0].date().isoformat()
        return _payout_hold(
            payout=payout,
            status=PayoutAllocationStatus.NO_SCORES,
            note=f"no participant has a positive score on {day} (UTC); kept unallocated",
            actor=actor,
        )
    log.info(
        "payout_allocated",
        payout=key,
        campaign=campaign.key,
        users=len(credited),
        amount=str(payout.amount),
    )
    if actor is not None:
        audit_record(
            action="payout_allocate",
            actor=actor,
            target_type="payout",
            target_id=key,
            reason="allocate now (console)",
            payload={"users": len(credited), "amount": str(payout.amount)},
        )
    return PayoutAllocationResult(
        payout_id=payout.pk, status=PayoutAllocationStatus.ALLOCATED, credited=credited
    )


def payouts_allocate(*, limit: int = 200) -> list[PayoutAllocationResult]:
    """Try every payout not yet allocated (oldest first): held ones are retried, since a
    mapping or a late fill may have arrived; their audit event is written once."""
    # New payouts first, so a backlog of held ones never starves them.
    fresh = Payout.objects.filter(allocation_status=PayoutAllocationStatus.PENDING)
    held = Payout.objects.exclude(
        allocation_status__in=[PayoutAllocationStatus.PENDING, PayoutAllocationStatus.ALLOCATED]
    )
    ids: list[int] = []
    for qs in (fresh, held):
        room = limit - len(ids)
        if room > 0:
            ids += qs.order_by("block_number", "log_index").values_list("pk", flat=True)[:room]
    return [payout_allocate(payout_id=pk) for pk in ids]
