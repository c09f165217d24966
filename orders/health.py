"""What of custody and the order lifecycle waits on someone, for /health/system-status.

Every state that waits on the outside world has a timeout and a next step; when one is held
past it, or needs a person, it is listed here until it is resolved: a lasting custody drift
(and why), transfers an operator must look at, orders past their deadline or held, snapshots
quarantined by intake, and intake itself falling behind.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from orders.enums import (
    OPEN_TRANSFER_STATUSES,
    TERMINAL_STATES,
    OrderState,
    SnapshotStatus,
    TransferPurpose,
    TransferStatus,
)
from orders.models import (
    CustodyTransfer,
    IntakeCursor,
    MarketMakingOrder,
    PaymentSnapshot,
    ReconciliationRun,
)

Issue = dict[str, str]


def reconciliation_issue() -> str | None:
    """The last run's lasting drifts, with the amounts (why venues are halted)."""
    run = ReconciliationRun.objects.order_by("-created_at", "-id").first()
    if run is None or not run.persistent:
        return None
    rows = sorted(
        f"{d['account']} {d['assetId']} off by {d.get('drift', '?')}"
        for d in run.drifts
        if d.get("lasting", True)
    )
    return f"custody drift lasts on {len(rows)} account(s) (run {run.pk}): " + "; ".join(rows[:5])


def _transfer_issues() -> list[Issue]:
    issues = []
    flagged = CustodyTransfer.objects.exclude(operator_issue="").order_by("id")
    count = flagged.count()
    if count:
        first = "; ".join(f"{t.request_id}: {t.operator_issue[:160]}" for t in flagged[:3])
        issues.append(
            {
                "component": "custody_transfers",
                "message": f"{count} transfer(s) need an operator: {first}",
            }
        )
    unscheduled = (
        CustodyTransfer.objects.filter(
            status__in=OPEN_TRANSFER_STATUSES, next_attempt_at__isnull=True
        )
        .exclude(status=TransferStatus.CONFIRMED, purpose=TransferPurpose.REFUND)
        .count()
    )
    if unscheduled:
        issues.append(
            {
                "component": "custody_transfers",
                "message": f"{unscheduled} open transfer(s) have no next attempt scheduled",
            }
        )
    return issues


def _order_issues(now: datetime) -> list[Issue]:
    issues = []
    late = Counter(
        MarketMakingOrder.objects.filter(deadline_at__lt=now)
        .exclude(state__in=TERMINAL_STATES)
        .values_list("state", flat=True)
    )
    if late:
        states = ", ".join(f"{n} {state}" for state, n in sorted(late.items()))
        issues.append({"component": "orders", "message": f"orders past their deadline: {states}"})
    held = MarketMakingOrder.objects.filter(
        state=OrderState.PAYMENT_COMPLETE,
        state_changed_at__lt=now - timedelta(seconds=3 * settings.ORDER_STEP_POLL_SECONDS + 60),
    ).count()
    if held:
        issues.append(
            {
                "component": "orders",
                "message": f"{held} paid order(s) held before their withdrawal to the venue",
            }
        )
    return issues


def _intake_issues(now: datetime) -> list[Issue]:
    issues = []
    quarantined = PaymentSnapshot.objects.filter(status=SnapshotStatus.QUARANTINED).count()
    if quarantined:
        issues.append(
            {
                "component": "intake",
                "message": f"{quarantined} custody snapshot(s) quarantined for an operator",
            }
        )
    stale = now - timedelta(seconds=settings.CUSTODY_INTAKE_STALE_SECONDS)
    waiting = MarketMakingOrder.objects.filter(
        state__in=[OrderState.PAYMENT_PENDING, OrderState.PAYMENT_INCOMPLETE]
    ).exists()
    behind = (
        IntakeCursor.objects.filter(
            Q(polled_at__isnull=True) | Q(polled_at__lt=stale), name=settings.CUSTODY_BACKEND
        ).exists()
        or not IntakeCursor.objects.filter(name=settings.CUSTODY_BACKEND).exists()
    )
    if waiting and behind:
        issues.append(
            {
                "component": "intake",
                "message": "custody intake has not read the snapshot list to its end in the "
                f"last {settings.CUSTODY_INTAKE_STALE_SECONDS} s",
            }
        )
    return issues


def custody_issues(*, now: datetime | None = None) -> list[Issue]:
    now = now or timezone.now()
    issues = []
    drift = reconciliation_issue()
    if drift:
        issues.append({"component": "reconciliation", "message": drift})
    return issues + _transfer_issues() + _order_issues(now) + _intake_issues(now)
