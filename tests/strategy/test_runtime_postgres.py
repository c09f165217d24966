"""Races on real PostgreSQL transactions: a session never runs twice at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from orders.services.seams import order_terms
from strategy.models import OrderIntent, StrategySession
from strategy.runner import session_run
from strategy.services import session_start_for_order
from strategy.sessions.outcome import RunOutcome
from strategy.tick import TickResult, strategy_tick
from tests.strategy.runtime_support import funded_order, paper_market, refresh_markets

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(fn: Callable[[], Any], n: int = 2) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_two_ticks_racing_never_claim_one_session_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    for _ in range(30):
        order = funded_order(market, base=Decimal("1"), quote=Decimal("100"))
        session_start_for_order(terms=order_terms(order=order))
    results: list[TickResult] = _race(strategy_tick)
    claimed = [{pk for batch in r.batches for pk in batch} for r in results]
    assert not (claimed[0] & claimed[1])
    assert len(claimed[0] | claimed[1]) == 30


def test_two_runs_racing_for_one_session_run_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = session_start_for_order(terms=order_terms(order=order))
    refresh_markets(strategy_tick())
    outcomes: list[RunOutcome] = _race(lambda: session_run(session_id=session.pk))
    assert sorted(o.ran for o in outcomes) == [False, True]
    assert OrderIntent.objects.filter(session=session).count() == 4
    session.refresh_from_db()
    assert session.run_count == 1 and session.lease_until is None
    assert StrategySession.objects.count() == 1
