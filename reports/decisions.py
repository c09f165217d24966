"""`manage.py replay --decisions --order ID`: re-run the pure quote builder on each of the
order's recorded decisions (`strategy.decisions`) and compare with what was decided."""

from __future__ import annotations

import uuid

from reports.replay import Difference
from strategy.decisions import decision_rerun
from strategy.models import DecisionRecord


def replay_decisions(*, order_id: uuid.UUID) -> tuple[int, list[Difference]]:
    """(decisions re-run, differences); a pruned decision is counted as skipped, not checked."""
    oid = str(order_id)
    records = DecisionRecord.objects.filter(session__order_id=order_id).select_related("snapshot")
    checked = 0
    diffs: list[Difference] = []
    for record in records.order_by("run_at", "id").iterator(chunk_size=500):
        again = decision_rerun(record)
        if again is None:
            continue
        checked += 1
        if again != record.quotes:
            diffs.append(
                Difference(
                    oid,
                    f"decision[{record.pk}]@{record.run_at.isoformat()}",
                    repr(again),
                    repr(record.quotes),
                )
            )
    return checked, diffs
