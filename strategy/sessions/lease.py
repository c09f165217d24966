"""The lease a claimed session runs under: admitted before its run, re-checked under the
row lock before anything is written, given back with the session's next due time.

The single-session and batch runs share these guards, so both refuse for the same
reasons (`not_running`, `no_lease`, `lease_lost`, `invalid_params`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from mrmarket.exceptions import ValidationFailed
from mrmarket.pg import array_literal, server_cursor
from strategy.enums import SessionState
from strategy.models import StrategySession
from strategy.sessions.outcome import RunOutcome
from strategy.sessions.rows import Release, release

# A session whose parameters no longer validate is looked at again after this long.
INVALID_PARAMS_RETRY = timedelta(seconds=60)


def lease_admit(
    session: StrategySession | None, session_id: int, at: datetime
) -> RunOutcome | None:
    """None when the session may run now (running, lease live); else why it may not."""
    if session is None or session.state != SessionState.RUNNING:
        return RunOutcome(session_id=session_id, ran=False, reason="not_running")
    if session.lease_until is None or session.lease_until <= at:
        return RunOutcome(session_id=session_id, ran=False, reason="no_lease")
    return None


def lateness_ms(session: StrategySession, at: datetime) -> float:
    """How late a run starting at `at` is against the session's due time."""
    return (at - session.next_run_at).total_seconds() * 1000


def lease_invalid_params(
    session: StrategySession, at: datetime, exc: ValidationFailed
) -> RunOutcome:
    """Parameters that no longer validate: the session cannot quote; stop placing."""
    lease_release(session, next_run_at=at + INVALID_PARAMS_RETRY, error=str(exc))
    return RunOutcome(session_id=session.pk, ran=False, reason="invalid_params")


def shed_allowed(session: StrategySession, at: datetime, refresh: timedelta) -> bool:
    """Shedding skips a slot, it never starves a session: a session that has not run for
    STRATEGY_SHED_MAX_PERIODS refresh periods (or never ran) runs however late. When every run is late (workers
    behind under CPU pressure), each session still runs at least every other slot instead
    of being shed forever and never quoting (the soak, decision 0610)."""
    periods = max(settings.STRATEGY_SHED_MAX_PERIODS, 1)
    return session.last_run_at is not None and at - session.last_run_at < periods * refresh


def lease_shed(session: StrategySession, at: datetime, refresh: timedelta) -> RunOutcome:
    """Too late to be worth running (STRATEGY_MAX_LATENESS_MS): skip to the next slot
    instead of queueing stale work; the per-tick checks still guard the session's orders."""
    lease_release(session, next_run_at=next_due(due=session.next_run_at, now=at, refresh=refresh))
    return RunOutcome(
        session_id=session.pk, ran=False, reason="shed", lateness_ms=lateness_ms(session, at)
    )


def lease_still_ours(row: StrategySession | None, claimed: StrategySession) -> bool:
    """The locked row still carries the lease the session was claimed with, and runs."""
    return (
        row is not None
        and row.lease_token == claimed.lease_token
        and row.state == SessionState.RUNNING
    )


def lease_lock(session: StrategySession, now: datetime) -> StrategySession | None:
    """Inside a transaction: the session's row, locked, if its lease is still ours (skip
    if locked: someone runs it now)."""
    locked = (
        StrategySession.objects.select_for_update(skip_locked=True)
        .filter(pk=session.pk, lease_token=session.lease_token, lease_until__gt=now)
        .first()
    )
    return locked if lease_still_ours(locked, session) else None


def lease_lock_many(
    sessions: Iterable[StrategySession], now: datetime
) -> dict[int, StrategySession]:
    """`lease_lock` of many sessions in one query: those whose row still carries the lease
    they were read with (and runs). Only the lease holder writes the row's run fields, so
    the session as read before the lock stays valid; no model is built here. The two fields
    the tracker writes (`last_fill_at`, `engine_state`, on fills, under this row lock) are
    taken from the locked row: a fill recorded since the claim is seen, and the run's
    write of `engine_state` cannot lose it."""
    claimed = {s.pk: s for s in sessions}
    rows: Iterable[tuple[int, str, datetime | None, Any]]
    if connection.vendor == "postgresql":  # a constant statement: no ORM query building
        with server_cursor() as cursor:
            cursor.execute(_LOCK_MANY, [array_literal(claimed), now])
            rows = [
                (pk, token, fill, json.loads(state) if isinstance(state, str) else state)
                for pk, token, fill, state in cursor.fetchall()
            ]
    else:
        rows = (
            StrategySession.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(claimed), lease_until__gt=now, state=SessionState.RUNNING)
            .values_list("pk", "lease_token", "last_fill_at", "engine_state")
        )
    locked: dict[int, StrategySession] = {}
    for pk, token, last_fill_at, engine_state in rows:
        session = claimed[pk]
        if token == session.lease_token:
            session.last_fill_at, session.engine_state = last_fill_at, engine_state
            locked[pk] = session
    return locked


_LOCK_MANY = (
    f"SELECT id, lease_token, last_fill_at, engine_state FROM {StrategySession._meta.db_table} "  # noqa: S608
    f"WHERE id = ANY(%s::bigint[]) AND lease_until > %s AND state = '{SessionState.RUNNING.value}' "
    "FOR UPDATE SKIP LOCKED"
)


def lease_release(
    session: StrategySession, *, next_run_at: datetime | None, error: str = ""
) -> None:
    """Give the lease back; `next_run_at` None keeps the session due (next tick retries).
    Inside `rows.releases_batched()` the batch's releases are written in one statement."""
    release(Release(session.pk, session.lease_token, next_run_at, error))


def next_due(*, due: datetime, now: datetime, refresh: timedelta) -> datetime:
    """When a session that was due at `due` and runs at `now` is due next.

    One refresh after it was *due*, not after it ran: otherwise every run inherits the
    tick's quantization (due between two ticks, claimed at the next) and the session drifts
    to one run per refresh + one tick, always about one tick late (0550). A run later than
    half a refresh restarts the cadence from now, so a backlog never turns into a burst of
    runs close together."""
    scheduled = due + refresh
    return scheduled if scheduled >= now + refresh / 2 else now + refresh
