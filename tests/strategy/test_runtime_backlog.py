"""Workers behind (the soak under CPU pressure, decision 0610): the runtime's own messages do
not grow the backlog, and no session is starved of runs.

- the sweeper re-drives only intents with no execute message on its way (before: a copy of
  every overdue intent each sweep, so a backlog fed itself);
- a venue account has at most one sync waiting (before: one per fan-out, every 2 s, however
  long each took);
- a run later than the cap is shed to its next slot, but never twice in a row: a session
  late at every slot still runs every other slot (before: shed forever, never quoting);
- a session whose intents still wait for the executor is not run again until they are
  done (before: each run wrote a generation superseding the one still queued);
- a sync writes only the tracked orders that changed.
"""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache

from orders.services.seams import order_terms
from strategy import dispatch, tasks
from strategy.models import OrderIntent, StrategySession
from strategy.runner import sessions_run
from strategy.services import session_start_for_order, strategy_sweep
from strategy.tracking import venue_account_sync
from tests.strategy.runtime_support import claim, committed, drain, funded_order, paper_market

pytestmark = pytest.mark.django_db


def _running(monkeypatch: pytest.MonkeyPatch, n: int = 1) -> tuple[Any, list[StrategySession]]:
    market = paper_market(monkeypatch)
    sessions = []
    for _ in range(n):
        order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
        sessions.append(committed(session_start_for_order, terms=order_terms(order=order)))
    drain(market)
    return market, sessions


def test_the_sweeper_does_not_copy_intents_whose_message_is_still_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, _ = _running(monkeypatch)
    for batch in claim().batches:
        committed(sessions_run, session_ids=batch)
    # given: the run's place intents were sent on commit, and sit in a queue nobody serves
    # (its oldest waiting message was sent a minute ago)
    waiting = sorted(a[0] for a in market.broker.take("order_intent_execute_task"))
    assert len(waiting) == 4
    queue_oldest = [time.time() - 60]
    monkeypatch.setattr(dispatch, "oldest_waiting_sent_at", lambda: queue_oldest[0])
    # when: they are long overdue and the sweeper runs again and again
    market.clock.advance(20)
    for _ in range(3):
        committed(strategy_sweep)
    # then: no copies; the messages already waiting will do
    assert market.broker.take("order_intent_execute_task") == []
    # when: one message is lost (its marker ran out without the task ever starting)
    cache.delete(dispatch.INTENT_QUEUED_KEY.format(intent_id=waiting[0]))
    committed(strategy_sweep)
    committed(strategy_sweep)
    # then: that intent alone is re-driven, once
    assert market.broker.take("order_intent_execute_task") == [(waiting[0],)]
    # when: the queue moved past the others (the oldest waiting message is newer: theirs
    # were taken, by a worker that was then killed), they are re-driven, once
    queue_oldest[0] = time.time() + 1
    committed(strategy_sweep)
    redriven = sorted(a[0] for a in market.broker.take("order_intent_execute_task"))
    assert redriven == waiting
    queue_oldest[0] = time.time() - 1  # the copies now wait in the queue
    committed(strategy_sweep)
    assert market.broker.take("order_intent_execute_task") == []


def test_an_executed_intent_that_must_wait_again_can_be_re_driven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, _ = _running(monkeypatch)
    for batch in claim().batches:
        committed(sessions_run, session_ids=batch)
    first = market.broker.take("order_intent_execute_task")[0][0]
    # the execute task started (its message is gone) but the intent is not due yet
    OrderIntent.objects.filter(pk=first).update(
        next_attempt_at=market.clock.dt() + timedelta(seconds=5)
    )
    committed(tasks.order_intent_execute_task.run, intent_id=first)
    assert OrderIntent.objects.get(pk=first).status == "pending"
    # when it is overdue, nothing is on its way for it: the sweeper re-drives it
    market.clock.advance(10)
    committed(strategy_sweep)
    assert (first,) in market.broker.take("order_intent_execute_task")


def test_a_venue_account_has_at_most_one_sync_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    market, _ = _running(monkeypatch)
    market.broker.take("venue_account_sync_task")
    # when: beat's fan-out runs three times while the workers are behind
    for _ in range(3):
        committed(tasks.venue_accounts_sync_task.run)
    # then: one sync waits, not three
    assert market.broker.take("venue_account_sync_task") == [(market.venue, 0)]
    # an on-demand request (a fill, an arbitrage leg) joins the one waiting
    assert not dispatch.account_sync_request(exchange_id=market.venue, account_index=0)
    # when: the sync starts, the next fan-out sends the next one
    committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    committed(tasks.venue_accounts_sync_task.run)
    assert market.broker.take("venue_account_sync_task") == [(market.venue, 0)]


