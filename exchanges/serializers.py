"""exchanges: input and output serializers (field names are CONTRACT.md's). No domain logic here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exchanges.enums import ExchangeKind
from exchanges.models import (
    PRICE_MAX_DIGITS,
    PRICE_PLACES,
    RATE_MAX_DIGITS,
    RATE_PLACES,
    exchange_id_validator,
)
from exchanges.selectors import OHLCV_MAX_LIMIT, TIMEFRAMES, decimal_str

PRICE_DIGITS = (PRICE_MAX_DIGITS, PRICE_PLACES)
RATE_DIGITS = (RATE_MAX_DIGITS, RATE_PLACES)

MASK = "********"


@extend_schema_field(OpenApiTypes.STR)
class DecimalStringField(serializers.Field[Decimal, Any, str | None, Any]):
    """Renders a Decimal as a plain decimal string (null stays null)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str | None:
        return decimal_str(value)


class OptionalDecimalField(serializers.DecimalField):
    """Accepts a number or decimal string; "" and null mean "not set" (the legacy UI sends "")."""

    def __init__(self, *, digits: tuple[int, int], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(
            max_digits=digits[0],
            decimal_places=digits[1],
            coerce_to_string=True,
            min_value=Decimal(0),
            **kwargs,
        )

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "":
            return True, None
        return super().validate_empty_values(data)


class FeeRateField(OptionalDecimalField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(digits=RATE_DIGITS, max_value=Decimal("0.9999999999"), **kwargs)


# ---------------------------------------------------------------------------- public


class ExchangeOutputSerializer(serializers.Serializer[Any]):
    exchange_id = serializers.CharField()
    name = serializers.CharField()
    icon_url = serializers.CharField()
    enable = serializers.BooleanField()


class PairOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    symbol = serializers.CharField()
    base_symbol = serializers.CharField()
    quote_symbol = serializers.CharField()
    base_asset_id = serializers.UUIDField()
    base_icon_url = serializers.CharField(source="base_asset.icon_url")
    base_chain_id = serializers.UUIDField(source="base_asset.chain_id", allow_null=True)
    base_chain_icon_url = serializers.CharField(source="base_asset.chain_icon_url")
    quote_asset_id = serializers.UUIDField()
    quote_icon_url = serializers.CharField(source="quote_asset.icon_url")
    quote_chain_id = serializers.UUIDField(source="quote_asset.chain_id", allow_null=True)
    quote_chain_icon_url = serializers.CharField(source="quote_asset.chain_icon_url")
    base_price = serializers.SerializerMethodField()
    target_price = serializers.SerializerMethodField()
    exchange_id = serializers.CharField()
    custom_fee_rate = DecimalStringField(allow_null=True)
    min_order_amount = DecimalStringField(allow_null=True)
    max_order_amount = DecimalStringField(allow_null=True)
    enable = serializers.BooleanField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_base_price(self, pair: Any) -> str | None:
        # The pair's own reference price, else the registry's USD price of the asset.
        return decimal_str(
            pair.base_price if pair.base_price is not None else pair.base_asset.price_usd
        )

    @extend_schema_field({"type": "string", "nullable": True})
    def get_target_price(self, pair: Any) -> str | None:
        return decimal_str(
            pair.target_price if pair.target_price is not None else pair.quote_asset.price_usd
        )


class MarketMakingPairOutputSerializer(PairOutputSerializer):
    pass


class SpotPairOutputSerializer(PairOutputSerializer):
    amount_significant_figures = serializers.IntegerField()
    price_significant_figures = serializers.IntegerField()


class SimplyGrowTokenOutputSerializer(serializers.Serializer[Any]):
    asset_id = serializers.UUIDField()
    name = serializers.CharField()
    symbol = serializers.CharField()
    icon_url = serializers.CharField()
    apy = DecimalStringField()
    enable = serializers.BooleanField()


class ArbitragePairOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    symbol = serializers.CharField()
    base_symbol = serializers.CharField()
    quote_symbol = serializers.CharField()
    base_asset_id = serializers.UUIDField()
    base_icon_url = serializers.CharField(source="base_asset.icon_url")
    quote_asset_id = serializers.UUIDField()
    quote_icon_url = serializers.CharField(source="quote_asset.icon_url")
    base_price = serializers.SerializerMethodField()
    target_price = serializers.SerializerMethodField()
    base_exchange_id = serializers.CharField()
    target_exchange_id = serializers.CharField()
    enable = serializers.BooleanField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_base_price(self, pair: Any) -> str | None:
        price = pair.base_price if pair.base_price is not None else pair.base_asset.price_usd
        return decimal_str(price)

    @extend_schema_field({"type": "string", "nullable": True})
    def get_target_price(self, pair: Any) -> str | None:
        price = pair.target_price if pair.target_price is not None else pair.quote_asset.price_usd
        return decimal_str(price)


class GrowSimplyGrowSerializer(serializers.Serializer[Any]):
    tokens = SimplyGrowTokenOutputSerializer(many=True)


class GrowArbitrageSerializer(serializers.Serializer[Any]):
    pairs = ArbitragePairOutputSerializer(many=True)


class GrowMarketMakingSerializer(serializers.Serializer[Any]):
    pairs = MarketMakingPairOutputSerializer(many=True)
    exchanges = ExchangeOutputSerializer(many=True)


class GrowInfoOutputSerializer(serializers.Serializer[Any]):
    exchanges = ExchangeOutputSerializer(many=True)
    simply_grow = GrowSimplyGrowSerializer()
    arbitrage = GrowArbitrageSerializer()
    market_making = GrowMarketMakingSerializer()


class SpotInfoOutputSerializer(serializers.Serializer[Any]):
    trading_pairs = SpotPairOutputSerializer(many=True)


class MarketExchangeQuerySerializer(serializers.Serializer[Any]):
    exchange = serializers.CharField(max_length=32)


class MarketTickersQuerySerializer(serializers.Serializer[Any]):
    exchange = serializers.CharField(max_length=32)
    symbols = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate_symbols(self, value: str) -> list[str]:
        symbols = [s.strip() for s in value.split(",") if s.strip()]
        if len(symbols) > 100:
            raise serializers.ValidationError("at most 100 symbols per request.")
        return symbols


class MarketOhlcvQuerySerializer(serializers.Serializer[Any]):
    exchange = serializers.CharField(max_length=32)
    symbol = serializers.CharField(max_length=41)
    timeframe = serializers.ChoiceField(choices=TIMEFRAMES, default="1m")
    since = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    limit = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=OHLCV_MAX_LIMIT
    )


# ---------------------------------------------------------------------------- admin: keys


class KeyPairOutputSerializer(serializers.Serializer[Any]):
    publicKey = serializers.CharField(
        help_text="libsodium Box (X25519) public key, standard base64"
    )
    encoding = serializers.CharField()
    algorithm = serializers.CharField()


class ExchangeKeyOutputSerializer(serializers.Serializer[Any]):
    key_id = serializers.IntegerField(source="pk")
    exchange = serializers.CharField(source="exchange_id")
    exchange_index = serializers.IntegerField(source="index")
    account_ref = serializers.CharField()
    name = serializers.CharField()
    api_key = serializers.SerializerMethodField()
    api_secret = serializers.SerializerMethodField()
    api_passphrase = serializers.SerializerMethodField()
    read_only = serializers.BooleanField()  # type: ignore[assignment]  # a field, not Field.read_only
    enabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def get_api_key(self, account: Any) -> str:
        return f"{MASK}{account.api_key_hint}"

    def get_api_secret(self, account: Any) -> str:
        return MASK

    def get_api_passphrase(self, account: Any) -> str:
        return MASK if account.api_passphrase_encrypted else ""


class ExchangeKeyCreateInputSerializer(serializers.Serializer[Any]):
    exchange = serializers.CharField(max_length=32)
    exchange_index = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=255
    )
    name = serializers.CharField(max_length=100)
    api_key = serializers.CharField(max_length=1024, trim_whitespace=True)
    api_secret = serializers.CharField(
        max_length=16384,
        trim_whitespace=True,
        help_text="crypto_box_seal of the secret to publicKey of /admin/exchanges/key-pair, base64",
    )
    api_passphrase = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=4096,
        help_text="optional (OKX, KuCoin, ...): sealed like api_secret",
    )
    read_only = serializers.BooleanField(required=False, default=False)  # type: ignore[assignment]  # a field, not Field.read_only


