"""Output shapes of the public campaign API: HuFi's snake_case names, money as decimal strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.STR)
class DecimalStringField(serializers.Field):
    """A Decimal as its plain decimal string without trailing zeros ("1000", "0.5")."""

    def to_representation(self, value: Decimal) -> str:
        text = format(value.normalize(), "f")
        return text

    def to_internal_value(self, data: Any) -> Decimal:  # pragma: no cover - output only
        raise NotImplementedError


class CampaignListQuerySerializer(serializers.Serializer):
    status = serializers.CharField(required=False)
    exchange_name = serializers.CharField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)
    skip = serializers.IntegerField(required=False, min_value=0, default=0)


class CampaignOutputSerializer(serializers.Serializer):
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


class CampaignListOutputSerializer(serializers.Serializer):
    has_more = serializers.BooleanField()
    results = CampaignOutputSerializer(many=True)


class CampaignDetailOutputSerializer(CampaignOutputSerializer):
    manifest = serializers.JSONField()
    # Our wallet's membership: joined | joining | pending | failed | closed | null (never tried).
    join_status = serializers.CharField(allow_null=True)
    joined_at = serializers.DateTimeField(allow_null=True)
    # Rewards received on chain from this campaign's escrow, in the fund token.
    amount_received = DecimalStringField()
