"""Graceful overload (issue 20): a run that would start later than STRATEGY_MAX_LATENESS_MS
is shed — skipped to its next slot with no decision and no write but its due time — and the
tick reports how far behind the runtime is, through its heartbeat and
/health/system-status."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from mrmarket.models import Heartbeat
from orders.services.seams import order_terms
from strategy.models import OrderIntent, StrategySession
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from strategy.tick import strategy_tick
from tests.strategy.runtime_support import (
    claim,
    committed,
    drain,
    funded_order,
    paper_market,
    refresh_markets,
)

pytestmark = pytest.mark.django_db


def _sessions(monkeypatch: pytest.MonkeyPatch, n: int) -> tuple[Any, list[StrategySession]]:
    market = paper_market(monkeypatch)
    sessions = []
    for _ in range(n):
        order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
        sessions.append(committed(session_start_for_order, terms=order_terms(order=order)))
    drain(market)
    return market, sessions


def _ran_a_slot_ago(now: Any) -> None:
    """The sessions ran at their previous slot (one that never ran is never shed)."""
    StrategySession.objects.update(last_run_at=now - timedelta(seconds=10))


def test_a_run_later_than_the_cap_is_shed_to_its_next_slot(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_MAX_LATENESS_MS = 2000
    market, [late, on_time] = _sessions(monkeypatch, 2)
    due = market.clock.dt()
    _ran_a_slot_ago(due)
    result = claim()
    # the workers were behind: the batch starts 2.5 s after both were due ...
    StrategySession.objects.filter(pk=on_time.pk).update(next_run_at=due + timedelta(seconds=1))
    market.clock.advance(2.5)
    outcomes = {
        o.session_id: o for b in result.batches for o in committed(sessions_run, session_ids=b)
    }
    # ... so the session 2.5 s late is shed, the one 1.5 s late runs
    assert (outcomes[late.pk].ran, outcomes[late.pk].reason) == (False, "shed")
    assert outcomes[late.pk].lateness_ms == 2500
    assert outcomes[on_time.pk].ran
    late.refresh_from_db()
    # next slot: one refresh (10 s) after it was due; lease given back; nothing written
    assert late.next_run_at == due + timedelta(seconds=10)
    assert late.lease_until is None and late.run_count == 0
    assert not OrderIntent.objects.filter(session=late).exists()
    assert OrderIntent.objects.filter(session=on_time).count() == 4


def test_the_tick_reports_saturation_and_system_status_says_so(
    monkeypatch: pytest.MonkeyPatch, settings: Any, api: Any
) -> None:
    settings.STRATEGY_MAX_LATENESS_MS = 2000
    market, sessions = _sessions(monkeypatch, 3)
    # a quiet tick: nothing in flight, nothing waiting, nothing shed
    first = committed(strategy_tick)
    assert first.load is not None and not first.load.saturated
    assert (first.load.in_flight, first.load.oldest_wait_ms) == (0, 0)
    # the runs of the first tick never happen (workers behind) and a session waits 3 s
    StrategySession.objects.filter(pk=sessions[2].pk).update(
        lease_until=None, next_run_at=market.clock.dt() - timedelta(seconds=3)
    )
    refresh_markets(first)
    second = committed(strategy_tick)
    assert second.load is not None and second.load.saturated
    assert (second.load.in_flight, second.load.oldest_wait_ms) == (2, 3000)
    heartbeat = Heartbeat.objects.get(name="strategy_tick")
    assert heartbeat.payload["saturated"] is True
    # (the status compares the heartbeat with the wall clock; the runtime's clock is simulated)
    Heartbeat.objects.filter(name="strategy_tick").update(last_beat_at=timezone.now())

    status = api.get("/health/system-status").json()
    assert status["tick"]["saturation"] == {
        "saturated": True,
        "inFlight": 2,
        "oldestWaitMs": 3000,
        "shedLastMinute": 0,
        "maxLatenessMs": 2000,
    }
    assert {
        "component": "strategy_tick",
        "message": (
            "strategy tick saturated: 2 runs in flight, oldest due session waiting 3000 ms, "
            "0 runs shed (started over 2000 ms late) in the last minute"
        ),
        "since": None,
    } in status["issues"]


def test_shed_runs_are_counted_for_the_next_tick(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_MAX_LATENESS_MS = 500
    market, sessions = _sessions(monkeypatch, 2)
    _ran_a_slot_ago(market.clock.dt())
    result = claim()
    market.clock.advance(1)
    outcomes = [o for b in result.batches for o in committed(sessions_run, session_ids=b)]
    assert [o.reason for o in outcomes] == ["shed", "shed"]
    after = committed(strategy_tick)
    assert after.load is not None and after.load.shed_last_minute == 2
    assert after.load.saturated
