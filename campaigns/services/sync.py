"""Campaign sync from the launcher.

`campaign_sync` upserts active campaigns by (chain_id, address), reads each new one's
detail once for its oracle fees (the listing has none; the reward estimate needs them), and
re-reads the ones that fell off the active list to record how they ended. An outage raises `HufiUnavailable`
after one short-timeout attempt; the beat simply tries again next hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.enums import (
    CampaignStatus,
)
from campaigns.exceptions import HufiUnavailable
from campaigns.hufi.errors import HufiError
from campaigns.hufi.gateway import launcher_client
from campaigns.hufi.launcher import CampaignLauncherClient, HufiCampaign, parse_campaign
from campaigns.models import (
    Campaign,
)

log = structlog.get_logger(__name__)


@dataclass
class SyncResult:
    chain_id: int
    seen: int = 0
    created: int = 0
    updated: int = 0
    ended: int = 0
    errors: list[str] = field(default_factory=list)


def _campaign_fields(c: HufiCampaign, now: datetime) -> dict[str, object]:
    return {
        "exchange_name": c.exchange_name,
        "symbol": c.symbol,
        "type": c.type,
        "start_date": c.start_date,
        "end_date": c.end_date,
        "fund_token": c.fund_token,
        "fund_token_symbol": c.fund_token_symbol,
        "fund_token_decimals": c.fund_token_decimals,
        "fund_amount_base_units": str(c.fund_amount_base_units),
        "fund_amount": c.fund_amount,
        "balance_base_units": str(c.balance_base_units),
        "balance": c.balance,
        "daily_volume_target": c.daily_volume_target,
        "status": c.status if c.status in CampaignStatus.values else CampaignStatus.ACTIVE,
        "manifest": c.manifest,
        "synced_at": now,
        # Only the detail carries fees: a listing never erases what a detail told us.
        **(
            {"oracle_fee_percent": c.oracle_fee_percent} if c.oracle_fee_percent is not None else {}
        ),
    }


def _campaign_upsert(*, c: HufiCampaign, now: datetime) -> tuple[Campaign, bool]:
    fields = _campaign_fields(c, now)
    if c.status != CampaignStatus.ACTIVE:
        fields["ended_at"] = now
    with transaction.atomic():
        campaign, created = Campaign.objects.update_or_create(
            chain_id=c.chain_id, address=c.address, defaults=fields
        )
    return campaign, created


def campaign_sync(
    *, chain_id: int | None = None, client: CampaignLauncherClient | None = None
) -> SyncResult:
    chain = chain_id if chain_id is not None else settings.HUFI_CHAIN_ID
    result = SyncResult(chain_id=chain)
    own_client = client is None
    launcher = client or launcher_client()
    now = timezone.now()
    try:
        try:
            raws = list(
                launcher.iter_raw(
                    chain_id=chain,
                    status=CampaignStatus.ACTIVE,
                    limit=settings.HUFI_SYNC_PAGE_LIMIT,
                )
            )
        except HufiError as exc:
            log.warning("campaign_sync_failed", chain_id=chain, error=exc.message)
            raise HufiUnavailable(f"campaign launcher: {exc.message}") from exc

        seen: set[str] = set()
        for raw in raws:
            try:
                parsed = parse_campaign(raw)
            except HufiError as exc:
                result.errors.append(exc.message)
                continue
            seen.add(parsed.address)
            campaign, created = _campaign_upsert(c=parsed, now=now)
            if campaign.oracle_fee_percent is None:
                # Once per campaign: the listing has no fees, the detail has them.
                try:
                    _campaign_upsert(
                        c=launcher.get_campaign(chain_id=chain, address=parsed.address), now=now
                    )
                except HufiError as exc:
                    result.errors.append(f"{campaign.key} fees: {exc.message}")
            result.seen += 1
            if created:
                result.created += 1
            else:
                result.updated += 1

        # Active here but no longer listed as active: ask HuFi how each one ended.
        gone = Campaign.objects.filter(chain_id=chain, status=CampaignStatus.ACTIVE).exclude(
            address__in=seen
        )
        for campaign in gone:
            try:
                detail = launcher.get_campaign(chain_id=chain, address=campaign.address)
            except HufiError as exc:
                result.errors.append(f"{campaign.key}: {exc.message}")
                continue
            _campaign_upsert(c=detail, now=now)
            if detail.status != CampaignStatus.ACTIVE:
                result.ended += 1
    finally:
        if own_client:
            launcher.close()
    log.info(
        "campaign_synced",
        chain_id=chain,
        seen=result.seen,
        created=result.created,
        updated=result.updated,
        ended=result.ended,
        errors=len(result.errors),
    )
    return result
