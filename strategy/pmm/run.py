"""Pure market making: the run of one claimed session and the run of a batch.

Outside any transaction each session is admitted (`strategy.sessions.lease`) and prepared:
the filled-order delay, the tick's cached market snapshot (never fetched here: none fresh
enough, the run skips and the session stays due). Then, in one transaction, the session
rows are locked and their leases re-checked, the pair locks taken in key order, the pair
context read once, and each session decided and written in its own savepoint, so one
failure loses only its own run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import DatabaseError, transaction

from mrmarket.exceptions import ValidationFailed
from strategy import marketdata, venues
from strategy.enums import SessionState
from strategy.intents import enqueue_on_commit, session_cancel_all
from strategy.live import PairContext
from strategy.memo import batch_memo
from strategy.models import StrategySession
from strategy.params import PriceSourceType
from strategy.params.market import validate_for_market
from strategy.pmm.decide import Prepared
from strategy.pmm.parse import pmm_params, pmm_params_and_digest
from strategy.pmm.write import BatchWrites, pmm_decide_and_write
from strategy.quoting.pure_mm import in_filled_order_delay
from strategy.saturation import shed_count
from strategy.sessions.lease import (
    lateness_ms,
    lease_admit,
    lease_invalid_params,
    lease_lock,
    lease_lock_many,
    lease_release,
    lease_shed,
    shed_allowed,
)
from strategy.sessions.locks import pair_lock, pair_locks_take
from strategy.sessions.outcome import RunOutcome
from strategy.sessions.rows import releases_batched

log = structlog.get_logger(__name__)


def pmm_prepare(session: StrategySession, started: datetime) -> Prepared | RunOutcome:
    """Outside any transaction: the filled-order delay and the tick's market data."""
    params, digest = pmm_params_and_digest(session.params)
    refresh = timedelta(milliseconds=params.order_refresh_time_ms)
    if in_filled_order_delay(params=params, now=started, last_fill_at=session.last_fill_at):
        # No re-creation during the delay; the orders stay (Hummingbot keeps them, 0350),
        # and the per-tick checks (`strategy.pmm.guard`) still cancel the ones that fail.
        assert session.last_fill_at is not None
        resume = session.last_fill_at + timedelta(milliseconds=params.filled_order_delay_ms)
        lease_release(session, next_run_at=min(resume, started + refresh))
        return RunOutcome(session_id=session.pk, ran=False, reason="filled_order_delay")
    snap = marketdata.snapshot_get(
        exchange_id=session.exchange_id,
        symbol=session.symbol,
        tick=session.claimed_tick,
        with_last=params.price_source_type is PriceSourceType.LAST_PRICE,
    )
    oracle = None
    if params.oracle_exchange_name is not None:
        oracle = marketdata.snapshot_get(
            exchange_id=params.oracle_exchange_name,
            symbol=session.symbol,
            tick=session.claimed_tick,
        )
    if snap is None or (params.oracle_exchange_name is not None and oracle is None):
        lease_release(session, next_run_at=None, error="market data unavailable this tick")
        return RunOutcome(session_id=session.pk, ran=False, reason="no_market_data")
    try:
        validate_for_market(params, snap.market)
    except ValidationFailed as exc:
        return pmm_stop_unfit(session, exc)
    reference = marketdata.reference_mid(oracle) if oracle is not None else None
    return Prepared(params=params, snap=snap, reference=reference, digest=digest)


def pmm_stop_unfit(session: StrategySession, exc: ValidationFailed) -> RunOutcome:
    """Parameters the market can never fill (an amount below its lot or minimum): the
    session would quote nothing, silently, forever. It is stopped with the reason (what
    it had live is cancelled), which the order's and the console's views show."""
    reason = f"parameters do not fit {session.symbol} on {session.exchange_id}: {exc}"
    with transaction.atomic():
        stopped = StrategySession.objects.filter(
            pk=session.pk, lease_token=session.lease_token, state=SessionState.RUNNING
        ).update(
            state=SessionState.STOPPED,
            stop_reason=reason[:500],
            last_error=reason[:500],
            lease_until=None,
            lease_token="",
        )
        if stopped:
            enqueue_on_commit(session_cancel_all(session=session, reason="stopped: unfit params"))
    if stopped:
        log.warning("strategy_session_stopped_unfit", session_id=session.pk, reason=reason)
    return RunOutcome(session_id=session.pk, ran=False, reason="unfit_params")