# ---------------------------------------------------------------------------- admin: fees


class FeeSettingsOutputSerializer(serializers.Serializer[Any]):
    spot_fee = DecimalStringField()
    market_making_fee = DecimalStringField()
    enable_spot_fee = serializers.BooleanField()
    enable_market_making_fee = serializers.BooleanField()


class FeeSettingsUpdateInputSerializer(serializers.Serializer[Any]):
    spot_fee = FeeRateField(allow_null=False)
    market_making_fee = FeeRateField(allow_null=False)
    enable_spot_fee = serializers.BooleanField(required=False)
    enable_market_making_fee = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = {k: v for k, v in attrs.items() if v is not None}
        if not attrs:
            raise serializers.ValidationError("send at least one fee setting.")
        return attrs


# ---------------------------------------------------------------------------- admin: pairs


class _PairAssetFieldsMixin(serializers.Serializer[Any]):
    base_icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    base_chain_id = serializers.UUIDField(required=False, allow_null=True)
    base_chain_icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    quote_icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    quote_chain_id = serializers.UUIDField(required=False, allow_null=True)
    quote_chain_icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    base_price = OptionalDecimalField(digits=PRICE_DIGITS)
    target_price = OptionalDecimalField(digits=PRICE_DIGITS)
    custom_fee_rate = FeeRateField()
    min_order_amount = OptionalDecimalField(digits=PRICE_DIGITS)
    max_order_amount = OptionalDecimalField(digits=PRICE_DIGITS)
    enable = serializers.BooleanField(required=False)

    def to_internal_value(self, data: Any) -> Any:
        # The legacy UI sends "" for an unknown chain id.
        if isinstance(data, dict):
            data = {
                k: (None if k.endswith("_chain_id") and v == "" else v) for k, v in data.items()
            }
        return super().to_internal_value(data)


