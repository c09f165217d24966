"""Cockpit pages (inside the console login): the overview's live data and an order's page."""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from console.selectors import order_cockpit, overview_data
from orders.models import MarketMakingOrder


def overview_json(request: HttpRequest) -> JsonResponse:
    """The landing page polls this every few seconds to stay live."""
    return JsonResponse(overview_data())


def order_page(request: HttpRequest, order_id: str) -> HttpResponse:
    try:
        pk = uuid.UUID(order_id)
    except ValueError as exc:
        raise Http404("No such order.") from exc
    order = MarketMakingOrder.objects.select_related("pair", "user").filter(pk=pk).first()
    if order is None:
        raise Http404("No such order.")
    data = order_cockpit(order=order)
    return TemplateResponse(
        request,
        "console/order.html",
        {
            **admin.site.each_context(request),
            "title": f"Order {order.pk}",
            "order": order,
            **data,
        },
    )
