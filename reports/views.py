"""The public proof page of an order: plain Django views, no login, off unless the owner
turned it on (`ProofPage`). A page that is off answers 404, like an order that does not exist."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.models import MarketMakingOrder
from reports import selectors


def _public_order(order_id: str) -> MarketMakingOrder:
    try:
        pk = uuid.UUID(order_id)
    except ValueError as exc:
        raise Http404("No such proof page.") from exc
    if not selectors.proof_page_enabled(order_id=pk):
        raise Http404("No such proof page.")
    order: MarketMakingOrder = MarketMakingOrder.objects.select_related("pair").get(pk=pk)
    return order


def _end(request: HttpRequest) -> datetime:
    """The window's end: `?to=` (the page links its own bundle with it, so both hash the
    same facts), else now; never in the future."""
    now = timezone.now()
    raw = request.GET.get("to")
    if not raw:
        return now
    parsed = parse_datetime(raw)
    if parsed is None or parsed.tzinfo is None:
        raise Http404("No such proof page.")
    return min(parsed, now)


def proof_page(request: HttpRequest, order_id: str) -> HttpResponse:
    order = _public_order(order_id)
    end = _end(request)
    data = selectors.proof_page_data(order=order, end=end)
    bundle = data["bundle"]
    return render(
        request,
        "reports/proof.html",
        {
            "order": order,
            "report": bundle["report"],
            "hash": bundle["hash"],
            "to": bundle["report"]["to"],
            "series": data["series"],
        },
    )


def proof_bundle(request: HttpRequest, order_id: str) -> JsonResponse:
    order = _public_order(order_id)
    bundle = selectors.proof_page_data(order=order, end=_end(request))["bundle"]
    response = JsonResponse(bundle, json_dumps_params={"indent": 2, "sort_keys": True})
    response["Content-Disposition"] = f'attachment; filename="report-{order.pk}.json"'
    return response
