"""Public, health and auth endpoints of CONTRACT.md. One API class per operation."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mrmarket import health as health_selectors
from mrmarket import serializers as s
from mrmarket import services, throttles
from mrmarket.api_bases import PublicApi
from mrmarket.models import AuthToken
from mrmarket.permissions import IsUser


class RootApi(PublicApi):
    @extend_schema(responses=s.RootOutputSerializer, tags=["app"])
    def get(self, request: Request) -> Response:
        body = {
            "mixin_app_id": settings.MIXIN_APP_ID,
            "app_hash": settings.APP_HASH,
            "recording_oracle_url": settings.HUFI_RECORDING_ORACLE_URL,
            "campaign_launcher_url": settings.HUFI_CAMPAIGN_LAUNCHER_URL,
            "timestamp": timezone.now(),
        }
        return Response(s.RootOutputSerializer(body).data)


class HealthApi(PublicApi):
    @extend_schema(responses=s.HealthOutputSerializer, tags=["health"])
    def get(self, request: Request) -> Response:
        body = health_selectors.health()
        return Response(s.HealthOutputSerializer(body).data, status=200 if body["ok"] else 503)


class HealthPingApi(PublicApi):
    @extend_schema(responses=OpenApiTypes.STR, tags=["health"])
    def get(self, request: Request) -> Response:
        return Response("pong")


class SystemStatusApi(PublicApi):
    @extend_schema(
        responses={200: s.SystemStatusOutputSerializer, 503: s.SystemStatusOutputSerializer},
        tags=["health"],
        description="Every part by its own evidence; 503 with the issues when any part is down.",
    )
    def get(self, request: Request) -> Response:
        body = health_selectors.system_status()
        return Response(body, status=200 if body["ok"] else 503)


class AdminLoginApi(PublicApi):
    # The login policy (mrmarket.login_policy) throttles and locks out inside the service.
    throttle_classes: list[type] = []

    @extend_schema(
        request=s.AdminLoginInputSerializer,
        responses={
            200: s.AdminLoginOutputSerializer,
            400: s.ErrorSerializer,
            401: s.ErrorSerializer,
            429: s.ErrorSerializer,
        },
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = s.AdminLoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        token = services.admin_login(
            password_sha256=data.validated_data["password"], request=request._request
        )
        return Response(s.AdminLoginOutputSerializer({"access_token": token}).data)


class OAuthApi(PublicApi):
    throttle_classes = [throttles.ScopedRateThrottle]
    throttle_scope = "oauth"

    @extend_schema(
        parameters=[OpenApiParameter("code", str, required=True)],
        responses={
            200: s.OAuthOutputSerializer,
            401: s.ErrorSerializer,
            503: s.ErrorSerializer,  # Mixin unreachable
        },
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        data = s.OAuthInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        token = services.oauth_login(code=data.validated_data["code"], request=request._request)
        return Response(s.OAuthOutputSerializer({"token": token}).data)


class LogoutApi(APIView):
    """Revokes the bearer token (user token or admin JWT) this request presents."""

    @extend_schema(request=None, responses=s.OkOutputSerializer, tags=["auth"])
    def post(self, request: Request) -> Response:
        token = request.auth
        assert isinstance(token, AuthToken)
        services.token_revoke(token=token, actor=token.user, reason="logout")
        return Response(s.OkOutputSerializer({"ok": True}).data)


class MeApi(APIView):
    """The caller's profile; `userId`, when sent, must be the caller (403 otherwise)."""

    permission_classes = [IsUser]

    @extend_schema(
        parameters=[OpenApiParameter("userId", str, required=False)],
        responses=s.MeOutputSerializer,
        tags=["auth"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.MeOutputSerializer(request.user).data)
