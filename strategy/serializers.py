"""strategy: API input/output serializers (uniquely named; camelCase as CONTRACT.md)."""

from __future__ import annotations

from rest_framework import serializers


class StrategySessionOutputSerializer(serializers.Serializer):
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


class StrategyIntentOutputSerializer(serializers.Serializer):
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


class StrategyIntentsQuerySerializer(serializers.Serializer):
    clientId = serializers.CharField()
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)


class StrategyExecuteOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    session = StrategySessionOutputSerializer()


class StrategyStopQuerySerializer(serializers.Serializer):
    userId = serializers.CharField(required=False)
    clientId = serializers.CharField()


class StrategyPureMarketMakingInputSerializer(serializers.Serializer):
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


class StrategyArbitrageInputSerializer(serializers.Serializer):
    userId = serializers.CharField(required=False)
    clientId = serializers.CharField()
    pair = serializers.CharField()
    exchangeAName = serializers.CharField()
    exchangeBName = serializers.CharField()
    amountToTrade = serializers.CharField()
    minProfitability = serializers.CharField()
    feeA = serializers.CharField(required=False)
    feeB = serializers.CharField(required=False)


class StrategyAdminControlInputSerializer(serializers.Serializer):
    sessionId = serializers.IntegerField()
    reason = serializers.CharField()


class StrategyHistoryRowOutputSerializer(serializers.Serializer):
    amount = serializers.CharField()
    price = serializers.CharField()
    side = serializers.CharField()
    status = serializers.CharField()
    executedAt = serializers.CharField()
    clientOrderId = serializers.CharField()


class ExecutionReportQuerySerializer(serializers.Serializer):
    orderId = serializers.UUIDField()
    # "from" is a Python keyword: the field is renamed in `to_internal_value` below.
    to = serializers.DateTimeField(required=False)

    def to_internal_value(self, data):  # type: ignore[no-untyped-def]
        values = super().to_internal_value(data)
        start = data.get("from")
        try:
            values["from"] = serializers.DateTimeField().to_internal_value(start) if start else None
        except serializers.ValidationError as exc:
            # Keyed by field, like every other field error (a bare list was a 500).
            raise serializers.ValidationError({"from": exc.detail}) from exc
        return values


class ExecutionTotalsOutputSerializer(serializers.Serializer):
    trades = serializers.IntegerField()
    volume = serializers.CharField()
    buyVolume = serializers.CharField()
    sellVolume = serializers.CharField()


class ExecutionDayOutputSerializer(ExecutionTotalsOutputSerializer):
    date = serializers.CharField()


class ExecutionFactsOutputSerializer(serializers.Serializer):
    sample = serializers.ListField(child=serializers.DictField())

    def get_fields(self):  # type: ignore[no-untyped-def]
        # `source` and `fields` are Serializer attributes: declared here instead.
        fields = super().get_fields()
        fields["source"] = serializers.CharField()
        fields["fields"] = serializers.ListField(child=serializers.CharField())
        return fields


class ExecutionReportOutputSerializer(serializers.Serializer):
    orderId = serializers.CharField()
    to = serializers.CharField(allow_null=True)
    totals = ExecutionTotalsOutputSerializer()
    byDay = ExecutionDayOutputSerializer(many=True)
    facts = ExecutionFactsOutputSerializer()

    def get_fields(self):  # type: ignore[no-untyped-def]
        fields = super().get_fields()
        fields["from"] = serializers.CharField(allow_null=True)
        return fields
