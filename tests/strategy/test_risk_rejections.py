"""Every risk rejection (issue 18): the pure filter's rules and boundaries, and the same
rejections through a run on the paper venue — the rejected places never become intents,
the session says why, and nothing else happens."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from exchanges.venues.base import OrderSide
from orders.services.seams import order_terms
from strategy.models import OrderIntent, StrategySession
from strategy.quoting.types import DesiredQuote
from strategy.risk import RiskResult, risk_filter
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from tests.strategy.runtime_support import claim, committed, drain, funded_order, paper_market

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def q(side: OrderSide, price: str, amount: str = "1", level: int = 0) -> DesiredQuote:
    return DesiredQuote(side=side, level=level, price=D(price), amount=D(amount))


def run(places: list[DesiredQuote], **over: Any) -> RiskResult:
    kwargs: dict[str, Any] = {
        "live_count": 0,
        "live_notional": D(0),
        "reference_price": D("100"),
        "max_open_orders": 40,
        "max_notional": None,
        "max_deviation": D("0.05"),
        "ceiling_price": None,
        "floor_price": None,
    }
    kwargs.update(over)
    return risk_filter(places=places, **kwargs)


def reasons(result: RiskResult) -> list[tuple[str, str, str]]:
    return [(str(quote.side), str(quote.price), why) for quote, why in result.rejected]


def test_a_price_further_than_the_deviation_from_the_reference_is_rejected() -> None:
    result = run([q(BUY, "94.99"), q(SELL, "105.01"), q(BUY, "95"), q(SELL, "105")])
    assert reasons(result) == [
        ("buy", "94.99", "price_deviation"),
        ("sell", "105.01", "price_deviation"),
    ]
    assert [str(x.price) for x in result.allowed] == ["95", "105"]  # the bound itself passes


def test_without_a_reference_price_every_place_is_rejected() -> None:
    for reference in (None, D(0)):
        result = run([q(BUY, "99"), q(SELL, "101")], reference_price=reference)
        assert result.allowed == ()
        assert [why for _, why in result.rejected] == ["no_reference_price"] * 2


def test_a_buy_above_the_ceiling_is_rejected_and_a_sell_above_it_is_not() -> None:
    result = run(
        [q(BUY, "100.5"), q(SELL, "100.6"), q(BUY, "100.4", level=1)], ceiling_price=D("100.4")
    )
    assert reasons(result) == [("buy", "100.5", "above_ceiling")]
    assert [(str(x.side), str(x.price)) for x in result.allowed] == [
        ("sell", "100.6"),
        ("buy", "100.4"),
    ]


def test_a_sell_below_the_floor_is_rejected_and_a_buy_below_it_is_not() -> None:
    result = run([q(BUY, "99.4"), q(SELL, "99.5"), q(SELL, "99.6", level=1)], floor_price=D("99.6"))
    assert reasons(result) == [("sell", "99.5", "below_floor")]
    assert [(str(x.side), str(x.price)) for x in result.allowed] == [
        ("buy", "99.4"),
        ("sell", "99.6"),
    ]


def test_max_open_orders_counts_the_live_orders_and_keeps_inner_levels_first() -> None:
    places = [q(SELL, "102", level=1), q(BUY, "98", level=1), q(BUY, "99"), q(SELL, "101")]
    result = run(places, live_count=2, max_open_orders=4)
    assert [(str(x.side), x.level) for x in result.allowed] == [("buy", 0), ("sell", 0)]
    assert [(str(x.side), x.level, why) for x, why in result.rejected] == [
        ("buy", 1, "max_open_orders"),
        ("sell", 1, "max_open_orders"),
    ]


def test_max_notional_counts_the_live_notional_and_what_was_allowed_before() -> None:
    # 100 live + 99 + 101 = 300 fits exactly; the next (98) does not, a smaller one still would.
    places = [q(BUY, "99"), q(SELL, "101"), q(BUY, "98", level=1), q(SELL, "0.5", "0.001", level=2)]
    result = run(places, live_notional=D("100"), max_notional=D("300"), max_deviation=D("1"))
    assert [str(x.price) for x in result.allowed] == ["99", "101"]
    assert reasons(result) == [("buy", "98", "max_notional"), ("sell", "0.5", "max_notional")]


def test_a_rejected_place_uses_neither_an_order_slot_nor_notional() -> None:
    result = run([q(BUY, "90"), q(BUY, "99", level=1)], max_open_orders=1, max_notional=D("99"))
    assert [str(x.price) for x in result.allowed] == ["99"]
    assert reasons(result) == [("buy", "90", "price_deviation")]


# ---------------------------------------------------------------------------- in a run


def _start(monkeypatch: pytest.MonkeyPatch, **session: Any) -> tuple[Any, StrategySession]:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=D("10"), quote=D("2000"))
    started = committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)  # the start's reconcile
    if session:
        StrategySession.objects.filter(pk=started.pk).update(**session)
    return market, started


def _run_once(market: Any) -> list[Any]:
    result = claim()
    return [o for batch in result.batches for o in committed(sessions_run, session_ids=batch)]


@pytest.mark.django_db
def test_a_run_places_only_what_max_open_orders_allows_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, session = _start(monkeypatch, max_open_orders=2)
    [outcome] = _run_once(market)
    assert outcome.ran and outcome.places == 2
    places = OrderIntent.objects.filter(session=session).order_by("side")
    assert [(p.side, p.level) for p in places] == [("buy", 0), ("sell", 0)]
    session.refresh_from_db()
    assert session.last_error == "buy1:max_open_orders; sell1:max_open_orders"
    assert len(market.broker.take("order_intent_execute_task")) == 2


@pytest.mark.django_db
def test_a_run_within_max_notional_places_the_inner_level_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Mid 100, 1% spread, 2 layers of 1: the inner pair is worth 99 + 101 = 200.
    market, session = _start(monkeypatch, max_notional=D("200"))
    [outcome] = _run_once(market)
    assert outcome.places == 2
    assert [p.level for p in OrderIntent.objects.filter(session=session)] == [0, 0]
    session.refresh_from_db()
    assert session.last_error == "buy1:max_notional; sell1:max_notional"


@pytest.mark.django_db
def test_a_run_whose_quotes_deviate_too_far_writes_no_intent_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_MAX_PRICE_DEVIATION = D("0.005")  # the quotes sit 1% and 2% away
    market, session = _start(monkeypatch)
    [outcome] = _run_once(market)
    assert outcome.ran and outcome.places == 0 and outcome.cancels == 0
    assert not OrderIntent.objects.exists()
    assert market.broker.take("order_intent_execute_task") == []
    session.refresh_from_db()
    assert session.last_error == (
        "buy0:price_deviation; sell0:price_deviation; buy1:price_deviation; sell1:price_deviation"
    )
    assert session.generation == 0  # no generation was spent
