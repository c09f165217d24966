"""Shared fixture: a short paper-venue run of one order, with its event chain (report, replay
and console tests use it through their conftest)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from orders.enums import OrderState
from orders.models import MarketMakingOrder, OrderEvent
from orders.services.seams import order_terms
from strategy.models import Fill
from strategy.services import session_start_for_order
from tests.strategy.runtime_support import (
    Clock,
    Market,
    committed,
    funded_order,
    paper_market,
    pmm_params,
    tick,
)


@dataclass
class PaperRun:
    market: Market
    order: MarketMakingOrder


def _sides(order: MarketMakingOrder) -> set[str]:
    return set(Fill.objects.filter(order=order).values_list("side", flat=True))


@pytest.fixture
def paper_run(monkeypatch: pytest.MonkeyPatch) -> Any:
    """An order funded with 10 BTC + 1000 USDT that quoted for 12 ticks of 2 s on a moving
    paper market (fills on both sides)."""

    def run(ticks: int = 12, *, until_traded: bool = False) -> PaperRun:
        """`ticks` ticks of 2 s; with `until_traded`, more (at most 100) until the run has
        filled on both sides: the paper walk is random, and a short run may not trade."""
        market = paper_market(
            monkeypatch,
            volatility=Decimal("0.004"),
            print_amount=Decimal("0.6"),
            clock=Clock(time.time()),
        )
        params = pmm_params(
            market,
            bidSpread="0.002",
            askSpread="0.002",
            orderAmount="0.5",
            orderRefreshTime=2000,
        )
        order = funded_order(market, base=Decimal("10"), quote=Decimal("1000"), params=params)
        OrderEvent.objects.create(
            order=order, from_state="", to_state=OrderState.RUNNING, trigger="test.funded"
        )
        # The run's clock starts now, after the order was funded and marked running (real
        # time, which a busy machine stretches): no decision or fill predates its window.
        market.clock.now = max(market.clock.now, time.time())
        committed(session_start_for_order, terms=order_terms(order=order))
        for _ in range(ticks):
            tick(market)
            market.clock.advance(2)
        extra = 0
        while until_traded and _sides(order) != {"buy", "sell"}:
            assert extra < 100, "the paper run did not trade both sides in 100 more ticks"
            tick(market)
            market.clock.advance(2)
            extra += 1
        return PaperRun(market, order)

    return run
