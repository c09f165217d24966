"""Decisions skipped early when nothing moved (issue 20): a run whose inputs (book, last
price, budget, fills, live orders, intents in flight, parameters) are those of the
session's last decision that changed nothing, with no order due by age, writes nothing but
its session row; anything that moved makes it decide again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orders.services.seams import order_terms
from strategy.models import DecisionRecord, OrderIntent, StrategySession
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from tests.strategy.runtime_support import (
    claim,
    committed,
    drain,
    funded_order,
    paper_market,
    pmm_params,
    tick,
)

pytestmark = pytest.mark.django_db


def _due_now(session: StrategySession, market: Any) -> list[Any]:
    StrategySession.objects.filter(pk=session.pk).update(next_run_at=market.clock.dt())
    return [o for b in claim().batches for o in committed(sessions_run, session_ids=b)]


def test_a_run_with_nothing_moved_is_skipped_and_a_move_decides_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market = paper_market(monkeypatch)  # no volatility: the book stays put
    order = funded_order(
        market, base=Decimal("10"), quote=Decimal("2000"), params=pmm_params(market)
    )
    session = committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)  # places 4 orders
    intents = OrderIntent.objects.count()
    # the next decision sees its orders where it wants them: it changes nothing
    [first] = _due_now(session, market)
    assert (first.ran, first.places, first.cancels) == (True, 0, 0)
    decisions = DecisionRecord.objects.count()
    # due again with nothing moved: skipped, only the session row changes
    [again] = _due_now(session, market)
    assert (again.ran, again.reason) == (False, "unchanged")
    assert OrderIntent.objects.count() == intents
    assert DecisionRecord.objects.count() == decisions
    session.refresh_from_db()
    assert session.lease_until is None and session.next_run_at > market.clock.dt()
    # something moved (here the parameters: max age 1 s, and 2 s pass): it decides again
    drain(market)
    StrategySession.objects.filter(pk=session.pk).update(
        params=session.params | {"maxOrderAge": 1000}
    )
    market.clock.advance(2)
    [moved] = _due_now(session, market)
    assert moved.ran and moved.cancels == 4
