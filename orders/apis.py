"""The user-order API of CONTRACT.md. One class per operation; writes call one service."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import selectors as ledger_selectors
from mrmarket.permissions import IsAdminJwt, IsUser
from mrmarket.serializers import ErrorSerializer
from orders import selectors
from orders import serializers as s
from orders.models import CustodyTransfer
from orders.services import controls, intents
from strategy import selectors as strategy_selectors
from strategy import serializers as strategy_s

USER_ID = OpenApiParameter("userId", str, required=False, description="Must be the caller.")
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class UserApi(APIView):
    permission_classes = [IsUser]


class OrderIntentCreateApi(UserApi):
    @extend_schema(
        request=s.OrderIntentInputSerializer,
        responses={200: s.OrderIntentOutputSerializer, **ERRORS, 503: ErrorSerializer},
        tags=["user-orders"],
    )
    def post(self, request: Request) -> Response:
        data = s.OrderIntentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = intents.order_intent_create(
            user=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            pair_id=data.validated_data["marketMakingPairId"],
            strategy=data.validated_data.get("strategy"),
            reward_address=data.validated_data.get("rewardAddress", ""),
        )
        return Response(
            s.OrderIntentOutputSerializer(
                {"orderId": order.pk, "memo": order.memo, "expiresAt": order.memo_expires_at}
            ).data
        )


class PaymentStateApi(UserApi):
    @extend_schema(responses={200: s.PaymentStateOutputSerializer, **ERRORS}, tags=["user-orders"])
    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        payment = selectors.payment_state_get(order)
        return Response(
            s.PaymentStateOutputSerializer({"code": 200, "message": "Found", "data": payment}).data
        )


class OrderListApi(UserApi):
    @extend_schema(
        parameters=[USER_ID],
        responses={200: s.MarketMakingOrderOutputSerializer(many=True), **ERRORS},
        tags=["user-orders"],
    )
    def get(self, request: Request) -> Response:
        orders = list(selectors.order_list_for_user(user=request.user))  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        rows = selectors.order_json_list(orders)
        return Response(s.MarketMakingOrderOutputSerializer(rows, many=True).data)


class UserOrdersAllApi(UserApi):
    @extend_schema(
        parameters=[USER_ID],
        responses={200: s.UserOrdersAllOutputSerializer, **ERRORS},
        tags=["user-orders"],
    )
    def get(self, request: Request) -> Response:
        orders = list(selectors.order_list_for_user(user=request.user))  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        rows = selectors.order_json_list(orders)
        body = {"market_making": rows, "simply_grow": [], "total": len(rows)}
        return Response(s.UserOrdersAllOutputSerializer(body).data)


class OrderDetailApi(UserApi):
    @extend_schema(
        responses={200: s.MarketMakingOrderOutputSerializer, **ERRORS}, tags=["user-orders"]
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        return Response(s.MarketMakingOrderOutputSerializer(selectors.order_json(order)).data)


class _OrderControlApi(UserApi):
    control: Any = None

    def post(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        order = type(self).control(order_id=order.pk, actor=request.user)
        return Response(s.OrderControlOutputSerializer({"ok": True, "state": order.state}).data)


_CONTROL_SCHEMA = extend_schema(
    request=None,
    responses={200: s.OrderControlOutputSerializer, **ERRORS, 409: ErrorSerializer},
    tags=["user-orders"],
)


@_CONTROL_SCHEMA
class OrderPauseApi(_OrderControlApi):
    control = staticmethod(controls.order_pause)


@_CONTROL_SCHEMA
class OrderResumeApi(_OrderControlApi):
    control = staticmethod(controls.order_resume)


@_CONTROL_SCHEMA
class OrderStopApi(_OrderControlApi):
    control = staticmethod(controls.order_stop)


@_CONTROL_SCHEMA
class OrderExitApi(_OrderControlApi):
    control = staticmethod(controls.order_exit)


def _strategy_parts(order_id: Any) -> dict[str, Any]:
    parts: dict[str, Any] = strategy_selectors.order_lifecycle_parts(order_id=order_id)
    return parts


class OrderLifecycleApi(UserApi):
    @extend_schema(responses={200: s.LifecycleOutputSerializer, **ERRORS}, tags=["user-orders"])
    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        events = selectors.order_events(order_id=order.pk, limit=1000)
        strategy = _strategy_parts(order.pk)
        entries = ledger_selectors.entry_list(order_id=order.pk, limit=500)
        transfers = CustodyTransfer.objects.filter(order=order).order_by("id")
        body = {
            "ok": True,
            "orderId": str(order.pk),
            "state": order.state,
            # The session's key once it exists, else the order's own (never null).
            "strategyKey": strategy.get("strategyKey") or order.strategy_key,
            "intents": strategy.get("intents", []),
            "openOrders": strategy.get("openOrders", []),
            "history": strategy.get("history", []),
            "trades": strategy.get("trades", []),
            "ledgerEntries": [ledger_selectors.entry_payload(e) for e in entries],
            "transfers": [selectors.transfer_json(t) for t in transfers],
            "outboxSummary": selectors.outbox_summary(events),
            "outbox": [selectors.event_json(e) for e in reversed(events)],
        }
        return Response(s.LifecycleOutputSerializer(body).data)


class AdminOutboxApi(APIView):
    permission_classes = [IsAdminJwt]

    @extend_schema(
        parameters=[s.OutboxQuerySerializer],
        responses={200: s.OutboxOutputSerializer, **ERRORS},
        tags=["admin"],
    )
    def get(self, request: Request) -> Response:
        data = s.OutboxQuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        events = selectors.order_events(
            order_id=v.get("orderId"),
            topic=v.get("topic") or None,
            since=v.get("since"),
            limit=v["limit"],
        )
        body = {"ok": True, "events": [selectors.event_json(e) for e in events]}
        return Response(s.OutboxOutputSerializer(body).data)


class MarketMakingFeeApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[s.FeeQuerySerializer],
        responses={200: s.FeeOutputSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        tags=["app"],
    )
    def get(self, request: Request) -> Response:
        data = s.FeeQuerySerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        quote = selectors.market_making_fee_quote(
            exchange_id=v["exchange"], pair=v["pair"], direction=v["direction"]
        )
        return Response(s.FeeOutputSerializer(quote).data)


# The order-scoped view of the strategy runtime: it lives here, on top, because only the
# orders app may resolve "the caller's order" (strategy never imports orders).


class OrderHistoryInstanceApi(UserApi):
    @extend_schema(
        responses={200: strategy_s.StrategyHistoryRowOutputSerializer(many=True), **ERRORS},
        tags=["user-orders"],
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.order_get_for_user(order_id=order_id, user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        rows = strategy_selectors.order_history_rows(order_id=order.pk)
        return Response(strategy_s.StrategyHistoryRowOutputSerializer(rows, many=True).data)
