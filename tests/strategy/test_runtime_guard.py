"""The per-tick checks on the paper venue (issue 15): minimum spread, max order age and the
price band cancel failing orders on every tick for every running session, between its full
runs and during its filled-order delay, without a proposal; parameters that cannot fit the
market stop the session at its first run with the reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orders.services.seams import order_terms
from strategy import marketdata, venues
from strategy.enums import IntentKind, SessionState, TrackedStatus
from strategy.models import OrderIntent, StrategySession, TrackedOrder
from strategy.pmm.guard import sessions_guard
from strategy.services import session_start_for_order
from strategy.tracking import venue_account_sync
from tests.strategy.runtime_support import (
    Market,
    committed,
    csv_feed,
    drain,
    funded_order,
    paper_market,
    pmm_params,
    tick,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _session(market: Market, **overrides: Any) -> StrategySession:
    params = pmm_params(market, numberOfLayers=1, **overrides)
    order = funded_order(market, base=D("10"), quote=D("2000"), params=params)
    session: StrategySession = committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)
    return session


def _open(side: str) -> list[TrackedOrder]:
    return list(TrackedOrder.objects.filter(side=side, status=TrackedStatus.OPEN))


def _cancel_reasons() -> list[tuple[str, str]]:
    return sorted(OrderIntent.objects.filter(kind=IntentKind.CANCEL).values_list("side", "reason"))


def test_a_complete_fill_delays_re_creation_while_minimum_spread_still_cancels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given a bid at 99 and an ask at 101 around 100, minimum spread 0.5 %
    market = paper_market(monkeypatch)
    # the print at 98.9 (5 s) fills the whole bid; from 10 s the price is 100.8
    csv_feed(market, tmp_path, {5: ("98.9", "1"), 6: ("100", "0"), 10: ("100.8", "0")})
    session = _session(
        market, filledOrderDelay=60_000, orderRefreshTime=10_000, minimumSpread="0.005"
    )
    assert [o.price for o in _open("sell")] == [D("101")]
    market.clock.advance(6)
    committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    drain(market)
    assert _open("buy") == []
    session.refresh_from_db()
    assert session.last_fill_at is not None  # the delay started
    # when the session is due again inside the delay and the price has moved to 100.8
    market.clock.now = session.next_run_at.timestamp()
    tick(market)
    # then no bid is re-created, but the ask, 0.2 % from the price, is cancelled
    assert _open("buy") == [] and _open("sell") == []
    assert _cancel_reasons() == [("sell", "below_min_spread")]
    session.refresh_from_db()
    assert session.state == SessionState.RUNNING


def test_a_partial_fill_leaves_the_checks_and_quoting_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {5: ("98.9", "0.3"), 6: ("100", "0")})
    session = _session(market, filledOrderDelay=60_000, minimumSpread="0.005")
    market.clock.advance(6)
    committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    drain(market)
    [bid] = _open("buy")
    assert bid.filled == D("0.3")
    # every tick until the next refresh checks both orders and cancels nothing
    for _ in range(4):
        market.clock.advance(1)
        tick(market)
    assert _cancel_reasons() == []
    session.refresh_from_db()
    assert session.last_fill_at is None
    assert len(_open("buy")) == 1 and len(_open("sell")) == 1


def test_max_order_age_cancels_between_refreshes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {})
    session = _session(market, orderRefreshTime=60_000, maxOrderAge=5000)
    market.clock.advance(4)
    tick(market)
    assert _cancel_reasons() == []
    # past 5 s, every regular order goes, long before the session's next run (60 s)
    market.clock.advance(2)
    tick(market)
    assert _cancel_reasons() == [("buy", "max_age"), ("sell", "max_age")]
    assert _open("buy") == [] and _open("sell") == []
    session.refresh_from_db()
    assert session.run_count == 1


def test_the_price_band_cancels_bids_once_the_price_reaches_the_ceiling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {3: ("100.6", "0")})
    _session(market, orderRefreshTime=60_000, ceilingPrice="100.5")
    market.clock.advance(4)
    tick(market)
    assert _cancel_reasons() == [("buy", "price_band")]
    assert len(_open("sell")) == 1


def test_the_checks_run_once_per_tick_however_often_delivered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {})
    _session(market, orderRefreshTime=60_000)
    market.clock.advance(1)
    first = committed(sessions_guard)
    second = committed(sessions_guard)
    assert (first.ran, first.sessions, first.orders, first.no_price) == (True, 1, 2, 0)
    assert not second.ran


def test_parameters_that_cannot_fit_the_market_stop_the_session_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market = paper_market(monkeypatch)  # amount step 0.001
    session = _session(market, orderAmount="0.0004")
    session.refresh_from_db()
    assert session.state == SessionState.STOPPED
    assert "orderAmount" in session.stop_reason
    assert "amount step 0.001" in session.stop_reason
    assert not OrderIntent.objects.filter(session=session).exists()


def test_a_tick_with_the_prices_and_orders_of_the_last_pass_checks_nothing_more(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {})
    _session(market, orderRefreshTime=60_000, maxOrderAge=30_000)
    market.clock.advance(1)
    tick(market)  # a new slot's snapshot: its checks made a full pass over both orders
    now = marketdata.tick_of(venues.now())
    again = committed(sessions_guard, for_tick=now + 1)
    assert again.ran and again.age_only and again.orders == 0  # same snapshot, same orders
    # an order closing (or a new one) is a change: the next tick checks everything
    TrackedOrder.objects.filter(side="sell").update(status=TrackedStatus.CANCELED)
    changed = committed(sessions_guard, for_tick=now + 3)
    assert (changed.age_only, changed.orders) == (False, 1)
    # time reaching an order's max age is a change too, whatever the prices
    market.clock.advance(31)
    aged = committed(sessions_guard, for_tick=now + 4)
    assert not aged.age_only and aged.cancels == {"max_age": 1}
