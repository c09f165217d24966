"""The batch path of `sessions_run`: runs of one batch share a transaction and its reads,
yet each session keeps its own guarantees (lease, self-trade prevention, isolation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from exchanges.venues.base import OrderSide
from orders.services.seams import order_terms
from strategy import marketdata, risk
from strategy.models import OrderIntent, StrategySession
from strategy.pmm import decide as pmm_decide
from strategy.pmm import run as pmm_run
from strategy.quoting.stp import Bounds, RestingOrder, filter_self_trades, resting_bounds
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from strategy.sessions.lease import next_due
from tests.strategy.runtime_support import claim, committed, drain, funded_order, paper_market

pytestmark = pytest.mark.django_db


def _sessions(monkeypatch: pytest.MonkeyPatch, n: int) -> tuple[Any, list[int]]:
    market = paper_market(monkeypatch)
    ids = []
    for _ in range(n):
        order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
        ids.append(committed(session_start_for_order, terms=order_terms(order=order)).pk)
    drain(market)
    return market, ids


def test_one_batch_runs_every_session_once_and_later_runs_see_earlier_places(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, ids = _sessions(monkeypatch, 3)
    seen: list[Bounds] = []

    def spy(*, quotes: Any, bounds: Bounds) -> Any:
        seen.append(bounds)
        return filter_self_trades(quotes=quotes, bounds=bounds)

    monkeypatch.setattr(pmm_decide, "filter_self_trades", spy)
    result = claim()
    assert [sorted(b) for b in result.batches] == [sorted(ids)]
    outcomes = committed(sessions_run, session_ids=result.batches[0])
    assert [o.ran for o in outcomes] == [True, True, True]
    # Self-trade prevention of each run saw every place the earlier runs just wrote: its
    # bounds are those of the earlier runs' places.
    written: list[RestingOrder] = []
    for session_id, bounds in zip(result.batches[0], seen, strict=True):
        assert bounds == resting_bounds(written)
        written += [
            RestingOrder(side=OrderSide(side), price=price, client_order_id=cid)
            for side, price, cid in OrderIntent.objects.filter(session_id=session_id).values_list(
                "side", "price", "client_order_id"
            )
            if price is not None
        ]
    assert seen[-1].highest_bid is not None and seen[-1].lowest_ask is not None
    assert len(written) == 12
    for session in StrategySession.objects.filter(pk__in=ids):
        assert session.run_count == 1 and session.lease_until is None
    # A redelivered batch is a no-op: the leases are gone.
    again = committed(sessions_run, session_ids=result.batches[0])
    assert [o.ran for o in again] == [False, False, False]
    assert OrderIntent.objects.count() == 12


def test_a_session_that_lost_its_lease_is_skipped_and_the_rest_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, ids = _sessions(monkeypatch, 3)
    result = claim()
    real = pmm_run.pmm_prepare

    def reclaimed_meanwhile(session: Any, started: Any) -> Any:
        # After the batch read its rows, the lease expired and another tick claimed it.
        if session.pk == ids[1]:
            StrategySession.objects.filter(pk=ids[1]).update(lease_token="someone-else")
        return real(session, started)

    monkeypatch.setattr(pmm_run, "pmm_prepare", reclaimed_meanwhile)
    outcomes = {o.session_id: o for o in committed(sessions_run, session_ids=result.batches[0])}
    assert outcomes[ids[1]].ran is False and outcomes[ids[1]].reason == "lease_lost"
    assert outcomes[ids[0]].ran and outcomes[ids[2]].ran
    assert not OrderIntent.objects.filter(session_id=ids[1]).exists()
    assert OrderIntent.objects.filter(session_id__in=[ids[0], ids[2]]).count() == 8


def test_one_crashing_session_loses_only_its_own_run(monkeypatch: pytest.MonkeyPatch) -> None:
    market, ids = _sessions(monkeypatch, 3)
    real = risk.risk_filter
    calls = {"n": 0}

    def second_crashes(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(risk, "risk_filter", second_crashes)
    result = claim()
    outcomes = committed(sessions_run, session_ids=result.batches[0])
    assert [o.reason for o in outcomes if not o.ran] == ["crashed"]
    crashed = next(o.session_id for o in outcomes if not o.ran)
    assert not OrderIntent.objects.filter(session_id=crashed).exists()
    assert OrderIntent.objects.exclude(session_id=crashed).count() == 8
    session = StrategySession.objects.get(pk=crashed)
    assert session.run_count == 0 and session.lease_until is not None  # expires, then retried


def test_tick_cuts_a_pair_into_batches_of_the_configured_size(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_TICK_BATCH_SIZE = 2
    market, ids = _sessions(monkeypatch, 5)
    result = claim()
    assert [len(b) for b in result.batches] == [2, 2, 1]
    assert sorted(i for b in result.batches for i in b) == sorted(ids)


def test_ticks_shorter_than_the_slot_share_one_market_snapshot(settings: Any) -> None:
    settings.STRATEGY_TICK_MS = 250
    assert {marketdata.slot_of(t) for t in range(4000, 4004)} == {1000}
    assert marketdata.slot_of(4004) == 1001
    settings.STRATEGY_TICK_MS = 1000
    assert marketdata.slot_of(7) == 7


def test_a_late_run_keeps_the_cadence_and_a_very_late_one_restarts_it() -> None:
    due = datetime(2026, 1, 1, tzinfo=UTC)
    refresh = timedelta(seconds=10)
    assert next_due(due=due, now=due + timedelta(seconds=0.9), refresh=refresh) == (due + refresh)
    late = due + timedelta(seconds=6)
    assert next_due(due=due, now=late, refresh=refresh) == late + refresh


def test_run_schedules_one_refresh_after_it_was_due(monkeypatch: pytest.MonkeyPatch) -> None:
    market, ids = _sessions(monkeypatch, 1)
    session = StrategySession.objects.get(pk=ids[0])
    due = session.next_run_at
    market.clock.advance(0.7)  # claimed one tick after it was due
    result = claim()
    assert committed(sessions_run, session_ids=result.batches[0])[0].ran
    session.refresh_from_db()
    assert session.next_run_at == due + timedelta(seconds=10)


def test_the_tick_sends_refreshes_ahead_of_the_batches_only_when_saturated(
    settings: Any,
) -> None:
    from strategy.saturation import Load
    from strategy.tick import MarketNeed, TickResult, messages

    settings.STRATEGY_TICK_MAX_IN_FLIGHT = 200
    need = MarketNeed("paper", "BTC/USDT")
    keeping_up = TickResult(tick=1, batches=[[1, 2], [3]], markets=[need], load=Load(10, 0, 0))
    assert messages(keeping_up) == [[1, 2], [3], need]
    behind = TickResult(tick=1, batches=[[1, 2], [3]], markets=[need], load=Load(200, 0, 0))
    assert messages(behind) == [need, [1, 2], [3]]
