"""One pure market-making run's writes, inside the caller's transaction with the session
row and the pair lock held: the diff's cancels, the accepted places (one generation), the
decision record and the session row released with its next due time, and the executor
kicked after commit.

A batch collects its runs' writes in `BatchWrites` and sends them in one statement each
(cancels, places, decision records, session rows) once every session has decided; a run
that fails while deciding adds nothing (its writes are merged only when it succeeds).
Withdrawing a place not sent yet is the one write made at once (rare: a place still
pending at the session's next refresh)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from exchanges.venues.base import OrderSide
from strategy import marketdata, risk
from strategy.decisions import DecisionBatch, params_hash
from strategy.intents import (
    CancelRow,
    PlaceRow,
    cancel_intents_bulk,
    enqueue_on_commit,
    place_rows,
    place_withdraw,
    places_insert,
)
from strategy.live import LiveView, PairContext
from strategy.models import StrategySession
from strategy.params import PureMarketMakingParams
from strategy.pmm.decide import (
    Prepared,
    age_due,
    budget_gate,
    decision_fingerprint,
    places_check,
    pmm_plan,
    session_budget,
)
from strategy.quoting.diff import QuotePlan
from strategy.quoting.stp import RestingOrder
from strategy.sessions.lease import next_due
from strategy.sessions.outcome import RunOutcome
from strategy.sessions.rows import Finish, finishes_write

log = structlog.get_logger(__name__)

FINGERPRINT_KEY = "strategy:fp:{pk}"
FINGERPRINT_TTL_SECONDS = 3600


@dataclass
class BatchWrites:
    """What the runs of one transaction write, sent in one statement per kind."""

    cancels: list[CancelRow] = field(default_factory=list)
    places: list[PlaceRow] = field(default_factory=list)
    decisions: DecisionBatch = field(default_factory=DecisionBatch)
    finishes: list[Finish] = field(default_factory=list)
    outcomes: list[RunOutcome] = field(default_factory=list)
    # Fingerprints of the batch's sessions' last empty decisions (read at the batch's
    # start), and of this batch's empty decisions (stored on commit).
    previous: dict[int, str] = field(default_factory=dict)
    settled: dict[int, str] = field(default_factory=dict)

    def previous_load(self, session_ids: list[int]) -> None:
        found = cache.get_many([FINGERPRINT_KEY.format(pk=pk) for pk in session_ids])
        self.previous = {int(k.rsplit(":", 1)[1]): v for k, v in found.items()}

    def flush(self, *, now: datetime) -> None:
        """Cancels, places, decision records, session rows; then each run's intent ids,
        and the executor kicked on commit (cancels first)."""
        cancel_ids = cancel_intents_bulk(self.cancels, now=now)
        place_ids = places_insert(self.places)
        self.decisions.flush()
        finishes_write(self.finishes)
        by_session: dict[int, list[int]] = {}
        for row in self.cancels:
            pk = cancel_ids.get(row.client_order_id)
            if pk is not None and row.session_id is not None:
                by_session.setdefault(row.session_id, []).append(pk)
        for place, pk in zip(self.places, place_ids, strict=True):
            by_session.setdefault(place.session_id, []).append(pk)
        for outcome in self.outcomes:
            outcome.intent_ids = by_session.get(outcome.session_id, [])
        enqueue_on_commit(list(dict.fromkeys(cancel_ids.values())) + place_ids)
        if self.settled:
            settled = {FINGERPRINT_KEY.format(pk=pk): fp for pk, fp in self.settled.items()}
            transaction.on_commit(lambda: cache.set_many(settled, timeout=FINGERPRINT_TTL_SECONDS))
        self.cancels, self.places, self.finishes, self.outcomes = [], [], [], []
        self.settled = {}


def cancel_rows(
    session: StrategySession, quotes: QuotePlan, view: LiveView
) -> tuple[list[CancelRow], set[str]]:
    """(cancels of tracked orders, client ids of places withdrawn before they were sent)."""
    by_cid = {o.client_order_id: o for o in view.tracked}
    pending_by_cid = {i.client_order_id: i for i in view.places}
    rows: list[CancelRow] = []
    withdrawn: set[str] = set()
    for order in quotes.cancels:
        cid = order.client_order_id
        if cid in pending_by_cid:
            # Not sent yet: withdraw it; one already being sent is cancelled next run.
            if place_withdraw(pending_by_cid[cid], why="superseded by a newer quote"):
                withdrawn.add(cid)
            continue
        target = by_cid[cid]
        rows.append(
            CancelRow(
                session_id=session.pk,
                exchange_id=target.exchange_id,
                account_index=target.account_index,
                symbol=target.symbol,
                client_order_id=cid,
                side=target.side,
                reason=str(quotes.reasons.get(cid, ""))[:40],
            )
        )
    return rows, withdrawn


def _finish(
    session: StrategySession,
    params: PureMarketMakingParams,
    now: datetime,
    *,
    generation: int,
    last_error: str,
    deferred_places: bool = False,
    engine_state: dict[str, Any] | None = None,
) -> Finish:
    """The session row of a run that decided (or skipped deciding): lease given back, due
    one refresh after it was due, counters and notes."""
    return Finish(
        pk=session.pk,
        next_run_at=next_due(
            due=session.next_run_at,
            now=now,
            refresh=timedelta(milliseconds=params.order_refresh_time_ms),
        ),
        last_run_at=now,
        run_count=session.run_count + 1,
        generation=generation,
        deferred_places=deferred_places,
        last_error=last_error,
        engine_state=engine_state,
    )


def _unchanged(
    session: StrategySession,
    params: PureMarketMakingParams,
    batch: BatchWrites,
    *,
    now: datetime,
    lateness: float,
    own: bool,
) -> RunOutcome:
    """A skipped decision: the session row released to its next due time, nothing else."""
    batch.finishes.append(
        _finish(session, params, now, generation=session.generation, last_error=session.last_error)
    )
    outcome = RunOutcome(session_id=session.pk, ran=False, reason="unchanged", lateness_ms=lateness)
    batch.outcomes.append(outcome)
    if own:
        batch.flush(now=now)
    return outcome


def pmm_decide_and_write(
    session: StrategySession,
    prepared: Prepared,
    ctx: PairContext,
    *,
    now: datetime,
    lateness: float,
    writes: BatchWrites | None = None,
) -> RunOutcome:
    """Inside the caller's transaction, with the session row and the pair lock held:
    plan → cancels → kill switches, self-trade prevention and risk → budget gate → places
    → the session row released. With `writes` the rows join the batch's (the caller
    flushes); without, they are written now."""
    own = writes is None
    batch = writes if writes is not None else BatchWrites()
    params, market = prepared.params, prepared.snap.market
    view = ctx.views[session.pk]
    budget = session_budget(session, view, market)
    digest = prepared.digest or params_hash(session.params)
    fingerprint = decision_fingerprint(session, prepared, view, budget, params_digest=digest)
    if batch.previous.get(session.pk) == fingerprint and not age_due(
        view, params, now, session.engine_state
    ):
        # Nothing moved since a decision that changed nothing: the same decision again.
        return _unchanged(session, params, batch, now=now, lateness=lateness, own=own)
    plan = pmm_plan(session, prepared, view, now=now, budget=budget)
    record = None
    if settings.STRATEGY_DECISION_RECORDS:
        snap = prepared.snap
        record = batch.decisions.record(
            digest=digest,
            session_id=session.pk,
            run_at=now,
            slot=marketdata.slot_of(marketdata.tick_of(snap.fetched_at)),
            snapshot=snap,
            params=session.params,
            inputs=plan.inputs,
            quotes=plan.desired,
        )
    cancels, withdrawn = cancel_rows(session, plan.quotes, view)

    halt = risk.halt_for(
        ctx.halts, exchange_id=session.exchange_id, symbol=session.symbol, session_id=session.pk
    )
    checked = places_check(
        session,
        plan,
        params=params,
        halted=halt is not None,
        bounds=ctx.bounds(without=withdrawn),
    )
    accepted, deferred = budget_gate(
        list(checked.risk.allowed), view=view, plan=plan, maker_fee=market.maker_fee
    )

    generation = session.generation + (1 if accepted else 0)
    places = place_rows(session, accepted, generation=generation, now=now)
    notes = []
    if halt is not None:
        notes.append(f"halted ({halt.scope}:{halt.key or '*'}): {halt.reason}")
    notes += [f"{q.side}{q.level}:{why}" for q, why in checked.risk.rejected]
    outcome = RunOutcome(
        session_id=session.pk,
        ran=True,
        lateness_ms=lateness,
        places=len(places),
        cancels=len(cancels),
    )
    # Decided: the run's writes join the batch (nothing above wrote but withdrawals).
    batch.cancels += cancels
    batch.places += places
    if record is not None:
        batch.decisions.rows.append(record)
    batch.finishes.append(
        _finish(
            session,
            params,
            now,
            generation=generation,
            last_error="; ".join(notes)[:500],
            deferred_places=deferred,
            engine_state=plan.engine_state,
        )
    )
    batch.outcomes.append(outcome)
    if not plan.quotes.places and not plan.quotes.cancels:
        batch.settled[session.pk] = fingerprint
    ctx.apply(
        session.pk,
        withdrawn=withdrawn,
        added=[
            RestingOrder(side=OrderSide(i.side), price=i.price, client_order_id=i.client_order_id)
            for i in places
        ],
    )
    if checked.stp.dropped or checked.risk.rejected or halt:
        log.info(
            "strategy_session_places_held",
            session_id=session.pk,
            stp_dropped=len(checked.stp.dropped),
            risk_rejected=len(checked.risk.rejected),
            halted=halt is not None,
        )
    if own:
        batch.flush(now=now)
    return outcome
