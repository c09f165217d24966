"""Input and output serializers of the report endpoints: the schema is the response."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ReportQuerySerializer(serializers.Serializer[Any]):
    orderId = serializers.UUIDField()
    to = serializers.DateTimeField(required=False)

    def get_fields(self) -> dict[str, Any]:
        # "from" is a Python keyword: declared here.
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False)
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("from"), attrs.get("to")
        if start is not None and end is not None and start >= end:
            raise serializers.ValidationError({"from": "must be before `to`."})
        return attrs


class TotalsOutputSerializer(serializers.Serializer[Any]):
    trades = serializers.IntegerField()
    volume = serializers.CharField()
    buyVolume = serializers.CharField()
    sellVolume = serializers.CharField()


class QuotingOutputSerializer(serializers.Serializer[Any]):
    observedSeconds = serializers.CharField(allow_null=True)
    uptime = serializers.CharField(allow_null=True, help_text="fraction of observed time")
    spreadAvg = serializers.CharField(allow_null=True, help_text="fraction of the mid")
    spreadP95 = serializers.CharField(allow_null=True)
    bidDepth = serializers.CharField(allow_null=True, help_text="quote value within ±2 %")
    askDepth = serializers.CharField(allow_null=True)


class DayQuotingOutputSerializer(QuotingOutputSerializer):
    date = serializers.CharField()


class DayOutputSerializer(TotalsOutputSerializer):
    date = serializers.CharField()
    quoting = DayQuotingOutputSerializer(allow_null=True)


class ReportFeeOutputSerializer(serializers.Serializer[Any]):
    assetId = serializers.CharField()
    symbol = serializers.CharField()
    amount = serializers.CharField()


class PerformanceOutputSerializer(serializers.Serializer[Any]):
    """Hummingbot's `history` figures (`hummingbot/client/performance.py`)."""

    numBuys = serializers.IntegerField()
    numSells = serializers.IntegerField()
    numTrades = serializers.IntegerField()
    buyVolBase = serializers.CharField()
    sellVolBase = serializers.CharField()
    totVolBase = serializers.CharField()
    buyVolQuote = serializers.CharField()
    sellVolQuote = serializers.CharField()
    totVolQuote = serializers.CharField()
    avgBuyPrice = serializers.CharField()
    avgSellPrice = serializers.CharField()
    avgPrice = serializers.CharField()
    startBase = serializers.CharField()
    startQuote = serializers.CharField()
    curBase = serializers.CharField()
    curQuote = serializers.CharField()
    startPrice = serializers.CharField()
    curPrice = serializers.CharField()
    startBaseRatio = serializers.CharField()
    curBaseRatio = serializers.CharField()
    holdValue = serializers.CharField()
    curValue = serializers.CharField()
    tradePnl = serializers.CharField()
    feeInQuote = serializers.CharField()
    fees = ReportFeeOutputSerializer(many=True)
    feesUnpriced = serializers.ListField(child=serializers.CharField())
    totalPnl = serializers.CharField()
    returnPct = serializers.CharField()


class FactsSampleRowOutputSerializer(serializers.Serializer[Any]):
    """One fill of the report's facts (`reports.report.SAMPLE_FIELDS`), money as strings."""

    tradeId = serializers.CharField()
    side = serializers.CharField()
    price = serializers.CharField()
    qty = serializers.CharField()
    quoteQty = serializers.CharField()
    fee = serializers.CharField()
    feeAsset = serializers.CharField(allow_blank=True)
    executedAt = serializers.CharField(help_text="ISO-8601 UTC.")


class FactsSampleOutputSerializer(serializers.Serializer[Any]):
    sample = FactsSampleRowOutputSerializer(many=True, help_text="the last 20 fills")

    def get_fields(self) -> dict[str, Any]:
        # `source` and `fields` are Serializer attributes: declared here instead.
        fields = super().get_fields()
        fields["source"] = serializers.CharField()
        fields["fields"] = serializers.ListField(child=serializers.CharField())
        return fields


class ReportOutputSerializer(serializers.Serializer[Any]):
    orderId = serializers.CharField()
    to = serializers.CharField()
    pair = serializers.CharField()
    totals = TotalsOutputSerializer()
    byDay = DayOutputSerializer(many=True)
    performance = PerformanceOutputSerializer()
    quoting = QuotingOutputSerializer()
    facts = FactsSampleOutputSerializer()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = serializers.CharField()
        return fields


class ExecutionReportOutputSerializer(ReportOutputSerializer):
    bundleHash = serializers.CharField(help_text="SHA-256 of the report bundle (facts + report)")


class BundleOutputSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField()
    hash = serializers.CharField()
    report = ReportOutputSerializer()
    facts = serializers.DictField()


class ProofSettingInputSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField()


class ProofSettingOutputSerializer(serializers.Serializer[Any]):
    orderId = serializers.CharField()
    enabled = serializers.BooleanField()
    url = serializers.CharField(allow_null=True)
