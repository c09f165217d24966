"""Reads of the campaigns app.

Names differ across the boundary: HuFi names venues by ccxt id in lower case ("mexc",
"gate", "htx") and pairs as ccxt's unified spot symbol "BASE/QUOTE" in upper case
("HMT/USDT"). Our venues may say "Gate.io", "gateio", "hmt-usdt" or "HMT_USDT"; both sides
are normalized here before comparing.
"""

from __future__ import annotations

import re
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from campaigns.enums import CampaignStatus
from campaigns.exceptions import CampaignNotFound
from campaigns.models import Campaign, CampaignJoin, Payout

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
