"""Input and output serializers of the user-order API (CONTRACT.md field names)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.serializers import LedgerEntryOutputSerializer
from mrmarket.money import money_str
from orders.enums import PaymentStatus
from strategy.serializers import (
    StrategyHistoryRowOutputSerializer,
    StrategyIntentOutputSerializer,
    StrategyOpenOrderOutputSerializer,
    StrategyTradeOutputSerializer,
)

_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


class OrderIntentInputSerializer(serializers.Serializer[Any]):
    marketMakingPairId = serializers.UUIDField()
    userId = serializers.CharField(required=False, allow_blank=True)
    strategy = serializers.DictField(required=False, allow_null=True)
    rewardAddress = serializers.CharField(required=False, allow_blank=True, default="")

    def validate_rewardAddress(self, value: str) -> str:  # noqa: N802 (contract field name)
        if value and not _EVM_ADDRESS.match(value):
            raise serializers.ValidationError("must be a 0x-prefixed 20-byte EVM address")
        return value


class OrderIntentOutputSerializer(serializers.Serializer[Any]):
    orderId = serializers.UUIDField()
    memo = serializers.CharField()
    expiresAt = serializers.DateTimeField()


class UserIdQuerySerializer(serializers.Serializer[Any]):
    userId = serializers.CharField(required=False, allow_blank=True)


class MarketMakingOrderOutputSerializer(serializers.Serializer[Any]):
    orderId = serializers.UUIDField()
    userId = serializers.UUIDField()
    pair = serializers.CharField()
    marketMakingPairId = serializers.UUIDField()
    exchangeName = serializers.CharField()
    state = serializers.CharField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    bidSpread = serializers.CharField(allow_null=True)
    askSpread = serializers.CharField(allow_null=True)
    orderAmount = serializers.CharField(allow_null=True)
    orderRefreshTime = serializers.IntegerField(allow_null=True)
    numberOfLayers = serializers.IntegerField(allow_null=True)
    priceSourceType = serializers.CharField(allow_null=True)
    amountChangePerLayer = serializers.CharField(allow_null=True)
    amountChangeType = serializers.CharField(allow_null=True)
    ceilingPrice = serializers.CharField(allow_null=True)
    floorPrice = serializers.CharField(allow_null=True)
    balanceA = serializers.CharField()
    balanceB = serializers.CharField()
    rewardAddress = serializers.CharField(allow_blank=True)
    strategyKey = serializers.CharField()
    failureReason = serializers.CharField(allow_blank=True)
    amount = serializers.CharField(
        allow_null=True, help_text="value of the allocation in quote (null when unpriced)"
    )
    profit = serializers.CharField(
        allow_null=True, help_text="realized + unrealized PnL of the fills, in quote"
    )
    target = serializers.CharField(
        allow_null=True, help_text="daily volume target (quote) of the order's campaign"
    )


class UserOrdersAllOutputSerializer(serializers.Serializer[Any]):
    market_making = MarketMakingOrderOutputSerializer(many=True)
    simply_grow = serializers.ListField(child=serializers.DictField())
    total = serializers.IntegerField()


@extend_schema_field(OpenApiTypes.STR)
class _MoneyField(serializers.Field[Decimal, Any, str, Any]):
    """A Decimal rendered as CONTRACT's decimal string."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return money_str(value) or "0"


@extend_schema_field({"type": "string", "nullable": True})
class _BlankAsNullField(serializers.Field[str, Any, str | None, Any]):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: str) -> str | None:
        return value or None


class PaymentStateSerializer(serializers.Serializer[Any]):
    """The `PaymentState` row (orders.models.PaymentState) as CONTRACT names its fields."""

    orderId = serializers.UUIDField(source="order_id")
    userId = serializers.UUIDField(source="user_id")
    type = serializers.CharField()
    state = serializers.ChoiceField(choices=PaymentStatus.choices)
    symbol = serializers.CharField()
    baseAssetId = serializers.CharField(source="base_asset_id")
    baseAssetAmount = _MoneyField(source="base_asset_amount")
    baseAssetSnapshotId = _BlankAsNullField(source="base_asset_snapshot_id")
    quoteAssetId = serializers.CharField(source="quote_asset_id")
    quoteAssetAmount = _MoneyField(source="quote_asset_amount")
    quoteAssetSnapshotId = _BlankAsNullField(source="quote_asset_snapshot_id")
    baseFeeAssetId = serializers.CharField(source="base_fee_asset_id")
    baseFeeAssetAmount = _MoneyField(source="base_fee_asset_amount")
    quoteFeeAssetId = serializers.CharField(source="quote_fee_asset_id")
    quoteFeeAssetAmount = _MoneyField(source="quote_fee_asset_amount")
    requiredBaseWithdrawalFee = _MoneyField(source="required_base_withdrawal_fee")
    requiredQuoteWithdrawalFee = _MoneyField(source="required_quote_withdrawal_fee")
    requiredStrategyFeePercentage = _MoneyField(source="required_strategy_fee_percentage")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class PaymentStateOutputSerializer(serializers.Serializer[Any]):
    code = serializers.IntegerField()
    message = serializers.CharField()
    # `data` is the contract's field name (it shadows Serializer.data, for the schema only).
    data = PaymentStateSerializer()  # type: ignore[assignment]  # the contract's field shadows Serializer.data


class OrderControlOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    state = serializers.CharField()


class OutboxSummarySerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    topicCounts = serializers.DictField(child=serializers.IntegerField())
    firstCreatedAt = serializers.DateTimeField(allow_null=True)
    lastCreatedAt = serializers.DateTimeField(allow_null=True)


class OrderEventSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    orderId = serializers.UUIDField()
    topic = serializers.CharField()
    fromState = serializers.CharField(allow_blank=True)
    toState = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    payload = serializers.DictField()
    actorId = serializers.CharField(allow_null=True)
    taskId = serializers.CharField(allow_blank=True)
    traceId = serializers.CharField(allow_blank=True)
    createdAt = serializers.DateTimeField()


class CustodyTransferOutputSerializer(serializers.Serializer[Any]):
    """A custody transfer of the order (`orders.selectors.transfer_json`)."""

    requestId = serializers.CharField()
    purpose = serializers.CharField()
    status = serializers.CharField()
    assetId = serializers.CharField()
    amount = serializers.CharField(help_text="Decimal string: what arrives at the destination.")
    feeAssetId = serializers.CharField(allow_blank=True)
    feeAmount = serializers.CharField(help_text="Decimal string.")
    transactionHash = serializers.CharField(allow_blank=True)
    lastError = serializers.CharField(allow_blank=True)
    createdAt = serializers.CharField(allow_null=True, help_text="ISO-8601 UTC.")
    confirmedAt = serializers.CharField(allow_null=True, help_text="ISO-8601 UTC.")
    arrivedAt = serializers.CharField(allow_null=True, help_text="ISO-8601 UTC.")


class LifecycleOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    orderId = serializers.UUIDField()
    state = serializers.CharField()
    strategyKey = serializers.CharField()
    intents = StrategyIntentOutputSerializer(many=True)
    openOrders = StrategyOpenOrderOutputSerializer(many=True)
    history = StrategyHistoryRowOutputSerializer(many=True)
    trades = StrategyTradeOutputSerializer(many=True)
    ledgerEntries = LedgerEntryOutputSerializer(many=True)
    transfers = CustodyTransferOutputSerializer(many=True)
    outboxSummary = OutboxSummarySerializer()
    outbox = OrderEventSerializer(many=True)


class OutboxQuerySerializer(serializers.Serializer[Any]):
    topic = serializers.CharField(required=False, allow_blank=True)
    orderId = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=100)


class OutboxOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    events = OrderEventSerializer(many=True)


class FeeQuerySerializer(serializers.Serializer[Any]):
    exchange = serializers.CharField()
    pair = serializers.CharField()
    direction = serializers.ChoiceField(
        choices=["deposit_to_exchange", "withdraw_to_mixin", "withdraw_external"],
        default="deposit_to_exchange",
    )


class FeeOutputSerializer(serializers.Serializer[Any]):
    base_asset_id = serializers.CharField()
    quote_asset_id = serializers.CharField()
    base_fee_id = serializers.CharField()
    quote_fee_id = serializers.CharField()
    base_fee_amount = serializers.CharField()
    quote_fee_amount = serializers.CharField()
    base_fee_symbol = serializers.CharField()
    quote_fee_symbol = serializers.CharField()
    base_fee_price_usd = serializers.CharField()
    quote_fee_price_usd = serializers.CharField()
    base_asset_price_usd = serializers.CharField()
    quote_asset_price_usd = serializers.CharField()
    market_making_fee_percentage = serializers.CharField()
    direction = serializers.CharField()
