"""One pure market-making run's writes, inside the caller's transaction with the session
row and the pair lock held: the diff's cancels, the accepted places (one generation), the
session row released with its next due time, and the executor kicked after commit."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from django.conf import settings

from exchanges.venues.base import OrderSide
from strategy import marketdata, risk
from strategy.decisions import decision_record
from strategy.intents import cancel_intent_create, enqueue_on_commit, place_withdraw, places_write
from strategy.live import LiveView, PairContext
from strategy.models import StrategySession
from strategy.pmm.decide import (
    Prepared,
    budget_gate,
    places_check,
    pmm_plan,
)
from strategy.quoting.diff import QuotePlan
from strategy.quoting.stp import RestingOrder
from strategy.sessions.lease import next_due
from strategy.sessions.outcome import RunOutcome

log = structlog.get_logger(__name__)


def cancels_write(
    session: StrategySession, quotes: QuotePlan, view: LiveView, *, now: datetime
) -> tuple[list[int], set[str]]:
    """(new cancel intent ids, client ids of places withdrawn before they were sent)."""
    by_cid = {o.client_order_id: o for o in view.tracked}
    pending_by_cid = {i.client_order_id: i for i in view.places}
    cancel_ids: list[int] = []
    withdrawn: set[str] = set()
    for order in quotes.cancels:
        cid = order.client_order_id
        if cid in pending_by_cid:
            # Not sent yet: withdraw it; one already being sent is cancelled next run.
            if place_withdraw(pending_by_cid[cid], why="superseded by a newer quote"):
                withdrawn.add(cid)
            continue
        target = by_cid[cid]
        intent = cancel_intent_create(
            session,
            exchange_id=target.exchange_id,
            account_index=target.account_index,
            symbol=target.symbol,
            cid=cid,
            side=target.side,
            reason=str(quotes.reasons.get(cid, "")),
            now=now,
        )
        if intent is not None:
            cancel_ids.append(intent.pk)
    return cancel_ids, withdrawn


def pmm_decide_and_write(
    session: StrategySession,
    prepared: Prepared,
    ctx: PairContext,
    *,
    now: datetime,
    lateness: float,
) -> RunOutcome:
    """Inside the caller's transaction, with the session row and the pair lock held:
    plan → cancels → kill switches, self-trade prevention and risk → budget gate → places
    → the session row released."""
    params, market = prepared.params, prepared.snap.market
    view = ctx.views[session.pk]
    plan = pmm_plan(session, prepared, view, now=now)
    if settings.STRATEGY_DECISION_RECORDS:
        snap = prepared.snap
        decision_record(
            session_id=session.pk,
            run_at=now,
            slot=marketdata.slot_of(marketdata.tick_of(snap.fetched_at)),
            snapshot=snap,
            params=session.params,
            inputs=plan.inputs,
            quotes=plan.desired,
        )
    cancel_ids, withdrawn = cancels_write(session, plan.quotes, view, now=now)

    halt = risk.halt_for(
        ctx.halts, exchange_id=session.exchange_id, symbol=session.symbol, session_id=session.pk
    )
    checked = places_check(
        session,
        plan,
        params=params,
        halted=halt is not None,
        resting=[r for r in ctx.resting if r.client_order_id not in withdrawn],
    )
    accepted, deferred = budget_gate(
        list(checked.risk.allowed), view=view, plan=plan, maker_fee=market.maker_fee
    )

    generation = session.generation + (1 if accepted else 0)
    created = places_write(session, accepted, generation=generation, now=now) if accepted else []
    place_ids = [i.pk for i in created]
    notes = []
    if halt is not None:
        notes.append(f"halted ({halt.scope}:{halt.key or '*'}): {halt.reason}")
    notes += [f"{q.side}{q.level}:{why}" for q, why in checked.risk.rejected]
    StrategySession.objects.filter(pk=session.pk).update(
        lease_until=None,
        lease_token="",
        next_run_at=next_due(
            due=session.next_run_at,
            now=now,
            refresh=timedelta(milliseconds=params.order_refresh_time_ms),
        ),
        last_run_at=now,
        run_count=session.run_count + 1,
        generation=generation,
        deferred_places=deferred,
        last_error="; ".join(notes)[:500],
    )
    ctx.apply(
        session.pk,
        withdrawn=withdrawn,
        added=[
            RestingOrder(side=OrderSide(i.side), price=i.price, client_order_id=i.client_order_id)
            for i in created
            if i.price is not None
        ],
    )
    enqueue_on_commit(cancel_ids + place_ids)  # cancels first
    if checked.stp.dropped or checked.risk.rejected or halt:
        log.info(
            "strategy_session_places_held",
            session_id=session.pk,
            stp_dropped=len(checked.stp.dropped),
            risk_rejected=len(checked.risk.rejected),
            halted=halt is not None,
        )
    return RunOutcome(
        session_id=session.pk,
        ran=True,
        lateness_ms=lateness,
        places=len(place_ids),
        cancels=len(cancel_ids),
        intent_ids=cancel_ids + place_ids,
    )