OUTCOMES_EVERY_THIRD = ["ran", "shed", "shed", "ran", "shed", "shed", "unchanged"]


def _slot(market: Any, session: StrategySession, late_seconds: float) -> str:
    """Wait until the session is due, claim it, start its run `late_seconds` later."""
    session.refresh_from_db()
    market.clock.now = max(market.clock.now, session.next_run_at.timestamp())
    result = claim()
    market.clock.advance(late_seconds)
    outcomes = [o for b in result.batches for o in committed(sessions_run, session_ids=b)]
    drain(market)
    assert len(outcomes) == 1
    return "ran" if outcomes[0].ran else outcomes[0].reason


def test_a_session_late_at_every_slot_still_runs_every_other_slot(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_MAX_LATENESS_MS = 2000
    settings.STRATEGY_SHED_MAX_PERIODS = 2
    market, [session] = _running(monkeypatch)
    # every run starts 3 s after its session was due (the cap is 2 s): the workers are behind
    outcomes = [_slot(market, session, late_seconds=3) for _ in range(6)]
    # a session that never ran runs however late; then every other slot is shed, never two
    # (the third run finds nothing moved since the second decided to keep every order, so
    # it is skipped early: still a run, "unchanged")
    assert outcomes == ["ran", "shed", "ran", "shed", "unchanged", "shed"]
    session.refresh_from_db()
    assert session.run_count == 3
    assert OrderIntent.objects.filter(session=session, kind="place").exists()


def test_a_session_whose_intents_still_wait_for_the_executor_is_not_claimed_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, [session] = _running(monkeypatch)
    result = claim()
    for batch in result.batches:
        committed(sessions_run, session_ids=batch)
    # given: its four places wait in a queue the executor has not reached
    waiting = market.broker.take("order_intent_execute_task")
    assert len(waiting) == 4
    # when: its next slot comes
    session.refresh_from_db()
    market.clock.now = session.next_run_at.timestamp()
    outcomes = [o for b in claim().batches for o in committed(sessions_run, session_ids=b)]
    # then: it is not claimed, so no new generation supersedes them (the queue would hold
    # both); it stays due
    assert outcomes == []
    assert OrderIntent.objects.filter(session=session).count() == 4
    assert market.broker.take("order_intent_execute_task") == []
    # when: the executor has caught up, the session runs at its next slot
    for (intent_id,) in waiting:
        committed(tasks.order_intent_execute_task.run, intent_id=intent_id)
    session.refresh_from_db()
    market.clock.now = session.next_run_at.timestamp()
    outcomes = [o for b in claim().batches for o in committed(sessions_run, session_ids=b)]
    assert [o.ran for o in outcomes] == [True]


def test_a_run_that_is_late_once_is_shed_and_the_next_on_time_one_runs(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_MAX_LATENESS_MS = 2000
    market, [session] = _running(monkeypatch)
    assert _slot(market, session, late_seconds=0) == "ran"
    assert _slot(market, session, late_seconds=3) == "shed"
    assert _slot(market, session, late_seconds=0) == "ran"


def test_a_sync_writes_only_the_tracked_orders_that_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from strategy.models import TrackedOrder

    market, _ = _running(monkeypatch)
    for batch in claim().batches:
        committed(sessions_run, session_ids=batch)
    drain(market)
    assert TrackedOrder.objects.filter(status="open").count() == 4

    def tracked_updates() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            committed(venue_account_sync, exchange_id=market.venue, account_index=0)
        return [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].startswith("UPDATE") and "strategy_trackedorder" in q["sql"]
        ]

    # every order rests as the venue last said: nothing to write
    assert tracked_updates() == []
    # one order was missed once (not found): seen again, its count is reset, the rest untouched
    missed = TrackedOrder.objects.filter(status="open").first()
    assert missed is not None
    TrackedOrder.objects.filter(pk=missed.pk).update(not_found_count=1)
    assert len(tracked_updates()) == 1
    missed.refresh_from_db()
    assert missed.not_found_count == 0


def test_with_the_default_a_session_late_at_every_slot_runs_every_third_slot(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """STRATEGY_SHED_MAX_PERIODS (3): an overloaded box sheds two slots in three, so the
    runs that do happen start close to their due time, and none starves."""
    settings.STRATEGY_MAX_LATENESS_MS = 2000
    assert settings.STRATEGY_SHED_MAX_PERIODS == 3
    market, [session] = _running(monkeypatch)
    outcomes = [_slot(market, session, late_seconds=3) for _ in range(7)]
    assert outcomes == OUTCOMES_EVERY_THIRD
    session.refresh_from_db()
    assert session.run_count == 3
