"""The claim: in one short transaction, take the due running sessions and stamp them with
a lease (`lease_until`, `lease_token`, `claimed_tick`).

`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so two ticks never claim one session;
on SQLite the IMMEDIATE transaction serializes the claim. A lease that ran out (a worker
died mid-run) makes the session claimable again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from strategy.enums import SessionState
from strategy.models import StrategySession

# (pk, exchange_id, symbol, kind, exchange_b_id, params): what the tick needs to batch the
# claimed sessions and refresh the markets they read.
ClaimedRow = tuple[int, str, str, str, str, dict[str, object]]


def sessions_claim_due(*, now: datetime, tick: int) -> list[ClaimedRow]:
    """Claim up to STRATEGY_TICK_MAX_CLAIM due sessions, most overdue first."""
    lease_until = now + timedelta(seconds=settings.STRATEGY_LEASE_SECONDS)
    with transaction.atomic():
        due = (
            StrategySession.objects.filter(state=SessionState.RUNNING, next_run_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_run_at", "id")
        )
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        rows: list[ClaimedRow] = list(
            due.values_list("pk", "exchange_id", "symbol", "kind", "exchange_b_id", "params")[
                : settings.STRATEGY_TICK_MAX_CLAIM
            ]
        )
        if rows:
            StrategySession.objects.filter(pk__in=[r[0] for r in rows]).update(
                lease_until=lease_until, lease_token=uuid.uuid4().hex, claimed_tick=tick
            )
    return rows