def _admit_and_prepare(
    session: StrategySession, started: datetime
) -> tuple[Prepared, float] | RunOutcome:
    """The guards every run passes before its transaction (single and batch alike)."""
    refused = lease_admit(session, session.pk, started)
    if refused is not None:
        return refused
    lateness = lateness_ms(session, started)
    try:
        if lateness > settings.STRATEGY_MAX_LATENESS_MS:
            refresh = timedelta(milliseconds=pmm_params(session.params).order_refresh_time_ms)
            if shed_allowed(session, started, refresh):
                return lease_shed(session, started, refresh)
        prepared = pmm_prepare(session, started)
    except ValidationFailed as exc:
        return lease_invalid_params(session, started, exc)
    if isinstance(prepared, RunOutcome):
        return prepared
    return prepared, lateness


def pmm_run(session: StrategySession, started: datetime) -> RunOutcome:
    """One claimed session in its own transaction."""
    admitted = _admit_and_prepare(session, started)
    if isinstance(admitted, RunOutcome):
        shed_count(int(admitted.reason == "shed"), at=started)
        return admitted
    prepared, lateness = admitted
    with transaction.atomic():
        now = venues.now()
        locked = lease_lock(session, now)
        if locked is None:
            return RunOutcome(session_id=session.pk, ran=False, reason="lease_lost")
        pair_lock(locked.exchange_id, locked.symbol)
        ctx = PairContext.load(locked.exchange_id, locked.symbol, [locked])
        return pmm_decide_and_write(locked, prepared, ctx, now=now, lateness=lateness)


def pmm_batch_run(sessions: list[StrategySession]) -> dict[int, RunOutcome]:
    """Pure market-making sessions of a batch in one transaction: their rows locked at once
    (SKIP LOCKED, lease token checked per row), the lock of every (venue, pair) involved
    taken in key order (no deadlock between batches sharing pairs), kill switches, resting
    orders and live views read once; every session decides, then the batch's cancels,
    places, decision records and session rows are written in one statement each. A session
    whose decision fails adds nothing (its lease runs out and it is claimed again). Places
    decided by an earlier session of the batch join its pair's resting list, so
    self-trade prevention still sees every order. Sessions that do not run (shed, delayed,
    no market data) give their leases back in one statement too."""
    with batch_memo():
        return _batch_run(sessions)


def _batch_run(sessions: list[StrategySession]) -> dict[int, RunOutcome]:
    outcomes: dict[int, RunOutcome] = {}
    ready: list[tuple[StrategySession, Prepared]] = []
    with releases_batched():
        for session in sessions:
            admitted = _admit_and_prepare(session, venues.now())
            if isinstance(admitted, RunOutcome):
                outcomes[session.pk] = admitted
                continue
            ready.append((session, admitted[0]))
    shed_count(sum(o.reason == "shed" for o in outcomes.values()), at=venues.now())
    if not ready:
        return outcomes
    with transaction.atomic():
        locked = lease_lock_many([s for s, _ in ready], venues.now())
        held: list[tuple[StrategySession, Prepared]] = []
        for session, prepared in ready:
            row = locked.get(session.pk)
            if row is None:
                outcomes[session.pk] = RunOutcome(
                    session_id=session.pk, ran=False, reason="lease_lost"
                )
                continue
            held.append((row, prepared))
        if not held:
            return outcomes
        pairs = pair_locks_take((row.exchange_id, row.symbol) for row, _ in held)
        contexts = PairContext.load_many(pairs, [row for row, _ in held])
        writes = BatchWrites()
        writes.previous_load([row.pk for row, _ in held])
        for row, prepared in held:
            ctx = contexts[(row.exchange_id, row.symbol)]
            # Lateness from the moment this session's own run starts (not the batch's).
            now = venues.now()
            try:
                outcomes[row.pk] = pmm_decide_and_write(
                    row, prepared, ctx, now=now, lateness=lateness_ms(row, now), writes=writes
                )
            except DatabaseError:
                raise  # the transaction is broken: the runner retries one session at a time
            except Exception:
                log.exception("strategy_session_run_crashed", session_id=row.pk)
                ctx.rollback(row.pk)
                outcomes[row.pk] = RunOutcome(session_id=row.pk, ran=False, reason="crashed")
        writes.flush(now=venues.now())
    return outcomes
