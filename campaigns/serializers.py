"""Output shapes of the public campaign API: HuFi's snake_case names, money as decimal strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.STR)
class DecimalStringField(serializers.Field[Decimal, Any, str, Any]):
    """A Decimal as its plain decimal string without trailing zeros ("1000", "0.5")."""

    def to_representation(self, value: Decimal) -> str:
        text = format(value.normalize(), "f")
        return text

    def to_internal_value(self, data: Any) -> Decimal:  # pragma: no cover - output only
        raise NotImplementedError


class CampaignListQuerySerializer(serializers.Serializer[Any]):
    status = serializers.CharField(required=False)
    exchange_name = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    # Bounded: an OFFSET past 2^63 overflows the database's bigint (a 500 before issue 19).
    skip = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000, default=0)


class CampaignOutputSerializer(serializers.Serializer[Any]):
    chain_id = serializers.IntegerField()
    address = serializers.CharField()
    exchange_name = serializers.CharField()
    symbol = serializers.CharField()
    type = serializers.CharField()
    start_date = serializers.DateTimeField()
    end_date = serializers.DateTimeField()
    fund_token = serializers.CharField()
    fund_token_symbol = serializers.CharField()
    fund_token_decimals = serializers.IntegerField()
    fund_amount = DecimalStringField()
    balance = DecimalStringField()
    daily_volume_target = DecimalStringField(allow_null=True)
    status = serializers.CharField()
    synced_at = serializers.DateTimeField()


class CampaignListOutputSerializer(serializers.Serializer[Any]):
    has_more = serializers.BooleanField()
    results = CampaignOutputSerializer(many=True)


class CampaignDetailOutputSerializer(CampaignOutputSerializer):
    manifest = serializers.JSONField()
    # Our wallet's membership: joined | joining | pending | failed | closed | null (never tried).
    join_status = serializers.CharField(allow_null=True)
    joined_at = serializers.DateTimeField(allow_null=True)
    # Rewards received on chain from this campaign's escrow, in the fund token.
    amount_received = DecimalStringField()


class JoinedCampaignOrderOutputSerializer(serializers.Serializer[Any]):
    order_id = serializers.UUIDField()
    # joined | failed | left
    status = serializers.CharField()
    joined_at = serializers.DateTimeField(allow_null=True)
    left_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    attempts = serializers.IntegerField()
    # Quote-token volume and HuFi-weighted score of the order's fills since joining.
    volume = DecimalStringField()
    score = DecimalStringField()


class JoinedCampaignOutputSerializer(serializers.Serializer[Any]):
    chain_id = serializers.IntegerField(source="campaign.chain_id")
    address = serializers.CharField(source="campaign.address")
    exchange_name = serializers.CharField(source="campaign.exchange_name")
    symbol = serializers.CharField(source="campaign.symbol")
    type = serializers.CharField(source="campaign.type")
    start_date = serializers.DateTimeField(source="campaign.start_date")
    end_date = serializers.DateTimeField(source="campaign.end_date")
    campaign_status = serializers.CharField(source="campaign.status")
    fund_token = serializers.CharField(source="campaign.fund_token")
    fund_token_symbol = serializers.CharField(source="campaign.fund_token_symbol")
    fund_amount = DecimalStringField(source="campaign.fund_amount")
    daily_volume_target = DecimalStringField(source="campaign.daily_volume_target", allow_null=True)
    # joined if any of the user's orders is joined, else failed, else left.
    status = serializers.CharField()
    joined_at = serializers.DateTimeField(allow_null=True)
    volume = DecimalStringField()
    score = DecimalStringField()
    # The last 24 hours: the user's and all our joined participants' (the share's denominator).
    window_volume = DecimalStringField()
    window_score = DecimalStringField()
    campaign_window_volume = DecimalStringField()
    campaign_window_score = DecimalStringField()
    # Fund token per day; null without a daily volume target. Upper bound (see docs).
    estimated_daily_reward = DecimalStringField(allow_null=True)
    # Fund token credited to the user from this campaign's payouts so far.
    rewards_received = DecimalStringField()
    scored_at = serializers.DateTimeField(allow_null=True)
    orders = JoinedCampaignOrderOutputSerializer(many=True, source="participations")


class JoinedCampaignListOutputSerializer(serializers.Serializer[Any]):
    results = JoinedCampaignOutputSerializer(many=True)


class RewardListQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    # Bounded: an OFFSET past 2^63 overflows the database's bigint (a 500 before issue 19).
    skip = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000, default=0)


class RewardOutputSerializer(serializers.Serializer[Any]):
    chain_id = serializers.IntegerField(source="payout.chain_id")
    address = serializers.CharField(source="payout.campaign.address")
    exchange_name = serializers.CharField(source="payout.campaign.exchange_name")
    symbol = serializers.CharField(source="payout.campaign.symbol")
    tx_hash = serializers.CharField(source="payout.tx_hash")
    log_index = serializers.IntegerField(source="payout.log_index")
    block_time = serializers.DateTimeField(source="payout.block_time")
    fund_token_symbol = serializers.CharField(source="payout.campaign.fund_token_symbol")
    # The Mixin asset the reward was credited in (the user's ledger balance).
    asset_id = serializers.CharField()
    # The user's score over the payout's day and the amount credited to them.
    score = DecimalStringField()
    amount = DecimalStringField()
    payout_amount = DecimalStringField(source="payout.amount")
    credited_at = serializers.DateTimeField(source="created_at")


class RewardListOutputSerializer(serializers.Serializer[Any]):
    has_more = serializers.BooleanField()
    results = RewardOutputSerializer(many=True)
