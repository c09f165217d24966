"""factory_boy factories of the campaigns app."""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import factory
from django.utils import timezone
from eth_utils import to_checksum_address

from campaigns.models import Campaign, Payout
from campaigns.scoring import Fill
from exchanges.models import Exchange, MarketMakingPair, VenueAccount
from orders.models import MarketMakingOrder
from tests.exchanges.factories import ExchangeFactory, MarketMakingPairFactory, VenueAccountFactory


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
    oracle_fee_percent = Decimal(0)
    balance_base_units = str(700 * 10**18)
    balance = Decimal(700)
    daily_volume_target = Decimal(100000)
    status = "active"
    manifest = factory.LazyFunction(dict)
    synced_at = factory.LazyFunction(timezone.now)


def campaign_make(**kwargs: Any) -> Campaign:
    """A saved Campaign, typed as one (factory_boy's call is untyped)."""
    return cast(Campaign, CampaignFactory(**kwargs))


def order_make(
    *,
    user: Any,
    state: str = "running",
    exchange_id: str = "mexc",
    symbol: str = "HMT/USDT",
    state_changed_at: Any = None,
) -> MarketMakingOrder:
    """A saved order in `state` on (venue, pair), built directly: campaign tests need an
    order to exist in a state, not the payment lifecycle that leads there."""
    exchange: Exchange = ExchangeFactory.create(exchange_id=exchange_id)
    pair = MarketMakingPair.objects.filter(exchange=exchange, symbol=symbol).first()
    if pair is None:
        base, quote = symbol.split("/")
        pair = MarketMakingPairFactory.create(
            exchange=exchange, symbol=symbol, base_symbol=base, quote_symbol=quote
        )
    account = VenueAccount.objects.filter(exchange=exchange).first() or VenueAccountFactory.create(
        exchange=exchange
    )
    now = timezone.now()
    return MarketMakingOrder.objects.create(
        user=user,
        pair=pair,
        venue_account=account,
        state=state,
        state_changed_at=state_changed_at or now,
        memo="test-memo",
        memo_expires_at=now + timedelta(minutes=15),
        base_fee_asset_id=str(uuid.uuid4()),
        quote_fee_asset_id=str(uuid.uuid4()),
        required_base_withdrawal_fee=Decimal(0),
        required_quote_withdrawal_fee=Decimal(0),
        strategy_fee_percentage=Decimal("0.001"),
    )


def payout_make(
    *,
    campaign: Campaign,
    amount_base_units: int,
    block_time: datetime,
    log_index: int = 0,
    tx_hash: str | None = None,
) -> Payout:
    return Payout.objects.create(
        chain_id=campaign.chain_id,
        tx_hash=tx_hash or "0x" + secrets.token_hex(32),
        log_index=log_index,
        block_number=100,
        block_hash="0x" + secrets.token_hex(32),
        campaign=campaign,
        token_address=campaign.fund_token,
        from_address=campaign.address,
        to_address=to_checksum_address("0x" + "11" * 20),
        amount_base_units=str(amount_base_units),
        amount=Decimal(amount_base_units).scaleb(-campaign.fund_token_decimals),
        block_time=block_time,
    )


class FillBook:
    """Stands in for `campaigns.fills.order_fills_since`: fixture fills per order."""

    def __init__(self) -> None:
        self.fills: dict[str, list[Fill]] = defaultdict(list)
        self.calls: list[tuple[str, datetime]] = []

    def add(
        self,
        order: MarketMakingOrder,
        *,
        at: datetime,
        volume: Decimal | int | str,
        side: str = "buy",
        role: str = "maker",
    ) -> None:
        """A fill of `volume` quote at price 1 (so amount = volume) executed at `at`."""
        amount = Decimal(volume)
        self.fills[str(order.pk)].append(
            Fill(side=side, taker_or_maker=role, amount=amount, price=Decimal(1), executed_at=at)
        )

    def __call__(self, *, order_id: Any, since: datetime) -> list[Fill]:
        self.calls.append((str(order_id), since))
        return [
            f
            for f in self.fills[str(order_id)]
            if f.executed_at is not None and f.executed_at >= since
        ]
