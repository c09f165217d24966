"""The run of claimed sessions (`strategy_sessions_run_task`): a batch, or one session.

A batch's pure market-making sessions share one transaction (`strategy.pmm.run`);
arbitrage sessions run one by one (`strategy.arbitrage.run`). Every run is a no-op unless
its session still holds the lease the tick claimed it with (`strategy.sessions.lease`).
No venue is called inside a run; the executor sends the intents after commit.
"""

from __future__ import annotations

import structlog
from django.db import connection

from mrmarket.exceptions import ValidationFailed
from mrmarket.pg import array_literal
from strategy import venues
from strategy.arbitrage.run import arbitrage_run
from strategy.enums import SessionKind
from strategy.models import StrategySession
from strategy.pmm.run import pmm_batch_run, pmm_run
from strategy.sessions.lease import lease_invalid_params
from strategy.sessions.outcome import RunOutcome

log = structlog.get_logger(__name__)


def sessions_run(*, session_ids: list[int]) -> list[RunOutcome]:
    """Run a batch: its pure market-making sessions share one transaction (row locks, the
    pair locks, kill switches, resting orders and live views read once, a savepoint per
    session); arbitrage sessions run one by one."""
    outcomes: dict[int, RunOutcome] = {}
    # One read for the batch; each run re-checks its row under lock before writing.
    prefetched = sessions_by_id(session_ids)
    pmm: list[StrategySession] = []
    for session_id in session_ids:
        session = prefetched.get(session_id)
        if session is not None and session.kind == SessionKind.PURE_MARKET_MAKING:
            pmm.append(session)
            continue
        outcomes[session_id] = _run_guarded(session_id, session)
    if pmm:
        try:
            outcomes.update(pmm_batch_run(pmm))
        except Exception:  # the shared transaction failed: fall back to one run at a time
            log.exception("strategy_batch_run_crashed", sessions=len(pmm))
            for session in pmm:
                outcomes[session.pk] = _run_guarded(session.pk, session)
    return [outcomes[i] for i in session_ids if i in outcomes] + [
        RunOutcome(session_id=i, ran=False, reason="not_running")
        for i in session_ids
        if i not in outcomes
    ]


def sessions_by_id(session_ids: list[int]) -> dict[int, StrategySession]:
    """`in_bulk` of a batch; on PostgreSQL one constant statement over an id array (no ORM
    query building per batch)."""
    if connection.vendor != "postgresql":
        return StrategySession.objects.in_bulk(session_ids)
    found = StrategySession.objects.raw(_SESSIONS_BY_ID, [array_literal(session_ids)])
    return {s.pk: s for s in found}


_SESSIONS_BY_ID = f"SELECT * FROM {StrategySession._meta.db_table} WHERE id = ANY(%s::bigint[])"  # noqa: S608


def _run_guarded(session_id: int, session: StrategySession | None) -> RunOutcome:
    try:
        return session_run(session_id=session_id, prefetched=session)
    except Exception:  # one broken session must not starve the rest of its batch
        log.exception("strategy_session_run_crashed", session_id=session_id)
        return RunOutcome(session_id=session_id, ran=False, reason="crashed")


def session_run(*, session_id: int, prefetched: StrategySession | None = None) -> RunOutcome:
    """Run one claimed session. A no-op unless the session holds a live lease."""
    started = venues.now()
    session = prefetched or StrategySession.objects.filter(pk=session_id).first()
    if session is None:
        return RunOutcome(session_id=session_id, ran=False, reason="not_running")
    try:
        if session.kind == SessionKind.ARBITRAGE:
            return arbitrage_run(session, started)
        return pmm_run(session, started)
    except ValidationFailed as exc:
        return lease_invalid_params(session, started, exc)
