"""exchanges: the endpoints of CONTRACT.md (grow/spot info, market data, admin exchanges/keys/pairs/fees).

Thin: parse, call one service or selector, render. Public routes are anonymous and throttled
(DRF's anon rate); admin routes need an admin JWT. Where the contract puts two methods on one
path (GET/POST `/admin/exchanges/keys`, `/admin/fee/global`) one class holds both, because a
Django path resolves to one view.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchanges import secrets, selectors, services
from exchanges import serializers as s
from exchanges.exceptions import PairNotFound, VenueAccountNotFound
from mrmarket.api_bases import PublicApi
from mrmarket.exceptions import ValidationFailed
from mrmarket.permissions import IsAdminJwt
from mrmarket.serializers import ErrorSerializer, OkOutputSerializer

_ERRORS = {400: ErrorSerializer, 404: ErrorSerializer}
_VENUE_ERRORS = {**_ERRORS, 429: ErrorSerializer, 502: ErrorSerializer, 503: ErrorSerializer}
_ADMIN_ERRORS = {**_ERRORS, 401: ErrorSerializer, 403: ErrorSerializer, 409: ErrorSerializer}

_DECIMAL = {"type": "string", "nullable": True, "example": "95000.5"}
_OHLCV_SCHEMA = {
    "type": "array",
    "items": {
        "type": "array",
        "minItems": 6,
        "maxItems": 6,
        "items": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    },
    "example": [[1735786980000, "100.1", "101", "99.5", "100.25", "0.5"]],
}
_SYMBOLS_SCHEMA = {"type": "array", "items": {"type": "string"}, "example": ["BTC/USDT"]}
_TICKERS_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {
            "symbol": {"type": "string"},
            "timestamp": {"type": "integer"},
            "datetime": {"type": "string", "format": "date-time"},
            **{k: _DECIMAL for k in ("bid", "ask", "last", "close", "baseVolume", "quoteVolume")},
        },
    },
}


class AdminApi(APIView):
    permission_classes = [IsAdminJwt]


# ---------------------------------------------------------------------------- public


class GrowInfoApi(PublicApi):
    @extend_schema(responses=s.GrowInfoOutputSerializer, tags=["grow"])
    def get(self, request: Request) -> Response:
        return Response(s.GrowInfoOutputSerializer(selectors.grow_info_get()).data)


class SpotInfoApi(PublicApi):
    @extend_schema(responses=s.SpotInfoOutputSerializer, tags=["spot"])
    def get(self, request: Request) -> Response:
        pairs = selectors.spot_pair_list()
        return Response(s.SpotInfoOutputSerializer({"trading_pairs": pairs}).data)


class MarketOhlcvApi(PublicApi):
    @extend_schema(
        parameters=[s.MarketOhlcvQuerySerializer],
        responses={
            200: OpenApiResponse(
                response=_OHLCV_SCHEMA,
                description="ccxt OHLCV rows [timestamp_ms, open, high, low, close, volume]; "
                "prices and volume as decimal strings",
            ),
            **_VENUE_ERRORS,
        },
        tags=["market"],
    )
    def get(self, request: Request) -> Response:
        query = s.MarketOhlcvQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        rows = selectors.market_ohlcv_get(
            exchange_id=q["exchange"],
            symbol=q["symbol"],
            timeframe=q["timeframe"],
            since_ms=q.get("since"),
            limit=q.get("limit"),
        )
        return Response(rows)


class MarketSupportedSymbolsApi(PublicApi):
    @extend_schema(
        parameters=[s.MarketExchangeQuerySerializer],
        responses={200: _SYMBOLS_SCHEMA, **_VENUE_ERRORS},
        tags=["market"],
    )
    def get(self, request: Request) -> Response:
        query = s.MarketExchangeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(selectors.market_symbols_list(exchange_id=query.validated_data["exchange"]))


class MarketTickersApi(PublicApi):
    @extend_schema(
        parameters=[s.MarketTickersQuerySerializer],
        responses={
            200: OpenApiResponse(
                response=_TICKERS_SCHEMA,
                description="ccxt-style tickers keyed by symbol; prices as decimal strings",
            ),
            **_VENUE_ERRORS,
        },
        tags=["market"],
    )
    def get(self, request: Request) -> Response:
        query = s.MarketTickersQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        return Response(
            selectors.market_tickers_get(exchange_id=q["exchange"], symbols=q.get("symbols") or [])
        )


# ---------------------------------------------------------------------------- admin: keys


class ExchangeKeyPairApi(AdminApi):
    @extend_schema(responses={200: s.KeyPairOutputSerializer, **_ADMIN_ERRORS}, tags=["admin"])
    def get(self, request: Request) -> Response:
        body = {
            "publicKey": secrets.server_public_key_b64(),
            "encoding": "base64",
            "algorithm": "crypto_box_seal",
        }
        return Response(s.KeyPairOutputSerializer(body).data)


class ExchangeKeysApi(AdminApi):
    """GET lists venue accounts (secrets masked); POST adds one with a sealed `api_secret`."""

    @extend_schema(
        operation_id="admin_exchanges_keys_list",
        responses={200: s.ExchangeKeyOutputSerializer(many=True), **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def get(self, request: Request) -> Response:
        accounts = selectors.venue_account_list()
        return Response(s.ExchangeKeyOutputSerializer(accounts, many=True).data)

    @extend_schema(
        operation_id="admin_exchanges_keys_create",
        request=s.ExchangeKeyCreateInputSerializer,
        responses={201: s.ExchangeKeyOutputSerializer, **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def post(self, request: Request) -> Response:
        data = s.ExchangeKeyCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        account = services.venue_account_create_sealed(
            exchange_id=v["exchange"],
            name=v["name"],
            api_key=v["api_key"],
            api_secret_sealed=v["api_secret"],
            api_passphrase_sealed=v.get("api_passphrase") or "",
            index=v.get("exchange_index"),
            read_only=v["read_only"],
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        return Response(s.ExchangeKeyOutputSerializer(account).data, status=201)


class ExchangeKeyRemoveApi(AdminApi):
    @extend_schema(responses={200: OkOutputSerializer, **_ADMIN_ERRORS}, tags=["admin"])
    def delete(self, request: Request, key_id: int) -> Response:
        account = selectors.venue_account_get(key_id=key_id)
        if account is None:
            raise VenueAccountNotFound(f"key {key_id} does not exist.")
        services.venue_account_remove(
            account=account,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        return Response(OkOutputSerializer({"ok": True}).data)


# ---------------------------------------------------------------------------- admin: fees


class FeeGlobalApi(AdminApi):
    """GET reads the global fee settings; POST changes any of them."""

    @extend_schema(
        operation_id="admin_fee_global_get",
        responses={200: s.FeeSettingsOutputSerializer, **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.FeeSettingsOutputSerializer(selectors.fee_settings_get()).data)

    @extend_schema(
        operation_id="admin_fee_global_update",
        request=s.FeeSettingsUpdateInputSerializer,
        responses={200: s.FeeSettingsOutputSerializer, **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def post(self, request: Request) -> Response:
        data = s.FeeSettingsUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fees = services.fee_settings_update(
            changes=data.validated_data,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        return Response(s.FeeSettingsOutputSerializer(fees).data)


# ---------------------------------------------------------------------------- admin: pairs


def _present(serializer: Any) -> dict[str, Any]:
    """Only the fields the client sent (so an update never resets what it left out)."""
    sent = set(serializer.initial_data)
    return {k: v for k, v in serializer.validated_data.items() if k in sent}


class MarketMakingPairAddApi(AdminApi):
    @extend_schema(
        request=s.MarketMakingPairCreateInputSerializer,
        responses={201: s.MarketMakingPairOutputSerializer, **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def post(self, request: Request) -> Response:
        data = s.MarketMakingPairCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = services.market_making_pair_create(
            data=_present(data),
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        pair = selectors.market_making_pair_get(pair_id=pair.pk)
        return Response(s.MarketMakingPairOutputSerializer(pair).data, status=201)


class MarketMakingPairUpdateApi(AdminApi):
    @extend_schema(
        request=s.MarketMakingPairUpdateInputSerializer,
        responses={200: s.MarketMakingPairOutputSerializer, **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def post(self, request: Request, pair_id: Any) -> Response:
        pair = selectors.market_making_pair_get(pair_id=pair_id)
        data = s.MarketMakingPairUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.market_making_pair_update(
            pair=pair,
            data=_present(data),
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        pair = selectors.market_making_pair_get(pair_id=pair_id)
        return Response(s.MarketMakingPairOutputSerializer(pair).data)


class MarketMakingPairRemoveApi(AdminApi):
    @extend_schema(responses={200: OkOutputSerializer, **_ADMIN_ERRORS}, tags=["admin"])
    def delete(self, request: Request, pair_id: Any) -> Response:
        try:
            pair = selectors.market_making_pair_get(pair_id=pair_id)
        except PairNotFound:
            raise PairNotFound(f"market-making pair {pair_id} does not exist.") from None
        services.market_making_pair_remove(
            pair=pair,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        return Response(OkOutputSerializer({"ok": True}).data)


# ---------------------------------------------------------------------------- admin: exchanges


class ExchangeAddApi(AdminApi):
    @extend_schema(
        request=s.ExchangeCreateInputSerializer,
        responses={201: s.ExchangeAdminOutputSerializer, **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def post(self, request: Request) -> Response:
        data = s.ExchangeCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        exchange = services.exchange_create(
            **data.validated_data,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        return Response(s.ExchangeAdminOutputSerializer(exchange).data, status=201)


class ExchangeUpdateApi(AdminApi):
    @extend_schema(
        request=s.ExchangeUpdateInputSerializer,
        responses={200: s.ExchangeAdminOutputSerializer, **_ADMIN_ERRORS},
        tags=["admin"],
    )
    def post(self, request: Request, exchange_id: str) -> Response:
        exchange = selectors.exchange_get(exchange_id=exchange_id)
        data = s.ExchangeUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if changes.pop("exchange_id", exchange_id) != exchange_id:
            raise ValidationFailed("exchange_id cannot change; pairs and accounts refer to it.")
        exchange = services.exchange_update(
            exchange=exchange,
            changes=changes,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        return Response(s.ExchangeAdminOutputSerializer(exchange).data)


class ExchangeRemoveApi(AdminApi):
    @extend_schema(responses={200: OkOutputSerializer, **_ADMIN_ERRORS}, tags=["admin"])
    def delete(self, request: Request, exchange_id: str) -> Response:
        exchange = selectors.exchange_get(exchange_id=exchange_id)
        services.exchange_remove(
            exchange=exchange,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request._request,
        )
        return Response(OkOutputSerializer({"ok": True}).data)
