"""strategy: API input/output serializers (uniquely named; camelCase as CONTRACT.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrategySessionOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    strategyKey = serializers.CharField()
    strategyType = serializers.CharField()
    userId = serializers.CharField(allow_null=True)
    clientId = serializers.CharField()
    orderId = serializers.CharField(allow_null=True)
    exchangeName = serializers.CharField()
    exchangeBName = serializers.CharField(allow_null=True)
    pair = serializers.CharField()
    status = serializers.CharField()
    parameters = serializers.DictField()
    nextRunAt = serializers.CharField(allow_null=True)
    lastRunAt = serializers.CharField(allow_null=True)
    lastFillAt = serializers.CharField(allow_null=True)
    runCount = serializers.IntegerField()
    lastError = serializers.CharField(allow_blank=True)
    createdAt = serializers.CharField(allow_null=True)


class StrategyIntentOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    type = serializers.CharField()
    clientOrderId = serializers.CharField()
    exchange = serializers.CharField()
    accountIndex = serializers.IntegerField()
    pair = serializers.CharField()
    side = serializers.CharField()
    level = serializers.IntegerField(allow_null=True)
    price = serializers.CharField(allow_null=True)
    qty = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    lastError = serializers.CharField(allow_blank=True)
    venueOrderId = serializers.CharField(allow_null=True)
    createdAt = serializers.CharField(allow_null=True)
    updatedAt = serializers.CharField(allow_null=True)


class StrategyOpenOrderOutputSerializer(serializers.Serializer[Any]):
    """A venue order the session tracks (`strategy.selectors.tracked_payload`)."""

    clientOrderId = serializers.CharField()
    exchangeOrderId = serializers.CharField(allow_null=True, help_text="null until the venue acks")
    exchange = serializers.CharField()
    pair = serializers.CharField()
    side = serializers.CharField()
    price = serializers.CharField(help_text="Decimal string.")
    qty = serializers.CharField(help_text="Decimal string.")
    filled = serializers.CharField(help_text="Decimal string: what our settled fills add up to.")
    status = serializers.CharField()
    hanging = serializers.BooleanField()
    createdAt = serializers.CharField(allow_null=True, help_text="ISO-8601 UTC.")
    updatedAt = serializers.CharField(allow_null=True, help_text="ISO-8601 UTC.")


class StrategyTradeOutputSerializer(serializers.Serializer[Any]):
    """A fill of one of the session's venue orders (`strategy.selectors.fill_payload`)."""

    tradeId = serializers.CharField()
    exchange = serializers.CharField()
    pair = serializers.CharField()
    side = serializers.CharField()
    price = serializers.CharField(help_text="Decimal string.")
    qty = serializers.CharField(help_text="Decimal string (base).")
    quoteQty = serializers.CharField(help_text="Decimal string (quote).")
    fee = serializers.CharField(help_text="Decimal string.")
    feeAsset = serializers.CharField(allow_blank=True)
    liquidity = serializers.CharField(allow_blank=True, help_text="maker, taker or blank")
    clientOrderId = serializers.CharField()
    ledgerKey = serializers.CharField(allow_null=True, help_text="null until settled")
    executedAt = serializers.CharField(allow_null=True, help_text="ISO-8601 UTC.")


class StrategyIntentsQuerySerializer(serializers.Serializer[Any]):
    clientId = serializers.CharField()
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)


class StrategyExecuteOutputSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    session = StrategySessionOutputSerializer()


class StrategyStopQuerySerializer(serializers.Serializer[Any]):
    userId = serializers.CharField(required=False)
    clientId = serializers.CharField()


class StrategyPureMarketMakingInputSerializer(serializers.Serializer[Any]):
    """Documents `PureMarketMakingStrategyDto`; validation is `PureMarketMakingParams.from_dto`."""

    userId = serializers.CharField(required=False)
    clientId = serializers.CharField()
    pair = serializers.CharField()
    exchangeName = serializers.CharField()
    oracleExchangeName = serializers.CharField(required=False)
    bidSpread = serializers.CharField()
    askSpread = serializers.CharField()
    orderAmount = serializers.CharField()
    orderRefreshTime = serializers.IntegerField()
    numberOfLayers = serializers.IntegerField(required=False)
    priceSourceType = serializers.CharField(required=False)
    amountChangePerLayer = serializers.CharField(required=False)
    amountChangeType = serializers.CharField(required=False)
    ceilingPrice = serializers.CharField(required=False)
    floorPrice = serializers.CharField(required=False)
    hangingOrdersEnabled = serializers.BooleanField(required=False)
    inventoryTargetBaseRatio = serializers.CharField(required=False)
    inventorySkewFactor = serializers.CharField(required=False)


class StrategyArbitrageInputSerializer(serializers.Serializer[Any]):
    userId = serializers.CharField(required=False)
    clientId = serializers.CharField()
    pair = serializers.CharField()
    exchangeAName = serializers.CharField()
    exchangeBName = serializers.CharField()
    amountToTrade = serializers.CharField()
    minProfitability = serializers.CharField()
    feeA = serializers.CharField(required=False)
    feeB = serializers.CharField(required=False)


class StrategyAdminControlInputSerializer(serializers.Serializer[Any]):
    sessionId = serializers.IntegerField()
    reason = serializers.CharField()


class StrategyHistoryRowOutputSerializer(serializers.Serializer[Any]):
    amount = serializers.CharField()
    price = serializers.CharField()
    side = serializers.CharField()
    status = serializers.CharField()
    executedAt = serializers.CharField()
    clientOrderId = serializers.CharField()
