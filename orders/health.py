"""The orders app's parts in /health/system-status: custody reachable, reconciliation clean."""

from __future__ import annotations

from datetime import datetime

from mrmarket.health import Context, Part, health_check, iso
from mrmarket.models import Heartbeat
from orders.models import ReconciliationRun
from orders.selectors import reconciliation_issue
from orders.tasks import CUSTODY_HEARTBEAT


@health_check("custody")
def custody_reachable(ctx: Context) -> Part | None:
    """By the outcome of the last snapshot poll (beat polls every ORDER_INTAKE_POLL_SECONDS)."""
    row = Heartbeat.objects.filter(name=CUSTODY_HEARTBEAT).first()
    if row is None:
        return None  # not polled yet: nothing known (a stopped beat or worker shows elsewhere)
    ok = row.payload.get("ok") is not False
    detail = {
        "ok": ok,
        "lastSuccessAt": iso(row.last_beat_at) if row.last_beat_at.timestamp() > 0 else None,
        "error": row.payload.get("error") or None,
    }
    if ok:
        return Part(ok=True, detail=detail)
    since = row.payload.get("failingSince")
    return Part(
        ok=False,
        detail=detail,
        message=f"custody unreachable: {row.payload.get('error') or 'the last poll failed'}",
        since=datetime.fromisoformat(since) if since else None,
    )


@health_check("reconciliation")
def reconciliation_clean(ctx: Context) -> Part | None:
    drift = reconciliation_issue()
    if drift is None:
        return None
    # Since the first run of the current streak of drifting runs.
    since = None
    for run in ReconciliationRun.objects.order_by("-id").only("drifts", "created_at")[:500]:
        if not run.drifts:
            break
        since = run.created_at
    return Part(ok=False, detail={"ok": False, "drift": drift}, message=drift, since=since)
