"""Reads of the campaigns app.

Names differ across the boundary: HuFi names venues by ccxt id in lower case ("mexc",
"gate", "htx") and pairs as ccxt's unified spot symbol "BASE/QUOTE" in upper case
("HMT/USDT"). Our venues may say "Gate.io", "gateio", "hmt-usdt" or "HMT_USDT"; both sides
are normalized here before comparing.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from campaigns import fills as fills_seam
from campaigns.enums import CampaignStatus, ParticipationStatus
from campaigns.exceptions import CampaignNotFound
from campaigns.models import Allocation, Campaign, CampaignJoin, Participation, Payout
from campaigns.scoring import daily_reward, estimated_daily_reward, fills_score, fills_volume

# Old or display names of venues → the ccxt id HuFi uses.
EXCHANGE_ALIASES = {
    "gateio": "gate",
    "gate.io": "gate",
    "huobi": "htx",
    "huobipro": "htx",
    "okex": "okx",
    "bybit.com": "bybit",
}

_SEPARATORS = re.compile(r"[-_/ ]")


def normalize_exchange_name(name: str) -> str:
    key = name.strip().lower()
    return EXCHANGE_ALIASES.get(key, key)


def normalize_symbol(symbol: str) -> str:
    """ "hmt-usdt", "HMT_USDT", "HMT/USDT" → "HMT/USDT". A bare "HMTUSDT" cannot be split
    without market metadata and is returned upper-cased (it then matches nothing)."""
    text = symbol.strip().upper().split(":", 1)[0]  # drop a ccxt settle suffix
    parts = [p for p in _SEPARATORS.split(text) if p]
    return "/".join(parts) if len(parts) == 2 else text


def campaign_list(
    *, status: str | None = None, exchange_name: str | None = None
) -> QuerySet[Campaign]:
    qs = Campaign.objects.all()
    if status:
        qs = qs.filter(status=status)
    if exchange_name:
        qs = qs.filter(exchange_name=normalize_exchange_name(exchange_name))
    return qs.order_by("-start_date", "id")


def campaign_get(*, chain_id: int, address: str) -> Campaign:
    campaign = Campaign.objects.filter(chain_id=chain_id, address__iexact=address).first()
    if campaign is None:
        raise CampaignNotFound(f"campaign {chain_id}-{address} not found")
    return campaign


def campaign_matching(
    *, exchange_name: str, symbol: str, at: datetime | None = None
) -> QuerySet[Campaign]:
    """Active market-making campaigns running now on this venue and pair."""
    now = at or timezone.now()
    return Campaign.objects.filter(
        status=CampaignStatus.ACTIVE,
        type="MARKET_MAKING",
        exchange_name=normalize_exchange_name(exchange_name),
        symbol=normalize_symbol(symbol),
        start_date__lte=now,
        end_date__gt=now,
    ).order_by("end_date", "id")


def campaign_join_get(*, campaign: Campaign, wallet_address: str) -> CampaignJoin | None:
    return CampaignJoin.objects.filter(campaign=campaign, wallet_address=wallet_address).first()


def payout_list(*, campaign: Campaign | None = None) -> QuerySet[Payout]:
    qs = Payout.objects.select_related("campaign")
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    return qs.order_by("block_number", "log_index")


# ------------------------------------------------------------------------ participations


def participation_list(
    *, user_id: uuid.UUID | str | None = None, campaign: Campaign | None = None
) -> QuerySet[Participation]:
    qs = Participation.objects.select_related("campaign")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    return qs.order_by("-created_at", "id")


@dataclass
class JoinedCampaign:
    """One campaign a user takes part in through one or more orders, with the estimate.

    `estimated_daily_reward` (fund token per day) is HuFi's daily reward (the fund net of
    oracle fees over whole days) × min(volume / daily_volume_target, 1) × user_score /
    total_score over the last 24 hours (`scoring.py`), where
    `volume` and `total_score` are the totals of *all our joined participations* in the
    campaign (what our wallet does for HuFi): HuFi does not tell us the other participants'
    scores, so this is an upper bound — the share assumes no outside competition. None when
    the campaign has no daily volume target (not a market-making campaign) or its oracle
    fees are not known yet.
    """

    campaign: Campaign
    participations: list[Participation] = field(default_factory=list)
    campaign_window_volume: Decimal = Decimal(0)
    campaign_window_score: Decimal = Decimal(0)
    rewards_received: Decimal = Decimal(0)
    estimated_daily_reward: Decimal | None = None

    @property
    def status(self) -> str:
        statuses = {p.status for p in self.participations}
        for status in (ParticipationStatus.JOINED, ParticipationStatus.FAILED):
            if status in statuses:
                return str(status)
        return str(ParticipationStatus.LEFT)

    @property
    def joined_at(self) -> datetime | None:
        times = [p.joined_at for p in self.participations if p.joined_at is not None]
        return min(times) if times else None

    def _sum(self, name: str, *, joined_only: bool = False) -> Decimal:
        return sum(
            (
                getattr(p, name)
                for p in self.participations
                if not joined_only or p.status == ParticipationStatus.JOINED
            ),
            Decimal(0),
        )

    @property
    def volume(self) -> Decimal:
        return self._sum("volume")

    @property
    def score(self) -> Decimal:
        return self._sum("score")

    @property
    def window_volume(self) -> Decimal:
        return self._sum("window_volume", joined_only=True)

    @property
    def window_score(self) -> Decimal:
        return self._sum("window_score", joined_only=True)

    @property
    def scored_at(self) -> datetime | None:
        times = [p.scored_at for p in self.participations if p.scored_at is not None]
        return max(times) if times else None


def joined_campaigns(*, user_id: uuid.UUID | str) -> list[JoinedCampaign]:
    """The user's campaigns (newest participation first) with scores and estimates.

    Reads only stored numbers (the participations task refreshes them): three queries
    whatever the number of participants.
    """
    rows: dict[int, JoinedCampaign] = {}
    for p in participation_list(user_id=user_id):
        rows.setdefault(p.campaign_id, JoinedCampaign(campaign=p.campaign)).participations.append(p)
    if not rows:
        return []
    totals = (
        Participation.objects.filter(campaign_id__in=rows, status=ParticipationStatus.JOINED)
        .values("campaign_id")
        .annotate(volume=Sum("window_volume"), score=Sum("window_score"))
    )
    for t in totals:
        row = rows[t["campaign_id"]]
        row.campaign_window_volume = t["volume"] or Decimal(0)
        row.campaign_window_score = t["score"] or Decimal(0)
    received = (
        Allocation.objects.filter(user_id=user_id, payout__campaign_id__in=rows)
        .values("payout__campaign_id")
        .annotate(total=Sum("amount"))
    )
    for r in received:
        rows[r["payout__campaign_id"]].rewards_received = r["total"] or Decimal(0)
    for row in rows.values():
        row.estimated_daily_reward = _estimate(row)
    return list(rows.values())


def _estimate(row: JoinedCampaign) -> Decimal | None:
    c = row.campaign
    if c.daily_volume_target is None or c.daily_volume_target <= 0:
        return None
    if row.status != ParticipationStatus.JOINED:
        return Decimal(0)
    if c.oracle_fee_percent is None:
        # Fees not read yet (the launcher's detail): an estimate on the gross fund would
        # promise more than HuFi pays, so none until the next sync reads them.
        return None
    daily = daily_reward(
        fund_amount=c.fund_amount,
        oracle_fee_percent=c.oracle_fee_percent,
        start=c.start_date,
        end=c.end_date,
        decimals=c.fund_token_decimals,
    )
    return estimated_daily_reward(
        daily=daily,
        volume=row.campaign_window_volume,
        daily_volume_target=c.daily_volume_target,
        user_score=row.window_score,
        total_score=row.campaign_window_score,
        decimals=c.fund_token_decimals,
    )


# ------------------------------------------------------------------------ payouts, allocations


def payout_score_day(*, payout: Payout) -> tuple[datetime, datetime]:
    """The UTC day whose scores share this payout: the block's day, minus the configured
    offset (HUFI_PAYOUT_SCORE_DAY_OFFSET days; 1 if HuFi pays a day after it closes)."""
    block_day = payout.block_time.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = block_day - timedelta(days=settings.HUFI_PAYOUT_SCORE_DAY_OFFSET)
    return start, start + timedelta(days=1)


def participation_window_fills_score(
    *, participation: Participation, start: datetime, end: datetime
) -> tuple[Decimal, Decimal]:
    """(volume, score) of one participation's fills in [start, end) clipped to its
    [joined_at, left_at) — only fills made while the order took part count."""
    if participation.joined_at is None:
        return Decimal(0), Decimal(0)
    since = max(start, participation.joined_at)
    until = min(end, participation.left_at) if participation.left_at else end
    if since >= until:
        return Decimal(0), Decimal(0)
    fills = fills_seam.fills_between(
        fills_seam.order_fills_since(order_id=participation.order_id, since=since),
        start=since,
        end=until,
    )
    return fills_volume(fills), fills_score(fills)


def payout_day_scores(*, payout: Payout) -> dict[str, Decimal]:
    """User id (str) → HuFi-weighted score over the payout's day, summed over their orders."""
    start, end = payout_score_day(payout=payout)
    parts = Participation.objects.filter(
        campaign_id=payout.campaign_id, joined_at__isnull=False, joined_at__lt=end
    ).filter(Q(left_at__isnull=True) | Q(left_at__gt=start))
    scores: dict[str, Decimal] = defaultdict(Decimal)
    for p in parts.order_by("id"):
        _, score = participation_window_fills_score(participation=p, start=start, end=end)
        if score > 0:
            scores[str(p.user_id)] += score
    return dict(scores)


def allocation_list(*, user_id: uuid.UUID | str | None = None) -> QuerySet[Allocation]:
    qs = Allocation.objects.select_related("payout", "payout__campaign")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return qs.order_by("-payout__block_time", "-id")
