"""`/coingecko/...`: CoinGecko's own answers through the cached, rate-limited client."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from exchanges.coingecko import coingecko_client
from mrmarket.api_bases import PublicApi
from mrmarket.serializers import ErrorSerializer

_ERRORS = {400: ErrorSerializer, 404: ErrorSerializer, 503: ErrorSerializer}
_NUM = {"type": "number", "nullable": True}
_POINTS = {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}
_CHART = {
    "type": "object",
    "properties": {"prices": _POINTS, "market_caps": _POINTS, "total_volumes": _POINTS},
    "required": ["prices", "market_caps", "total_volumes"],
}
_MARKET_ROW = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "id": {"type": "string"},
        "symbol": {"type": "string"},
        "name": {"type": "string"},
        "image": {"type": "string"},
        "current_price": _NUM,
        "market_cap": _NUM,
        "market_cap_rank": {"type": "integer", "nullable": True},
        "total_volume": _NUM,
        "price_change_percentage_24h": _NUM,
        "last_updated": {"type": "string", "nullable": True},
    },
    "required": ["id", "symbol", "name"],
}
_COIN = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "id": {"type": "string"},
        "symbol": {"type": "string"},
        "name": {"type": "string"},
        "image": {"type": "object", "additionalProperties": {"type": "string"}},
        "market_data": {"type": "object", "additionalProperties": True},
    },
    "required": ["id", "symbol", "name"],
}
_SLUG = r"^[a-z0-9][a-z0-9-]{0,99}$"


class CoinGeckoPageQuerySerializer(serializers.Serializer[Any]):
    page = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=1)
    per_page = serializers.IntegerField(required=False, min_value=1, max_value=250, default=100)


class CoinGeckoChartQuerySerializer(serializers.Serializer[Any]):
    vs_currency = serializers.RegexField(r"^[a-z]{2,10}$", required=False, default="usd")
    days = serializers.RegexField(r"^([0-9]{1,4}|max)$", required=False, default="1")


class CoinGeckoRangeQuerySerializer(serializers.Serializer[Any]):
    vs_currency = serializers.RegexField(r"^[a-z]{2,10}$", required=False, default="usd")
    # `from` is a Python keyword: the field is declared below under the wire name.
    to = serializers.IntegerField(min_value=0)


CoinGeckoRangeQuerySerializer._declared_fields["from"] = serializers.IntegerField(min_value=0)


def _vs(value: str) -> str:
    if not re.match(r"^[a-z]{2,10}$", value):
        raise serializers.ValidationError({"vs": "must be a currency code like usd"})
    return value


def _slug(value: str, name: str) -> str:
    if not re.match(_SLUG, value):
        raise serializers.ValidationError({name: "must be a CoinGecko id (lowercase, digits, -)"})
    return value


class CoinGeckoCoinApi(PublicApi):
    @extend_schema(responses={200: OpenApiResponse(_COIN), **_ERRORS}, tags=["coingecko"])
    def get(self, request: Request, coin_id: str) -> Response:
        return Response(coingecko_client().coin(coin_id=_slug(coin_id, "id")))


class CoinGeckoMarketsApi(PublicApi):
    @extend_schema(
        parameters=[CoinGeckoPageQuerySerializer],
        responses={200: OpenApiResponse({"type": "array", "items": _MARKET_ROW}), **_ERRORS},
        tags=["coingecko"],
    )
    def get(self, request: Request, vs: str, category: str | None = None) -> Response:
        query = CoinGeckoPageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = coingecko_client().markets(
            vs_currency=_vs(vs),
            page=query.validated_data["page"],
            per_page=query.validated_data["per_page"],
            category=_slug(category, "category") if category else None,
        )
        return Response(rows)


class CoinGeckoMarketsCategoryApi(CoinGeckoMarketsApi):
    pass


class CoinGeckoChartApi(PublicApi):
    @extend_schema(
        parameters=[CoinGeckoChartQuerySerializer],
        responses={200: OpenApiResponse(_CHART), **_ERRORS},
        tags=["coingecko"],
    )
    def get(self, request: Request, coin_id: str) -> Response:
        query = CoinGeckoChartQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        chart = coingecko_client().market_chart(
            coin_id=_slug(coin_id, "id"),
            vs_currency=query.validated_data["vs_currency"],
            days=query.validated_data["days"],
        )
        return Response(chart)


class CoinGeckoChartRangeApi(PublicApi):
    @extend_schema(
        parameters=[CoinGeckoRangeQuerySerializer],
        responses={200: OpenApiResponse(_CHART), **_ERRORS},
        tags=["coingecko"],
    )
    def get(self, request: Request, coin_id: str) -> Response:
        query = CoinGeckoRangeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        v = query.validated_data
        if v["to"] < v["from"]:
            raise serializers.ValidationError({"to": "must not be before from"})
        chart = coingecko_client().market_chart_range(
            coin_id=_slug(coin_id, "id"), vs_currency=v["vs_currency"], start=v["from"], end=v["to"]
        )
        return Response(chart)
