"""The claim: in one short transaction, take the due running sessions and stamp them with
a lease (`lease_until`, `lease_token`, `claimed_tick`); not a pure market-making session
whose intents still wait for the executor.

`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so two ticks never claim one session;
on SQLite the IMMEDIATE transaction serializes the claim. A lease that ran out (a worker
died mid-run) makes the session claimable again.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from strategy.enums import IntentStatus, SessionKind, SessionState
from strategy.models import OrderIntent, StrategySession

# (pk, exchange_id, symbol, kind, exchange_b_id, params): what the tick needs to batch the
# claimed sessions and refresh the markets they read.
ClaimedRow = tuple[int, str, str, str, str, dict[str, object]]


def _intents_waiting(now: datetime) -> QuerySet[OrderIntent, Any]:
    """Sessions whose intents still wait for the executor (pending and due). A pure
    market-making session among them is not claimed until the executor has caught up: a
    run now would only write a generation superseding the one still queued, and the queue
    would hold both (the soak, decision 0610). It stays due, and counts as waiting in the
    tick's saturation report."""
    return OrderIntent.objects.filter(
        status=IntentStatus.PENDING, next_attempt_at__lte=now, session__isnull=False
    ).values("session_id")


def sessions_claim_due(*, now: datetime, tick: int, limit: int | None = None) -> list[ClaimedRow]:
    """Claim up to `limit` (default STRATEGY_TICK_MAX_CLAIM) due sessions, most overdue
    first."""
    limit = settings.STRATEGY_TICK_MAX_CLAIM if limit is None else limit
    if limit <= 0:
        return []
    lease_until = now + timedelta(seconds=settings.STRATEGY_LEASE_SECONDS)
    with transaction.atomic():
        due = (
            StrategySession.objects.filter(state=SessionState.RUNNING, next_run_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .exclude(kind=SessionKind.PURE_MARKET_MAKING, pk__in=_intents_waiting(now))
            .order_by("next_run_at", "id")
        )
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        rows: list[ClaimedRow] = list(
            due.values_list("pk", "exchange_id", "symbol", "kind", "exchange_b_id", "params")[
                :limit
            ]
        )
        if rows:
            StrategySession.objects.filter(pk__in=[r[0] for r in rows]).update(
                lease_until=lease_until, lease_token=uuid.uuid4().hex, claimed_tick=tick
            )
    return rows
