"""The runtime end to end on the paper venue, driven by calling the task functions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.services.seams import order_terms
from strategy.enums import IntentStatus, SessionState, TrackedStatus
from strategy.models import OrderIntent, StrategySession, TrackedOrder
from strategy.selectors import session_live_order_count
from strategy.services import (
    session_pause_for_order,
    session_resume_for_order,
    session_start_for_order,
    session_stop_for_order,
)
from tests.strategy.runtime_support import committed, funded_order, paper_market, tick

pytestmark = pytest.mark.django_db


def _venue_open(market) -> list:  # type: ignore[no-untyped-def]
    return market.gateway(0).fetch_open_orders(market.symbol)


def test_session_quotes_both_sides_as_live_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    # given a funded running order on a paper market at 100
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=order))
    # when one tick runs
    tick(market)
    # then two layers per side rest on the venue, tracked and sent
    live = TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN)
    prices = sorted((o.side, o.price) for o in live)
    assert prices == [
        ("buy", Decimal("98")),
        ("buy", Decimal("99")),
        ("sell", Decimal("101")),
        ("sell", Decimal("102")),
    ]
    assert sorted(o.client_order_id for o in _venue_open(market)) == sorted(
        o.client_order_id for o in live
    )
    assert set(OrderIntent.objects.values_list("status", flat=True)) == {IntentStatus.SENT}
    assert session_live_order_count(order_id=order.pk) == 4


def test_start_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    first = committed(session_start_for_order, terms=order_terms(order=order))
    second = committed(session_start_for_order, terms=order_terms(order=order))
    assert first.pk == second.pk
    assert StrategySession.objects.count() == 1


def test_live_count_is_zero_without_a_session(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("1"), quote=Decimal("100"))
    assert session_live_order_count(order_id=order.pk) == 0


def test_price_move_requotes_beyond_tolerance_only(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)
    before = set(
        TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN).values_list(
            "client_order_id", flat=True
        )
    )
    # when the price moves by 0.1 % (inside the 0.2 % tolerance) and the refresh comes
    from exchanges.paper.models import PaperMarket

    PaperMarket.objects.filter(symbol=market.symbol).update(feed_price=Decimal("100.1"))
    market.clock.advance(11)
    tick(market)
    after = set(
        TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN).values_list(
            "client_order_id", flat=True
        )
    )
    # then nothing was replaced
    assert after == before
    # when it moves by 1 %
    PaperMarket.objects.filter(symbol=market.symbol).update(feed_price=Decimal("101"))
    market.clock.advance(11)
    tick(market)
    live = TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN)
    # then every order was replaced around the new price
    assert not (set(live.values_list("client_order_id", flat=True)) & before)
    # (the book the new quotes were built from still held our old ask at 101: mid 100.95;
    # prices floored to the tick on both sides, as Hummingbot quantizes them)
    assert sorted((o.side, o.price) for o in live) == [
        ("buy", Decimal("98.93")),
        ("buy", Decimal("99.94")),
        ("sell", Decimal("101.95")),
        ("sell", Decimal("102.96")),
    ]
    assert len(_venue_open(market)) == 4


def test_pause_and_stop_cancel_every_live_order(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)
    assert session_live_order_count(order_id=order.pk) == 4
    # when paused
    committed(session_pause_for_order, order_id=order.pk)
    assert session_live_order_count(order_id=order.pk) == 8  # 4 live + 4 cancels in flight
    tick(market)
    # then nothing rests on the venue and nothing is live
    assert _venue_open(market) == []
    assert session_live_order_count(order_id=order.pk) == 0
    market.clock.advance(11)
    tick(market)
    assert _venue_open(market) == []  # a paused session does not run
    # resume quotes again; stop cancels for good
    committed(session_resume_for_order, order_id=order.pk)
    tick(market)
    assert len(_venue_open(market)) == 4
    committed(session_stop_for_order, order_id=order.pk)
    committed(session_stop_for_order, order_id=order.pk)  # again: a no-op
    tick(market)
    assert _venue_open(market) == []
    assert session_live_order_count(order_id=order.pk) == 0
    session.refresh_from_db()
    assert session.state == SessionState.STOPPED
