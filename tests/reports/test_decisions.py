"""Decision records: each quoting decision's inputs are kept, `replay --decisions` re-runs the
pure builder on them and finds a tampered record; reports get their marks from them; old
records are pruned."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from reports.bundle import bundle_build
from strategy.decisions import decision_records_prune
from strategy.models import DecisionRecord, MarketSnapshotRecord, ParamsRecord
from tests.support.replay import replay_json

pytestmark = pytest.mark.django_db


def test_recorded_decisions_replay_to_the_same_quotes(
    paper_run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run = paper_run(ticks=4, until_traded=True)
    records = DecisionRecord.objects.filter(session__order=run.order)
    assert records.count() >= 2
    # one shared snapshot per (venue, pair, slot) and one params row however many decisions
    assert ParamsRecord.objects.count() == 1
    assert MarketSnapshotRecord.objects.count() <= records.count()
    code, out = replay_json(capsys, "--decisions", "--order", str(run.order.pk))
    assert (code, out["checked"], out["differences"]) == (0, records.count(), [])

    # a tampered answer is found
    first = records.order_by("run_at").first()
    assert first is not None and first.quotes
    first.quotes[0][2] = "1"
    first.save(update_fields=["quotes"])
    code, out = replay_json(capsys, "--decisions", "--order", str(run.order.pk))
    assert code == 1
    assert [d["field"].split("@")[0] for d in out["differences"]] == [f"decision[{first.pk}]"]


def test_reports_measure_uptime_from_the_recorded_mids(paper_run: Any) -> None:
    run = paper_run(ticks=6, until_traded=True)
    bundle = bundle_build(
        order_id=run.order.pk, start=None, end=timezone.now() + timedelta(minutes=1)
    )
    quoting = bundle["report"]["quoting"]
    assert quoting["observedSeconds"] is not None and float(quoting["observedSeconds"]) > 0
    assert quoting["uptime"] is not None
    assert len(bundle["facts"]["marks"]) >= 2


def test_decisions_past_the_retention_are_pruned(paper_run: Any, settings: Any) -> None:
    run = paper_run(ticks=2)
    kept = DecisionRecord.objects.filter(session__order=run.order).count()
    assert kept >= 1
    settings.STRATEGY_DECISION_RETENTION_DAYS = 7
    assert decision_records_prune(now=timezone.now() + timedelta(days=6)) == 0
    assert decision_records_prune(now=timezone.now() + timedelta(days=30)) >= kept
    assert not DecisionRecord.objects.exists()
