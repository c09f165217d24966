"""The arbitrage session path end to end on two paper venues, driven by the task functions.

Venue A ("paper") quotes BTC/USDT around 100, venue B ("paperb") around 102: A's best ask
is 100.10, B's best bid 101.90 (outside books 0.1 % apart, 1 BTC per level), taker fees
0.1 % on both. Buying 0.5 on A and selling it on B earns ~1.59 % net, above the 0.5 %
minimum.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import TestCase

from strategy.enums import INTENT_ACTIVE, IntentKind, IntentStatus, SessionState, TrackedStatus
from strategy.models import Fill, OrderIntent, StrategySession, TrackedOrder
from strategy.quoting.ids import is_ours
from strategy.services import arbitrage_session_execute
from tests.strategy.arbitrage_support import (
    TwoVenues,
    arbitrage_dto,
    run_sessions,
    send,
    sync,
    tick,
    two_paper_venues,
)
from tests.strategy.runtime_support import committed

pytestmark = pytest.mark.django_db

D = Decimal


def _venues(monkeypatch: pytest.MonkeyPatch) -> TwoVenues:
    venues = two_paper_venues(monkeypatch, price_a=D("100"), price_b=D("102"))
    # A holds quote to buy with, B holds base to sell.
    venues.fund(venues.a, "USDT", D("1000"))
    venues.fund(venues.b, "BTC", D("2"))
    return venues


def _start(venues: TwoVenues, operator: Any, **overrides: Any) -> StrategySession:
    session = committed(
        arbitrage_session_execute, user=operator, dto=arbitrage_dto(venues, **overrides)
    )
    send(venues)  # the start's reconciliation of both accounts (caches their balances)
    return session  # type: ignore[no-any-return]


def _legs(session: StrategySession) -> list[tuple[str, str, Decimal | None, Decimal | None]]:
    return sorted(
        (i.exchange_id, i.side, i.price, i.amount)
        for i in OrderIntent.objects.filter(session=session, kind=IntentKind.PLACE)
    )


def _later(venues: TwoVenues) -> None:
    venues.clock.advance(2)  # past the session's next run (one tick) and the next step


def test_buys_on_the_cheap_venue_sells_on_the_dear_one_and_tracks_the_fills(
    monkeypatch: pytest.MonkeyPatch, operator: Any
) -> None:
    # given an operator's arbitrage session over two venues 2 % apart
    venues = _venues(monkeypatch)
    session = _start(venues, operator)
    # when one tick runs
    (outcome,) = tick(venues)
    # then it wrote two taker legs of the configured amount at the worst level each takes
    assert outcome.ran and outcome.places == 2
    assert _legs(session) == [
        (venues.a, "buy", D("100.10"), D("0.5")),
        (venues.b, "sell", D("101.90"), D("0.5")),
    ]
    intents = list(OrderIntent.objects.filter(session=session))
    assert {i.status for i in intents} == {IntentStatus.SENT}
    assert {i.generation for i in intents} == {1}
    assert all(is_ours(i.client_order_id) for i in intents)
    # both legs were taken at once and are tracked as filled, one fill each
    tracked = {t.exchange_id: t for t in TrackedOrder.objects.filter(session=session)}
    assert set(tracked) == {venues.a, venues.b}
    for order in tracked.values():
        assert order.status == TrackedStatus.CLOSED
        assert order.filled == order.venue_filled == D("0.5")
    fills = {f.exchange_id: f for f in Fill.objects.filter(session=session)}
    assert (fills[venues.a].side, fills[venues.a].price) == ("buy", D("100.10"))
    assert (fills[venues.b].side, fills[venues.b].price) == ("sell", D("101.90"))
    assert {f.amount for f in fills.values()} == {D("0.5")}
    assert {f.taker_or_maker for f in fills.values()} == {"taker"}
    assert fills[venues.a].quote_amount == D("50.05")
    assert fills[venues.b].quote_amount == D("50.95")
    assert all(f.order_id is None and f.ledger_key == "" for f in fills.values())  # house money
    session.refresh_from_db()
    assert session.last_fill_at is not None and session.generation == 1
    # and the venues moved the coins: B sold 0.5 BTC, A paid 50.05 USDT (its fee in BTC)
    assert venues.free(venues.b, "BTC") == D("1.5")
    assert venues.free(venues.a, "USDT") == D("1000") - D("50.05"), venues.free(venues.a, "USDT")
    assert venues.free(venues.a, "BTC") == D("0.5") - fills[venues.a].fee, fills[
        venues.a
    ].fee_currency
    assert venues.open_orders(venues.a) == venues.open_orders(venues.b) == []


def test_no_legs_below_min_profitability_nor_once_the_gap_closes(
    monkeypatch: pytest.MonkeyPatch, operator: Any
) -> None:
    venues = _venues(monkeypatch)
    session = _start(venues, operator)
    # given B's best bid at 100.40: +0.30 % before fees, ~+0.10 % after, below the 0.5 %
    venues.set_price(venues.b, D("100.5"))
    (outcome,) = tick(venues)
    # then the session runs but writes nothing
    assert outcome.ran and outcome.places == 0
    assert not OrderIntent.objects.filter(session=session).exists()
    # given the gap closed entirely (both venues at 100)
    venues.set_price(venues.b, D("100"))
    _later(venues)
    (outcome,) = tick(venues)
    assert outcome.ran and outcome.places == 0
    # given B at 102 again but a minimum of 2 % (the gap earns ~1.59 %)
    venues.set_price(venues.b, D("102"))
    committed(
        arbitrage_session_execute,
        user=operator,
        dto=arbitrage_dto(venues, minProfitability="0.02"),
    )
    _later(venues)
    (outcome,) = tick(venues)
    assert outcome.ran and outcome.places == 0
    assert not OrderIntent.objects.filter(session=session).exists()
    assert not Fill.objects.exists()
    assert venues.free(venues.b, "BTC") == D("2")
    # when the minimum is lowered back to 0.5 %, the same gap is taken
    committed(arbitrage_session_execute, user=operator, dto=arbitrage_dto(venues))
    _later(venues)
    (outcome,) = tick(venues)
    assert outcome.places == 2


def test_legs_are_capped_by_both_budgets_and_lots(
    monkeypatch: pytest.MonkeyPatch, operator: Any
) -> None:
    venues = two_paper_venues(monkeypatch, price_a=D("100"), price_b=D("102"))
    # A can afford 30 / (100.10 x 1.001) = 0.2994 BTC; B holds only 0.35 BTC
    venues.fund(venues.a, "USDT", D("30"))
    venues.fund(venues.b, "BTC", D("0.35"))
    session = _start(venues, operator)
    (outcome,) = tick(venues)
    assert outcome.places == 2
    # 0.2994... rounded down to the 0.001 lot: both legs the same size, within both budgets
    assert _legs(session) == [
        (venues.a, "buy", D("100.10"), D("0.299")),
        (venues.b, "sell", D("101.90"), D("0.299")),
    ]
    assert {i.status for i in OrderIntent.objects.filter(session=session)} == {IntentStatus.SENT}
    assert venues.free(venues.b, "BTC") == D("0.051")


def test_a_leg_left_resting_is_cancelled_before_new_legs_and_stop_leaves_nothing_live(
    monkeypatch: pytest.MonkeyPatch, admin_api: Any
) -> None:
    venues = _venues(monkeypatch)
    # given an operator session started through the API
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_api.post(
            "/strategy/execute-arbitrage", arbitrage_dto(venues), format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["session"]["status"] == "running"
    session = StrategySession.objects.get()
    send(venues)
    # when the run writes its legs and B's price falls before they reach the venues
    (outcome,) = run_sessions(venues)
    assert outcome.places == 2
    venues.set_price(venues.b, D("100"))
    send(venues)
    sync(venues)
    # then the buy filled on A and the sell rests on B (its limit 101.90 no longer crosses)
    (resting,) = venues.open_orders(venues.b)
    assert (resting.side, resting.price, resting.amount) == ("sell", D("101.90"), D("0.5"))
    live = TrackedOrder.objects.get(session=session, status=TrackedStatus.OPEN)
    assert live.client_order_id == resting.client_order_id
    # when the next run comes, with the gap back: the leftover is cancelled, nothing new yet
    venues.set_price(venues.b, D("102"))
    _later(venues)
    (outcome,) = run_sessions(venues)
    assert (outcome.places, outcome.cancels) == (0, 1)
    send(venues)
    sync(venues)
    assert venues.open_orders(venues.b) == []
    assert TrackedOrder.objects.get(pk=live.pk).status == TrackedStatus.CANCELED
    # and the run after writes fresh legs (generation 2)
    _later(venues)
    run_sessions(venues)
    assert sorted(
        (i.exchange_id, i.side)
        for i in OrderIntent.objects.filter(session=session, kind=IntentKind.PLACE, generation=2)
    ) == [(venues.a, "buy"), (venues.b, "sell")]
    # when B falls again before they are sent, leaving the new sell resting, and it stops
    venues.set_price(venues.b, D("100"))
    send(venues)
    sync(venues)
    assert len(venues.open_orders(venues.b)) == 1
    with TestCase.captureOnCommitCallbacks(execute=True):
        stop = admin_api.get("/strategy/stop-arbitrage", {"clientId": "arb1"})
    assert stop.status_code == 200 and stop.json() == {"ok": True}
    send(venues)
    sync(venues)
    # then nothing is live anywhere, and later ticks write nothing
    assert venues.open_orders(venues.a) == venues.open_orders(venues.b) == []
    assert not TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN).exists()
    assert not OrderIntent.objects.filter(session=session, status__in=INTENT_ACTIVE).exists()
    session.refresh_from_db()
    assert session.state == SessionState.STOPPED
    venues.set_price(venues.b, D("102"))
    before = OrderIntent.objects.count()
    _later(venues)
    assert tick(venues) == []
    assert OrderIntent.objects.count() == before
    again = admin_api.get("/strategy/stop-arbitrage", {"clientId": "arb1"})
    assert again.status_code == 200  # idempotent


def test_next_run_before_a_balance_sync_never_sends_an_unhedged_leg(
    monkeypatch: pytest.MonkeyPatch, operator: Any
) -> None:
    # given B holds exactly one round's base (0.5 BTC), A plenty of quote
    venues = two_paper_venues(monkeypatch, price_a=D("100"), price_b=D("102"))
    venues.fund(venues.a, "USDT", D("1000"))
    venues.fund(venues.b, "BTC", D("0.5"))
    session = _start(venues, operator)
    # when a round trip completes (its legs sent, filled and recorded by the executor)
    (first,) = run_sessions(venues)
    send(venues)
    assert first.places == 2
    assert venues.free(venues.b, "BTC") == D("0")
    # and the next tick's run comes before the beat's next account sync
    venues.clock.advance(1)
    run_sessions(venues)
    send(venues)
    # then no leg failed and the position stayed hedged: A bought what B sold
    failed = OrderIntent.objects.filter(session=session, status=IntentStatus.FAILED)
    assert list(failed.values_list("exchange_id", "side", "last_error")) == []
    bought = sum((t.amount for t in venues.gateway(venues.a).fetch_my_trades(venues.symbol)), D(0))
    sold = sum((t.amount for t in venues.gateway(venues.b).fetch_my_trades(venues.symbol)), D(0))
    assert bought == sold
