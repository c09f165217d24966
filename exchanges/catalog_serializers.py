"""Serializers of the admin catalogs and the admin exchange reads (CONTRACT field names)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exchanges.catalog_selectors import HAS_KEYS
from exchanges.selectors import decimal_str
from exchanges.serializers import (
    PRICE_DIGITS,
    ArbitragePairOutputSerializer,
    DecimalStringField,
    ExchangeAdminOutputSerializer,
    OptionalDecimalField,
    SimplyGrowTokenOutputSerializer,
    SpotPairOutputSerializer,
    _PairAssetFieldsMixin,
)

APY_DIGITS = (12, 10)
__all__ = ["ArbitragePairOutputSerializer", "SimplyGrowTokenOutputSerializer"]


# ---------------------------------------------------------------------------- simply grow


class SimplyGrowTokenAddInputSerializer(serializers.Serializer[Any]):
    asset_id = serializers.UUIDField()
    name = serializers.CharField(max_length=100)
    symbol = serializers.CharField(max_length=20)
    icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    apy = OptionalDecimalField(digits=APY_DIGITS)
    enable = serializers.BooleanField(required=False)


class SimplyGrowTokenUpdateInputSerializer(serializers.Serializer[Any]):
    asset_id = serializers.UUIDField(required=False)
    name = serializers.CharField(required=False, max_length=100)
    symbol = serializers.CharField(required=False, max_length=20)
    icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    apy = OptionalDecimalField(digits=APY_DIGITS)
    enable = serializers.BooleanField(required=False)


# ---------------------------------------------------------------------------- arbitrage


class ArbitragePairAddInputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(required=False)
    symbol = serializers.RegexField(r"^[A-Za-z0-9._-]{1,20}/[A-Za-z0-9._-]{1,20}$", max_length=41)
    base_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    quote_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    base_asset_id = serializers.UUIDField()
    quote_asset_id = serializers.UUIDField()
    base_icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    quote_icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    base_price = OptionalDecimalField(digits=PRICE_DIGITS)
    target_price = OptionalDecimalField(digits=PRICE_DIGITS)
    base_exchange_id = serializers.CharField(max_length=32)
    target_exchange_id = serializers.CharField(max_length=32)
    enable = serializers.BooleanField(required=False)


class ArbitragePairUpdateInputSerializer(ArbitragePairAddInputSerializer):
    symbol = serializers.CharField(required=False, max_length=41)  # type: ignore[assignment]  # optional on update: a CharField over the add's RegexField
    base_asset_id = serializers.UUIDField(required=False)
    quote_asset_id = serializers.UUIDField(required=False)
    base_exchange_id = serializers.CharField(required=False, max_length=32)
    target_exchange_id = serializers.CharField(required=False, max_length=32)


# ---------------------------------------------------------------------------- spot pairs


class SpotPairAddInputSerializer(_PairAssetFieldsMixin):
    id = serializers.UUIDField(required=False)
    exchange_id = serializers.CharField(max_length=32)
    symbol = serializers.RegexField(r"^[A-Za-z0-9._-]{1,20}/[A-Za-z0-9._-]{1,20}$", max_length=41)
    base_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    quote_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    base_asset_id = serializers.UUIDField()
    quote_asset_id = serializers.UUIDField()
    amount_significant_figures = serializers.IntegerField(required=False, min_value=0, max_value=18)
    price_significant_figures = serializers.IntegerField(required=False, min_value=0, max_value=18)


class SpotPairUpdateInputSerializer(SpotPairAddInputSerializer):
    exchange_id = serializers.CharField(required=False, max_length=32)
    symbol = serializers.CharField(required=False, max_length=41)  # type: ignore[assignment]  # optional on update: a CharField over the add's RegexField
    base_asset_id = serializers.UUIDField(required=False)
    quote_asset_id = serializers.UUIDField(required=False)


SpotPairAdminOutputSerializer = SpotPairOutputSerializer


# ---------------------------------------------------------------------------- admin reads


class FeeOverrideOutputSerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(choices=["spot", "market_making"])
    id = serializers.UUIDField()
    symbol = serializers.CharField()
    exchange_id = serializers.CharField()
    custom_fee_rate = DecimalStringField()


class RemoveAllOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    removed = serializers.IntegerField()


@extend_schema_field(
    {
        "oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["emulated"]}],
        "nullable": True,
        "description": "ccxt's answer: true, false, 'emulated', or null (unknown)",
    }
)
class _CapabilityField(serializers.Field[Any, Any, Any, Any]):  # ccxt's raw answer
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return value


class ExchangeCapabilitiesOutputSerializer(serializers.Serializer[Any]):
    """ccxt `has` for the capabilities the service uses (catalog_selectors.HAS_KEYS)."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        return {key: _CapabilityField() for key in HAS_KEYS}


class ExchangeDescriptionOutputSerializer(serializers.Serializer[Any]):
    """The subset of ccxt's `describe()` the admin page shows, for a configured exchange."""

    exchange_id = serializers.CharField()
    kind = serializers.CharField()
    id = serializers.CharField(help_text="ccxt exchange id (or 'paper')")
    name = serializers.CharField()
    countries = serializers.ListField(child=serializers.CharField())
    version = serializers.CharField(allow_null=True)
    rateLimit = serializers.IntegerField(allow_null=True)
    certified = serializers.BooleanField()
    pro = serializers.BooleanField()
    has = ExchangeCapabilitiesOutputSerializer()
    timeframes = serializers.ListField(child=serializers.CharField())
    urls = serializers.DictField(child=serializers.JSONField())
    requiredCredentials = serializers.DictField(child=serializers.BooleanField())


class ExchangeMarketOutputSerializer(serializers.Serializer[Any]):
    symbol = serializers.CharField()
    base = serializers.CharField()
    quote = serializers.CharField()
    active = serializers.BooleanField()
    price_increment = DecimalStringField()
    amount_increment = DecimalStringField()
    min_amount = DecimalStringField(allow_null=True)
    max_amount = DecimalStringField(allow_null=True)
    min_notional = DecimalStringField(allow_null=True)
    maker_fee = DecimalStringField()
    taker_fee = DecimalStringField()


class ExchangeSupportedOutputSerializer(ExchangeAdminOutputSerializer):
    pass


@extend_schema_field(OpenApiTypes.STR)
class _Str(serializers.Field[Decimal, Any, str | None, Any]):
    def to_representation(self, value: Decimal) -> str | None:
        return decimal_str(value)


class TickerPairOutputSerializer(serializers.Serializer[Any]):
    """One row of `/market/tickers/pairs`: the pair's venue and symbol, then ccxt's ticker."""

    exchange = serializers.CharField()
    symbol = serializers.CharField()
    type = serializers.ChoiceField(choices=["spot", "market_making"])
    timestamp = serializers.IntegerField(allow_null=True)
    datetime = serializers.CharField(allow_null=True)
    bid = serializers.CharField(allow_null=True)
    ask = serializers.CharField(allow_null=True)
    last = serializers.CharField(allow_null=True)
    close = serializers.CharField(allow_null=True)
    baseVolume = serializers.CharField(allow_null=True)
    quoteVolume = serializers.CharField(allow_null=True)
    error = serializers.CharField(allow_null=True, help_text="why this venue gave no ticker")
