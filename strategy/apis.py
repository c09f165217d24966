"""strategy: the `/strategy/...` endpoints of CONTRACT.md and the admin start/stop (the
order-scoped history rows are served by `orders.apis`, the execution report by the reports
app). Thin: parse, call one service or selector, render. Errors go through the shared
handler (`mrmarket.errors`)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mrmarket.permissions import IsAdminJwt, IsUser, is_operator
from mrmarket.serializers import ErrorSerializer, OkOutputSerializer
from strategy import selectors, services
from strategy import serializers as s
from strategy.enums import SessionKind

_ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
_CONFLICT = {**_ERRORS, 409: ErrorSerializer}


def _visible(request: Request) -> Any:
    """Operators see every session; a user sees their own (owned or through their orders)."""
    qs = selectors.session_list()
    if not is_operator(request):
        qs = qs.filter(Q(owner=request.user) | Q(order__user=request.user))
    return qs


class StrategyRunningApi(APIView):
    permission_classes = [IsUser]

    @extend_schema(
        responses={200: s.StrategySessionOutputSerializer(many=True), **_ERRORS}, tags=["strategy"]
    )
    def get(self, request: Request) -> Response:
        sessions = _visible(request).filter(state="running")
        rows = [selectors.session_payload(x) for x in sessions]
        return Response(s.StrategySessionOutputSerializer(rows, many=True).data)


class StrategyAllApi(APIView):
    permission_classes = [IsUser]

    @extend_schema(
        responses={200: s.StrategySessionOutputSerializer(many=True), **_ERRORS}, tags=["strategy"]
    )
    def get(self, request: Request) -> Response:
        rows = [selectors.session_payload(x) for x in _visible(request)]
        return Response(s.StrategySessionOutputSerializer(rows, many=True).data)


class StrategyIntentsByClientApi(APIView):
    permission_classes = [IsUser]

    @extend_schema(
        parameters=[s.StrategyIntentsQuerySerializer],
        responses={200: s.StrategyIntentOutputSerializer(many=True), **_ERRORS},
        tags=["strategy"],
    )
    def get(self, request: Request) -> Response:
        query = s.StrategyIntentsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.intents_by_client(
            client_id=query.validated_data["clientId"],
            limit=query.validated_data["limit"],
            user=None if is_operator(request) else request.user,
        )
        return Response(s.StrategyIntentOutputSerializer(rows, many=True).data)


class StrategyExecutePureMarketMakingApi(APIView):
    permission_classes = [IsUser]

    @extend_schema(
        request=s.StrategyPureMarketMakingInputSerializer,
        responses={200: s.StrategyExecuteOutputSerializer, **_ERRORS},
        tags=["strategy"],
    )
    def post(self, request: Request) -> Response:
        dto = dict(request.data) if isinstance(request.data, dict) else request.data
        session = services.pure_mm_session_execute(
            user=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            dto=dto,  # type: ignore[arg-type]  # the raw request body: the service validates it
            operator=is_operator(request),
        )
        body = {"ok": True, "session": selectors.session_payload(session)}
        return Response(s.StrategyExecuteOutputSerializer(body).data)


class _DtoSessionStopApi(APIView):
    """`GET /strategy/stop-*?userId=&clientId=`: stop the caller's session of one kind."""

    permission_classes = [IsUser]
    kind: str = ""

    @extend_schema(
        parameters=[s.StrategyStopQuerySerializer],
        responses={200: OkOutputSerializer, **_ERRORS},
        tags=["strategy"],
    )
    def get(self, request: Request) -> Response:
        query = s.StrategyStopQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        services.dto_session_stop(
            user=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            client_id=query.validated_data["clientId"],
            kind=self.kind,
        )
        return Response(OkOutputSerializer({"ok": True}).data)


class StrategyStopMarketMakingApi(_DtoSessionStopApi):
    kind = SessionKind.PURE_MARKET_MAKING


class StrategyExecuteArbitrageApi(APIView):
    permission_classes = [IsUser]

    @extend_schema(
        request=s.StrategyArbitrageInputSerializer,
        responses={200: s.StrategyExecuteOutputSerializer, **_ERRORS},
        tags=["strategy"],
    )
    def post(self, request: Request) -> Response:
        dto = dict(request.data) if isinstance(request.data, dict) else request.data
        session = services.arbitrage_session_execute(
            user=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            dto=dto,  # type: ignore[arg-type]  # the raw request body: the service validates it
            operator=is_operator(request),
        )
        body = {"ok": True, "session": selectors.session_payload(session)}
        return Response(s.StrategyExecuteOutputSerializer(body).data)


class StrategyStopArbitrageApi(_DtoSessionStopApi):
    kind = SessionKind.ARBITRAGE


class AdminStrategyStartApi(APIView):
    permission_classes = [IsAdminJwt]

    @extend_schema(
        request=s.StrategyAdminControlInputSerializer,
        responses={200: OkOutputSerializer, **_CONFLICT},
        tags=["admin"],
    )
    def post(self, request: Request) -> Response:
        body = s.StrategyAdminControlInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.session_control(
            session_id=body.validated_data["sessionId"],
            action="start",
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            reason=body.validated_data["reason"],
        )
        return Response(OkOutputSerializer({"ok": True}).data)


class AdminStrategyStopApi(APIView):
    permission_classes = [IsAdminJwt]

    @extend_schema(
        request=s.StrategyAdminControlInputSerializer,
        responses={200: OkOutputSerializer, **_CONFLICT},
        tags=["admin"],
    )
    def post(self, request: Request) -> Response:
        body = s.StrategyAdminControlInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.session_control(
            session_id=body.validated_data["sessionId"],
            action="stop",
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            reason=body.validated_data["reason"],
        )
        return Response(OkOutputSerializer({"ok": True}).data)
