"""The quoting uptime of a paper-venue run, counted by hand from the stored rows.

The report cuts time into pieces between decisions and judges each piece by its mark; here
the same definition is applied the slow, obvious way: for every decision, the stretch until
the next one (at most three refreshes), what rested on each side in its middle, and whether
the best bid and ask were inside the configured spread plus the refresh tolerance."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from reports.bundle import bundle_build
from strategy.models import DecisionRecord, Fill, TrackedOrder

pytestmark = pytest.mark.django_db

SPREAD = Decimal("0.002")  # bidSpread and askSpread of the paper run
TOLERANCE = Decimal("0.002")  # orderRefreshTolerancePct of the paper run
MAX_GAP = timedelta(seconds=6)  # three refreshes of 2 s


def test_uptime_of_a_paper_run_matches_a_count_by_hand(paper_run: Any) -> None:
    run = paper_run(ticks=12, until_traded=True)
    end = timezone.now() + timedelta(hours=1)
    report = bundle_build(order_id=run.order.pk, start=None, end=end)["report"]

    marks = list(
        DecisionRecord.objects.filter(session__order=run.order, mid__isnull=False)
        .order_by("run_at")
        .values_list("run_at", "mid")
    )
    orders = list(TrackedOrder.objects.filter(session__order=run.order))
    fills = list(Fill.objects.filter(order=run.order))
    observed = quoted = Decimal(0)
    for i, (at, mid) in enumerate(marks):
        assert mid is not None  # mid__isnull=False above
        until = min(marks[i + 1][0] if i + 1 < len(marks) else end, at + MAX_GAP, end)
        seconds = Decimal((until - at).total_seconds())
        observed += seconds
        middle = at + (until - at) / 2
        bids: list[Decimal] = []
        asks: list[Decimal] = []
        for t in orders:
            if not (t.created_at <= middle and (t.closed_at is None or middle < t.closed_at)):
                continue
            taken = sum(
                (f.amount for f in fills if f.tracked_order_id == t.pk and f.executed_at <= middle),
                Decimal(0),
            )
            if taken < t.amount:
                (bids if t.side == "buy" else asks).append(t.price)
        if (
            bids
            and asks
            and max(bids) >= mid * (1 - SPREAD - TOLERANCE)
            and min(asks) <= mid * (1 + SPREAD + TOLERANCE)
        ):
            quoted += seconds

    assert observed > 0 and quoted > 0, "the run must quote both sides for a while"
    by_hand = (quoted / observed).quantize(Decimal("1e-8"))
    assert Decimal(report["quoting"]["uptime"]) == by_hand
