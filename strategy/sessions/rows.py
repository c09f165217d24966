"""Session rows written in bulk: the leases a batch gives back and the rows its runs
finish, one UPDATE each per batch instead of one per session (issue 20).

On PostgreSQL a single `UPDATE ... FROM (VALUES ...)`; elsewhere (the embedded SQLite
mode, a handful of sessions) one ORM update per row, with the same conditions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from mrmarket.pg import array_literal, server_cursor
from strategy.models import StrategySession


@dataclass(frozen=True)
class Release:
    """Give a lease back (only if `token` still holds it); `next_run_at` None keeps the
    session due."""

    pk: int
    token: str
    next_run_at: datetime | None
    error: str = ""


@dataclass(frozen=True)
class Finish:
    """A run that decided: lease cleared, next due time, counters and notes."""

    pk: int
    next_run_at: datetime
    last_run_at: datetime
    run_count: int
    generation: int
    deferred_places: bool
    last_error: str
    # The session's new `engine_state` (None: left as it is). The row is locked by the
    # run's transaction since its state was read, so no fill recorded meanwhile is lost.
    engine_state: dict[str, Any] | None = None


_PENDING: ContextVar[list[Release] | None] = ContextVar("strategy_releases", default=None)


def release(item: Release) -> None:
    """Give a lease back now, or at the end of the enclosing `releases_batched()`."""
    pending = _PENDING.get()
    if pending is not None:
        pending.append(item)
    else:
        releases_write([item])


@contextmanager
def releases_batched() -> Iterator[None]:
    """Releases made inside are written in one statement when the block ends."""
    pending: list[Release] = []
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
        releases_write(pending)


_TABLE = StrategySession._meta.db_table
# One array per column (constant statements: psycopg converts them once and prepares them).
_RELEASES = (
    f"UPDATE {_TABLE} AS s SET lease_until = NULL, lease_token = '', "  # noqa: S608
    "last_error = v.err, next_run_at = COALESCE(v.due, s.next_run_at) "
    "FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::text[]) "
    "AS v(id, token, due, err) WHERE s.id = v.id AND s.lease_token = v.token"
)
_FINISHES = (
    f"UPDATE {_TABLE} AS s SET lease_until = NULL, lease_token = '', "  # noqa: S608
    "next_run_at = v.due, last_run_at = v.ran, run_count = v.runs, "
    "generation = v.gen, deferred_places = v.deferred, last_error = v.err, "
    "engine_state = COALESCE(v.state, s.engine_state) "
    "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[], %s::bigint[], "
    "%s::bigint[], %s::boolean[], %s::text[], %s::jsonb[]) "
    "AS v(id, due, ran, runs, gen, deferred, err, state) WHERE s.id = v.id"
)


def releases_write(items: Sequence[Release]) -> None:
    if not items:
        return
    if connection.vendor != "postgresql":
        for r in items:
            fields: dict[str, object] = {
                "lease_until": None,
                "lease_token": "",
                "last_error": r.error[:500],
            }
            if r.next_run_at is not None:
                fields["next_run_at"] = r.next_run_at
            StrategySession.objects.filter(pk=r.pk, lease_token=r.token).update(**fields)
        return
    with server_cursor() as cursor:
        cursor.execute(
            _RELEASES,
            [
                array_literal(r.pk for r in items),
                array_literal(r.token for r in items),
                array_literal(r.next_run_at for r in items),
                array_literal(r.error[:500] for r in items),
            ],
        )


def finishes_write(items: Sequence[Finish]) -> None:
    """Inside the run's transaction (the rows are locked by it)."""
    if not items:
        return
    if connection.vendor != "postgresql":
        for f in items:
            StrategySession.objects.filter(pk=f.pk).update(
                lease_until=None,
                lease_token="",
                next_run_at=f.next_run_at,
                last_run_at=f.last_run_at,
                run_count=f.run_count,
                generation=f.generation,
                deferred_places=f.deferred_places,
                last_error=f.last_error[:500],
                **({} if f.engine_state is None else {"engine_state": f.engine_state}),
            )
        return
    with server_cursor() as cursor:
        cursor.execute(
            _FINISHES,
            [
                array_literal(f.pk for f in items),
                array_literal(f.next_run_at for f in items),
                array_literal(f.last_run_at for f in items),
                array_literal(f.run_count for f in items),
                array_literal(f.generation for f in items),
                array_literal(f.deferred_places for f in items),
                array_literal(f.last_error[:500] for f in items),
                array_literal(
                    None if f.engine_state is None else json.dumps(f.engine_state) for f in items
                ),
            ],
        )