class MarketMakingPairCreateInputSerializer(_PairAssetFieldsMixin):
    id = serializers.UUIDField(required=False)
    exchange_id = serializers.CharField(max_length=32)
    symbol = serializers.RegexField(r"^[A-Za-z0-9._-]{1,20}/[A-Za-z0-9._-]{1,20}$", max_length=41)
    base_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    quote_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    base_asset_id = serializers.UUIDField()
    quote_asset_id = serializers.UUIDField()


class MarketMakingPairUpdateInputSerializer(_PairAssetFieldsMixin):
    # Identity fields are accepted only unchanged (the service says why); handy for UIs that send the whole row.
    id = serializers.UUIDField(required=False)
    exchange_id = serializers.CharField(required=False, max_length=32)
    symbol = serializers.CharField(required=False, max_length=41)
    base_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    quote_symbol = serializers.CharField(required=False, allow_blank=True, max_length=20)
    base_asset_id = serializers.UUIDField(required=False)
    quote_asset_id = serializers.UUIDField(required=False)


# ---------------------------------------------------------------------------- admin: exchanges


class ExchangeAdminOutputSerializer(ExchangeOutputSerializer):
    kind = serializers.CharField()
    ccxt_id = serializers.CharField()
    options = serializers.DictField()
    ticker_cache_seconds = serializers.IntegerField()
    ohlcv_cache_seconds = serializers.IntegerField()
    markets_cache_seconds = serializers.IntegerField()


class _ExchangeFieldsMixin(serializers.Serializer[Any]):
    icon_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    enable = serializers.BooleanField(required=False)
    kind = serializers.ChoiceField(choices=ExchangeKind.choices, required=False)
    ccxt_id = serializers.CharField(required=False, allow_blank=True, max_length=32)
    options = serializers.DictField(required=False)
    ticker_cache_seconds = serializers.IntegerField(required=False, min_value=0, max_value=3600)
    ohlcv_cache_seconds = serializers.IntegerField(required=False, min_value=0, max_value=3600)
    markets_cache_seconds = serializers.IntegerField(required=False, min_value=0, max_value=86400)


class ExchangeCreateInputSerializer(_ExchangeFieldsMixin):
    exchange_id = serializers.CharField(max_length=32, validators=[exchange_id_validator])
    name = serializers.CharField(max_length=100)


class ExchangeUpdateInputSerializer(_ExchangeFieldsMixin):
    exchange_id = serializers.CharField(required=False, max_length=32)
    name = serializers.CharField(required=False, max_length=100)
