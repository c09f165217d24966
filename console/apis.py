"""The operator API (admin JWT): the console's controls, for scripts. Every call needs a
reason; halts are validated against what exists; every change is audited by its service."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mrmarket.exceptions import ValidationFailed
from mrmarket.permissions import IsAdminJwt
from mrmarket.serializers import ErrorSerializer
from orders.exceptions import OrderNotFound
from orders.models import MarketMakingOrder
from orders.services import controls
from strategy.enums import KillScope
from strategy.models import KillSwitch
from strategy.services import kill_switch_preview, kill_switch_set

_ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


class Reason(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=3, max_length=500, trim_whitespace=True, **kwargs)


class HaltInputSerializer(serializers.Serializer[Any]):
    scope = serializers.ChoiceField(choices=KillScope.values)
    key = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    active = serializers.BooleanField()
    reason = Reason()


class HaltOutputSerializer(serializers.Serializer[Any]):
    scope = serializers.CharField()
    key = serializers.CharField()
    active = serializers.BooleanField()
    reason = serializers.CharField()
    changedAt = serializers.DateTimeField(source="changed_at")


class HaltPreviewQuerySerializer(serializers.Serializer[Any]):
    scope = serializers.ChoiceField(choices=KillScope.values)
    key = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)


class HaltPreviewOutputSerializer(serializers.Serializer[Any]):
    runningSessions = serializers.IntegerField()
    openOrders = serializers.IntegerField()


class HaltApi(APIView):
    permission_classes = [IsAdminJwt]

    @extend_schema(responses={200: HaltOutputSerializer(many=True), **_ERRORS}, tags=["operator"])
    def get(self, request: Request) -> Response:
        rows = KillSwitch.objects.filter(active=True).order_by("scope", "key")
        return Response(HaltOutputSerializer(rows, many=True).data)

    @extend_schema(
        request=HaltInputSerializer,
        responses={200: HaltOutputSerializer, **_ERRORS},
        tags=["operator"],
    )
    def post(self, request: Request) -> Response:
        body = HaltInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        switch = kill_switch_set(actor=request.user, **body.validated_data)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        return Response(HaltOutputSerializer(switch).data)


class HaltPreviewApi(APIView):
    permission_classes = [IsAdminJwt]

    @extend_schema(
        parameters=[HaltPreviewQuerySerializer],
        responses={200: HaltPreviewOutputSerializer, **_ERRORS},
        tags=["operator"],
    )
    def get(self, request: Request) -> Response:
        query = HaltPreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(kill_switch_preview(**query.validated_data))


class OperatorOrderControlInputSerializer(serializers.Serializer[Any]):
    reason = Reason()


class OperatorOrderControlOutputSerializer(serializers.Serializer[Any]):
    orderId = serializers.CharField(source="pk")
    state = serializers.CharField()


_CONTROLS = {
    "pause": controls.order_pause,
    "resume": controls.order_resume,
    "stop": controls.order_stop,
    "exit": controls.order_exit,
}


class OrderControlApi(APIView):
    """POST /admin/operator/orders/{id}/{pause|resume|stop|exit} {reason}: 409 on an illegal
    move (the current state in the message), idempotent like the user's controls."""

    permission_classes = [IsAdminJwt]

    @extend_schema(
        request=OperatorOrderControlInputSerializer,
        responses={200: OperatorOrderControlOutputSerializer, **_ERRORS, 409: ErrorSerializer},
        tags=["operator"],
    )
    def post(self, request: Request, order_id: str, action: str) -> Response:
        control = _CONTROLS.get(action)
        if control is None:
            raise ValidationFailed(f"action: must be one of {'|'.join(_CONTROLS)}")
        body = OperatorOrderControlInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            pk = uuid.UUID(order_id)
        except ValueError as exc:
            raise OrderNotFound(f"Order {order_id} not found.") from exc
        if not MarketMakingOrder.objects.filter(pk=pk).exists():
            raise OrderNotFound(f"Order {order_id} not found.")
        order = control(order_id=pk, actor=request.user, reason=body.validated_data["reason"])  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        return Response(OperatorOrderControlOutputSerializer(order).data)
