"""System status: market data is stale when the sessions that need it keep skipping for it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mrmarket.health import system_status
from orders.services.seams import order_terms
from strategy.health import MARKET_DATA_STALE_SECONDS
from strategy.models import StrategySession
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from strategy.tick import strategy_tick
from tests.strategy.runtime_support import claim, committed, drain, funded_order, paper_market

pytestmark = pytest.mark.django_db


def _market_data_issue(now) -> list[dict]:
    return [i for i in system_status(now=now)["issues"] if i["component"] == "marketData"]


def test_sessions_skipping_for_market_data_make_it_an_issue_until_a_run_quotes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: a running session whose run found no fresh snapshot (the runner's own path)
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)
    result = committed(strategy_tick)
    assert [o.reason for o in committed(sessions_run, session_ids=result.batches[0])] == [
        "no_market_data"
    ]
    session.refresh_from_db()
    since = session.last_run_at or session.created_at
    # then: not yet past the limit, no issue; past it, the market is named, since its last run
    assert _market_data_issue(since + timedelta(seconds=MARKET_DATA_STALE_SECONDS)) == []
    later = since + timedelta(seconds=MARKET_DATA_STALE_SECONDS + 1)
    issues = _market_data_issue(later)
    assert [i["message"] for i in issues] == [
        f"no fresh market data for {market.venue} {market.symbol}"
    ]
    assert system_status(now=later)["marketData"]["stale"] == [f"{market.venue} {market.symbol}"]
    # when: the next tick refreshes the pair and the session runs
    result = claim()
    assert [o.ran for o in committed(sessions_run, session_ids=result.batches[0])] == [True]
    # then: the issue is gone
    assert _market_data_issue(later) == []
    assert StrategySession.objects.get(pk=session.pk).last_error == ""
