"""The order pipeline's two queues as the admin health widget reads them (CONTRACT).

`/health/system-status` → `queues.snapshots` and `queues.marketMaking`, each
`{waiting, active, completed, failed, delayed}` (the counts of the job queues of the original
service). Here the work items are rows, so the counts are of rows:

snapshots (incoming custody snapshots, `PaymentSnapshot`):
  waiting   stored, not yet processed (`received`), newer than the sweeper's re-drive delay
  delayed   stored and unprocessed for longer than that: the sweeper re-drives them
  active    being refunded (`refunding`: the refund is in flight)
  completed credited, refunded, or matched to our own transfer
  failed    ignored although money came in (unattributable: an operator must look)

marketMaking (orders' lifecycle steps, `MarketMakingOrder`):
  waiting   a step is due now (`next_step_at` passed) and has not run yet
  delayed   a step is scheduled later (polling a transfer, waiting for a payment)
  active    trading (`running`)
  completed `exit_complete`
  failed    `failed` or `refunded`
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from orders.enums import OrderState, SnapshotStatus
from orders.models import MarketMakingOrder, PaymentSnapshot

S = OrderState
Counts = dict[str, int]


def snapshot_queue_counts(*, now: datetime | None = None) -> Counts:
    now = now or timezone.now()
    redrive = now - timedelta(seconds=settings.ORDER_STEP_POLL_SECONDS)
    received = Q(status=SnapshotStatus.RECEIVED)
    row = PaymentSnapshot.objects.aggregate(
        waiting=Count("pk", filter=received & Q(created_at__gt=redrive)),
        delayed=Count("pk", filter=received & Q(created_at__lte=redrive)),
        active=Count("pk", filter=Q(status=SnapshotStatus.REFUNDING)),
        completed=Count(
            "pk",
            filter=Q(
                status__in=[
                    SnapshotStatus.CREDITED,
                    SnapshotStatus.REFUNDED,
                    SnapshotStatus.MATCHED,
                ]
            ),
        ),
        failed=Count("pk", filter=Q(status=SnapshotStatus.IGNORED, amount__gt=0)),
    )
    return {k: int(v or 0) for k, v in row.items()}


def order_queue_counts(*, now: datetime | None = None) -> Counts:
    now = now or timezone.now()
    stepping = Q(next_step_at__isnull=False) & ~Q(state__in=[S.RUNNING, S.PAUSED, S.STOPPED])
    row = MarketMakingOrder.objects.aggregate(
        waiting=Count("pk", filter=stepping & Q(next_step_at__lte=now)),
        delayed=Count("pk", filter=stepping & Q(next_step_at__gt=now)),
        active=Count("pk", filter=Q(state=S.RUNNING)),
        completed=Count("pk", filter=Q(state=S.EXIT_COMPLETE)),
        failed=Count("pk", filter=Q(state__in=[S.FAILED, S.REFUNDED])),
    )
    return {k: int(v or 0) for k, v in row.items()}
