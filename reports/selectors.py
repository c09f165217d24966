"""Reads of the reports app."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.utils import timezone

from orders.models import MarketMakingOrder
from reports.bundle import bundle_build
from reports.models import ProofPage
from reports.series import series_from_facts


def execution_report(
    *, order_id: uuid.UUID, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """The report with its bundle's hash (the window ends now when `end` is None)."""
    bundle = bundle_build(order_id=order_id, start=start, end=end or timezone.now())
    return {**bundle["report"], "bundleHash": bundle["hash"]}


def report_bundle(
    *, order_id: uuid.UUID, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    return bundle_build(order_id=order_id, start=start, end=end or timezone.now())


def proof_page_enabled(*, order_id: uuid.UUID) -> bool:
    return ProofPage.objects.filter(order_id=order_id, enabled=True).exists()


def proof_page_data(*, order: MarketMakingOrder, end: datetime) -> dict[str, Any]:
    """What the public page shows: the report, its hash, and chart series."""
    bundle = bundle_build(order_id=order.pk, start=None, end=end)
    return {"bundle": bundle, "series": series_from_facts(bundle["facts"])}
