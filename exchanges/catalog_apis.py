"""Admin catalog endpoints of CONTRACT (simply-grow tokens, arbitrage pairs, spot pairs,
fee overrides, exchange reads, remove-all) and the public `/market/tickers/pairs`.

Thin: parse, call one service or selector, render through the output serializer.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from exchanges import catalog, catalog_selectors, selectors
from exchanges import catalog_serializers as s
from exchanges.apis import _ADMIN_ERRORS, _VENUE_ERRORS, AdminApi, _present
from exchanges.serializers import SpotPairOutputSerializer
from mrmarket.api_bases import PublicApi
from mrmarket.serializers import OkOutputSerializer

_TAGS = ["admin"]


def _actor(request: Request) -> Any:
    return request.user


# ---------------------------------------------------------------------------- public


class MarketTickerPairsApi(PublicApi):
    @extend_schema(responses={200: s.TickerPairOutputSerializer(many=True)}, tags=["market"])
    def get(self, request: Request) -> Response:
        rows = catalog_selectors.ticker_pairs_list()
        return Response(s.TickerPairOutputSerializer(rows, many=True).data)


# ---------------------------------------------------------------------------- simply grow


class SimplyGrowAddApi(AdminApi):
    @extend_schema(
        request=s.SimplyGrowTokenAddInputSerializer,
        responses={201: s.SimplyGrowTokenOutputSerializer, **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def post(self, request: Request) -> Response:
        data = s.SimplyGrowTokenAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = catalog.simply_grow_token_add(
            data=_present(data), actor=_actor(request), request=request._request
        )
        return Response(s.SimplyGrowTokenOutputSerializer(token).data, status=201)


class SimplyGrowUpdateApi(AdminApi):
    @extend_schema(
        request=s.SimplyGrowTokenUpdateInputSerializer,
        responses={200: s.SimplyGrowTokenOutputSerializer, **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def post(self, request: Request, asset_id: Any) -> Response:
        data = s.SimplyGrowTokenUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = catalog.simply_grow_token_update(
            asset_id=asset_id, data=_present(data), actor=_actor(request), request=request._request
        )
        return Response(s.SimplyGrowTokenOutputSerializer(token).data)


# ---------------------------------------------------------------------------- arbitrage


class ArbitrageAddApi(AdminApi):
    @extend_schema(
        request=s.ArbitragePairAddInputSerializer,
        responses={201: s.ArbitragePairOutputSerializer, **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def post(self, request: Request) -> Response:
        data = s.ArbitragePairAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = catalog.arbitrage_pair_add(
            data=_present(data), actor=_actor(request), request=request._request
        )
        return Response(s.ArbitragePairOutputSerializer(pair).data, status=201)


class ArbitrageUpdateApi(AdminApi):
    @extend_schema(
        request=s.ArbitragePairUpdateInputSerializer,
        responses={200: s.ArbitragePairOutputSerializer, **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def post(self, request: Request, pair_id: Any) -> Response:
        data = s.ArbitragePairUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = catalog.arbitrage_pair_update(
            pair_id=pair_id, data=_present(data), actor=_actor(request), request=request._request
        )
        return Response(s.ArbitragePairOutputSerializer(pair).data)


# ---------------------------------------------------------------------------- spot pairs


class SpotPairAddApi(AdminApi):
    @extend_schema(
        request=s.SpotPairAddInputSerializer,
        responses={201: SpotPairOutputSerializer, **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def post(self, request: Request) -> Response:
        data = s.SpotPairAddInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = catalog.spot_pair_add(
            data=_present(data), actor=_actor(request), request=request._request
        )
        return Response(SpotPairOutputSerializer(pair).data, status=201)


class SpotPairUpdateApi(AdminApi):
    @extend_schema(
        request=s.SpotPairUpdateInputSerializer,
        responses={200: SpotPairOutputSerializer, **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def post(self, request: Request, pair_id: Any) -> Response:
        data = s.SpotPairUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = catalog.spot_pair_update(
            pair_id=pair_id, data=_present(data), actor=_actor(request), request=request._request
        )
        return Response(SpotPairOutputSerializer(pair).data)


# ---------------------------------------------------------------------------- removal


class _CatalogRemoveApi(AdminApi):
    catalog_name = ""

    def delete(self, request: Request, pk: Any) -> Response:
        catalog.catalog_row_remove(
            catalog=self.catalog_name, pk=pk, actor=_actor(request), request=request._request
        )
        return Response(OkOutputSerializer({"ok": True}).data)


class _CatalogRemoveAllApi(AdminApi):
    catalog_name = ""

    def delete(self, request: Request) -> Response:
        removed = catalog.catalog_remove_all(
            catalog=self.catalog_name, actor=_actor(request), request=request._request
        )
        return Response(s.RemoveAllOutputSerializer({"ok": True, "removed": removed}).data)


_REMOVE = extend_schema(responses={200: OkOutputSerializer, **_ADMIN_ERRORS}, tags=_TAGS)
_REMOVE_ALL = extend_schema(
    responses={200: s.RemoveAllOutputSerializer, **_ADMIN_ERRORS}, tags=_TAGS
)


@_REMOVE
class SimplyGrowRemoveApi(_CatalogRemoveApi):
    catalog_name = "simply_grow_token"


@_REMOVE
class ArbitrageRemoveApi(_CatalogRemoveApi):
    catalog_name = "arbitrage_pair"


@_REMOVE
class SpotPairRemoveApi(_CatalogRemoveApi):
    catalog_name = "spotpair"


@_REMOVE_ALL
class SimplyGrowRemoveAllApi(_CatalogRemoveAllApi):
    catalog_name = "simply_grow_token"


@_REMOVE_ALL
class ArbitrageRemoveAllApi(_CatalogRemoveAllApi):
    catalog_name = "arbitrage_pair"


@_REMOVE_ALL
class SpotPairRemoveAllApi(_CatalogRemoveAllApi):
    catalog_name = "spotpair"


@_REMOVE_ALL
class MarketMakingPairRemoveAllApi(_CatalogRemoveAllApi):
    catalog_name = "market_making_pair"


@_REMOVE_ALL
class ExchangeRemoveAllApi(_CatalogRemoveAllApi):
    catalog_name = "exchange"


# ---------------------------------------------------------------------------- admin reads


class FeeOverridesApi(AdminApi):
    @extend_schema(
        responses={200: s.FeeOverrideOutputSerializer(many=True), **_ADMIN_ERRORS}, tags=_TAGS
    )
    def get(self, request: Request) -> Response:
        rows = catalog_selectors.fee_override_list()
        return Response(s.FeeOverrideOutputSerializer(rows, many=True).data)


class ExchangeSupportedApi(AdminApi):
    @extend_schema(
        responses={200: s.ExchangeSupportedOutputSerializer(many=True), **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def get(self, request: Request) -> Response:
        rows = selectors.exchange_list()
        return Response(s.ExchangeSupportedOutputSerializer(rows, many=True).data)


class ExchangeCcxtSupportedApi(AdminApi):
    @extend_schema(
        responses={200: {"type": "array", "items": {"type": "string"}}, **_ADMIN_ERRORS},
        tags=_TAGS,
    )
    def get(self, request: Request) -> Response:
        return Response(catalog_selectors.ccxt_supported_list())


class ExchangeDetailsApi(AdminApi):
    @extend_schema(
        responses={200: s.ExchangeDescriptionOutputSerializer, **_ADMIN_ERRORS}, tags=_TAGS
    )
    def get(self, request: Request, exchange_id: str) -> Response:
        described = catalog_selectors.exchange_description(exchange_id=exchange_id)
        return Response(s.ExchangeDescriptionOutputSerializer(described).data)


class ExchangeMarketsApi(AdminApi):
    @extend_schema(
        responses={
            200: s.ExchangeMarketOutputSerializer(many=True),
            **_ADMIN_ERRORS,
            **_VENUE_ERRORS,
        },
        tags=_TAGS,
    )
    def get(self, request: Request, exchange_id: str) -> Response:
        markets = catalog_selectors.exchange_markets(exchange_id=exchange_id)
        return Response(s.ExchangeMarketOutputSerializer(markets, many=True).data)
