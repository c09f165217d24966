"""factory_boy factories of the campaigns app."""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

import factory
from django.utils import timezone
from eth_utils import to_checksum_address

from campaigns.models import Campaign


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    chain_id = 137
    address = factory.LazyFunction(lambda: to_checksum_address("0x" + secrets.token_hex(20)))
    exchange_name = "mexc"
    symbol = "HMT/USDT"
    type = "MARKET_MAKING"
    start_date = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    end_date = factory.LazyFunction(lambda: timezone.now() + timedelta(days=6))
    fund_token = factory.LazyFunction(lambda: to_checksum_address("0x" + secrets.token_hex(20)))
    fund_token_symbol = "HMT"
    fund_token_decimals = 18
    fund_amount_base_units = str(700 * 10**18)
    fund_amount = Decimal(700)
    balance_base_units = str(700 * 10**18)
    balance = Decimal(700)
    daily_volume_target = Decimal(100000)
    status = "active"
    manifest = factory.LazyFunction(dict)
    synced_at = factory.LazyFunction(timezone.now)


def campaign_make(**kwargs: Any) -> Campaign:
    """A saved Campaign, typed as one (factory_boy's call is untyped)."""
    return cast(Campaign, CampaignFactory(**kwargs))
