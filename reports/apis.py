"""The report endpoints: the execution report (JSON and CSV), its verifiable bundle, and the
owner's switch for the public proof page. Thin: parse, call one selector or service, render."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mrmarket.permissions import IsUser
from mrmarket.serializers import ErrorSerializer
from orders.models import MarketMakingOrder
from orders.selectors import order_get_for_user
from reports import selectors, services
from reports import serializers as s

_ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
_FROM = OpenApiParameter(
    "from",
    OpenApiTypes.DATETIME,
    description="ISO 8601 start (inclusive); default: the order's first run",
    required=False,
)


def _window(request: Request) -> tuple[MarketMakingOrder, dict[str, Any]]:
    query = s.ReportQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    order = order_get_for_user(order_id=data["orderId"], user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
    return order, {"start": data.get("from"), "end": data.get("to")}


class ExecutionReportApi(APIView):
    permission_classes = [IsUser]

    @extend_schema(
        parameters=[s.ReportQuerySerializer, _FROM],
        responses={200: s.ExecutionReportOutputSerializer, **_ERRORS},
        tags=["metrics"],
    )
    def get(self, request: Request) -> Response:
        order, window = _window(request)
        report = selectors.execution_report(order_id=order.pk, **window)
        return Response(s.ExecutionReportOutputSerializer(report).data)


class ExecutionReportCsvApi(APIView):
    """One row per day: volumes, quoting and, on a last `total` row, the performance."""

    permission_classes = [IsUser]

    @extend_schema(
        parameters=[s.ReportQuerySerializer, _FROM],
        responses={(200, "text/csv"): OpenApiTypes.STR, **_ERRORS},
        tags=["metrics"],
    )
    def get(self, request: Request) -> HttpResponse:
        order, window = _window(request)
        report = selectors.execution_report(order_id=order.pk, **window)
        return report_csv_response(report, filename=f"execution-report-{order.pk}.csv")


class ReportBundleApi(APIView):
    permission_classes = [IsUser]

    @extend_schema(
        parameters=[s.ReportQuerySerializer, _FROM],
        responses={200: s.BundleOutputSerializer, **_ERRORS},
        tags=["metrics"],
    )
    def get(self, request: Request) -> Response:
        order, window = _window(request)
        bundle = selectors.report_bundle(order_id=order.pk, **window)
        response = Response(bundle)
        response["Content-Disposition"] = f'attachment; filename="report-{order.pk}.json"'
        return response


class ProofSettingApi(APIView):
    permission_classes = [IsUser]

    def _payload(self, request: Request, order: MarketMakingOrder) -> dict[str, Any]:
        enabled = selectors.proof_page_enabled(order_id=order.pk)
        url = request.build_absolute_uri(f"/proof/{order.pk}") if enabled else None
        return {"orderId": str(order.pk), "enabled": enabled, "url": url}

    @extend_schema(responses={200: s.ProofSettingOutputSerializer, **_ERRORS}, tags=["metrics"])
    def get(self, request: Request, order_id: str) -> Response:
        order = order_get_for_user(order_id=order_id, user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        return Response(s.ProofSettingOutputSerializer(self._payload(request, order)).data)

    @extend_schema(
        request=s.ProofSettingInputSerializer,
        responses={200: s.ProofSettingOutputSerializer, **_ERRORS},
        tags=["metrics"],
    )
    def post(self, request: Request, order_id: str) -> Response:
        body = s.ProofSettingInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = order_get_for_user(order_id=order_id, user=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        services.proof_page_set(
            order=order,
            enabled=body.validated_data["enabled"],
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            request=request,
        )
        return Response(s.ProofSettingOutputSerializer(self._payload(request, order)).data)


CSV_COLUMNS = [
    "date",
    "trades",
    "volume",
    "buyVolume",
    "sellVolume",
    "uptime",
    "spreadAvg",
    "spreadP95",
    "bidDepth",
    "askDepth",
]


def report_csv_response(report: dict[str, Any], *, filename: str) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for day in report["byDay"]:
        q = day.get("quoting") or {}
        writer.writerow(
            [
                day["date"],
                day["trades"],
                day["volume"],
                day["buyVolume"],
                day["sellVolume"],
                q.get("uptime"),
                q.get("spreadAvg"),
                q.get("spreadP95"),
                q.get("bidDepth"),
                q.get("askDepth"),
            ]
        )
    t, q = report["totals"], report["quoting"]
    writer.writerow(
        [
            "total",
            t["trades"],
            t["volume"],
            t["buyVolume"],
            t["sellVolume"],
            q["uptime"],
            q["spreadAvg"],
            q["spreadP95"],
            q["bidDepth"],
            q["askDepth"],
        ]
    )
    writer.writerow([])
    writer.writerow(["performance", "value"])
    for key, value in report["performance"].items():
        if key == "fees":
            for fee in value:
                writer.writerow([f"fee {fee['symbol']}", fee["amount"]])
        elif key != "feesUnpriced":
            writer.writerow([key, value])
    writer.writerow(["bundleHash", report.get("bundleHash", "")])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
