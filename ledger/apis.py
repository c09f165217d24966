"""ledger: admin API (CONTRACT.md `GET /admin/ledger`). Read-only; writes are services only."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import selectors
from ledger import serializers as s
from mrmarket.permissions import IsAdminJwt
from mrmarket.serializers import ErrorSerializer


class LedgerEntryListApi(APIView):
    """Journal entries with their postings, newest first, filtered by user, asset, order, time."""

    permission_classes = [IsAdminJwt]

    @extend_schema(
        parameters=[
            OpenApiParameter("userId", str, required=False, description="User UUID."),
            OpenApiParameter("assetId", str, required=False, description="Mixin asset id."),
            OpenApiParameter("orderId", str, required=False, description="Order UUID."),
            OpenApiParameter(
                "since", str, required=False, description="ISO-8601; created at or after."
            ),
            OpenApiParameter("limit", int, required=False, description="1-500, default 100."),
        ],
        responses={
            200: s.LedgerEntryListOutputSerializer,
            400: ErrorSerializer,
            401: ErrorSerializer,
        },
        tags=["admin"],
    )
    def get(self, request: Request) -> Response:
        data = s.LedgerEntryListInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        entries = selectors.entry_list(
            user_id=v.get("userId"),
            asset=str(v["assetId"]) if v.get("assetId") else None,
            order_id=v.get("orderId"),
            since=v.get("since"),
            limit=v["limit"],
        )
        body = {"ok": True, "entries": [selectors.entry_payload(e) for e in entries]}
        return Response(s.LedgerEntryListOutputSerializer(body).data)
