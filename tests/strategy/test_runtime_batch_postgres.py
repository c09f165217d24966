"""Batches racing on real PostgreSQL transactions: every session of two overlapping
batches runs exactly once, and batches sharing pairs never deadlock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from orders.services.seams import order_terms
from strategy.models import OrderIntent, StrategySession
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from strategy.sessions.outcome import RunOutcome
from strategy.tick import strategy_tick
from tests.strategy.runtime_support import funded_order, paper_market, refresh_markets

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(fns: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(fns))
    results: list[Any] = [None] * len(fns)
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fns[i]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_overlapping_batches_run_every_session_exactly_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market = paper_market(monkeypatch)
    ids = []
    for _ in range(6):
        order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
        ids.append(session_start_for_order(terms=order_terms(order=order)).pk)
    refresh_markets(strategy_tick())
    # A redelivered message and a differently cut one race over the same sessions.
    results: list[list[RunOutcome]] = _race(
        [lambda: sessions_run(session_ids=ids), lambda: sessions_run(session_ids=ids[::-1])]
    )
    ran = [o.session_id for outcomes in results for o in outcomes if o.ran]
    assert sorted(ran) == sorted(ids)
    assert OrderIntent.objects.count() == 4 * len(ids)
    for session in StrategySession.objects.filter(pk__in=ids):
        assert session.run_count == 1 and session.lease_until is None
