"""The per-tick checks, the fill semantics of the engine, and the opt-in departures."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from exchanges.venues.base import OrderSide
from strategy.params import PriceSourceType, PureMarketMakingParams
from strategy.quoting import checks, engine
from strategy.quoting.types import LiveOrder
from tests.strategy.hb_mock import START, Sim, with_rows

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def order(
    cid: str, side: OrderSide, price: str, *, age: int = 0, hanging: bool = False
) -> LiveOrder:
    return LiveOrder(
        client_order_id=cid,
        side=side,
        level=0,
        price=D(price),
        amount=D(1),
        created_at=START - timedelta(seconds=age),
        hanging=hanging,
    )


def params(**kw: Any) -> PureMarketMakingParams:
    values: dict[str, Any] = {
        "pair": "HBOT/ETH",
        "exchange_name": "mock",
        "bid_spread": D("0.01"),
        "ask_spread": D("0.01"),
        "order_amount": D(1),
        "order_refresh_time_ms": 5000,
        "filled_order_delay_ms": 5000,
        "order_refresh_tolerance_pct": D("-0.01"),
        "minimum_spread": D(-1),
    }
    return PureMarketMakingParams(**{**values, **kw})


# ---------------------------------------------------------------- cheap checks


def test_minimum_spread_check_uses_the_passive_distance_and_skips_hanging_orders() -> None:
    live = [order("b", BUY, "99.5"), order("a", SELL, "101"), order("h", BUY, "99.9", hanging=True)]
    hit = checks.below_minimum_spread(live, price=D(100), minimum_spread=D("0.006"))
    assert [o.client_order_id for o in hit] == ["b"]  # 0.5 % < 0.6 %; the ask is 1 % away
    assert checks.below_minimum_spread(live, price=D(100), minimum_spread=None) == []
    assert checks.below_minimum_spread(live, price=None, minimum_spread=D("0.006")) == []


def test_max_age_is_all_or_nothing_over_non_hanging_orders() -> None:
    live = [
        order("old", BUY, "99", age=31),
        order("new", SELL, "101"),
        order("h", BUY, "98", age=99, hanging=True),
    ]
    hit = checks.past_max_age(live, now=START, max_order_age=timedelta(seconds=30))
    assert [o.client_order_id for o in hit] == ["old", "new"]
    assert checks.past_max_age(live[1:], now=START, max_order_age=timedelta(seconds=30)) == []


def test_hanging_distance_and_band_breach() -> None:
    live = [order("h", SELL, "111", hanging=True), order("b", BUY, "99"), order("a", SELL, "101")]
    far = checks.hanging_too_far(live, price=D(100), cancel_pct=D("0.1"))
    assert [o.client_order_id for o in far] == ["h"]
    up = checks.band_breached(live, price=D(105), ceiling=D(105), floor=None)
    down = checks.band_breached(live, price=D(90), ceiling=None, floor=D(90))
    assert ([o.client_order_id for o in up], [o.client_order_id for o in down]) == (["b"], ["a"])


def test_within_tolerance_is_hummingbots_all_or_nothing() -> None:
    assert checks.within_tolerance([D(99), D(98)], [D("98.05"), D("99.05")], D("0.001"))
    assert not checks.within_tolerance([D(99), D(98)], [D("99.2"), D(98)], D("0.001"))
    assert not checks.within_tolerance([D(99)], [D(99), D(98)], D("0.001"))  # counts differ
    assert not checks.within_tolerance([D(99)], [D(99)], D("-0.01"))  # negative: refresh


# ---------------------------------------------------------------- fills (issue 15 bug 2)


def test_a_partial_fill_changes_no_timer_and_quoting_goes_on() -> None:
    sim = Sim(params(filled_order_delay_ms=60_000))
    sim.backtest_til(1)
    before = sim.state
    # when a partial fill is reported (on_fill: no completion)
    sim.state = engine.on_fill(
        sim.params,
        sim.state,
        side=BUY,
        amount=D("0.3"),
        price=D(99),
        base_asset="HBOT",
        quote_asset="ETH",
    )
    # then nothing is delayed: the refresh replaces both orders on time
    assert sim.state == before
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert sim.state.create_at == START + timedelta(seconds=12)


def test_a_complete_fill_delays_only_creation_and_the_checks_go_on() -> None:
    sim = Sim(params(filled_order_delay_ms=60_000, minimum_spread=D(0)))
    sim.backtest_til(1)
    sim.trade(is_buy=True, price="101.1")  # the ask fills completely
    assert sim.state.create_at == START + timedelta(seconds=61)
    # the bid still rests; the market moves through it: the minimum spread cancels it
    sim.book = with_rows(sim.book, [("50", "1000")], [("50", "1000")])
    sim.backtest_til(2)
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.backtest_til(61)
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.backtest_til(62)  # created only after the delay
    assert (len(sim.buys), len(sim.sells)) == (1, 1)


def test_a_hanging_orders_fill_delays_nothing() -> None:
    p = params(hanging_orders_enabled=True)
    state = engine.on_order_completed(
        p, engine.EngineState(), side=SELL, price=D(101), hanging=True, now=START
    )
    assert state == engine.EngineState()


def test_inventory_cost_basis_follows_fills_and_limits_sells() -> None:
    p = params(price_source_type=PriceSourceType.INVENTORY_COST)
    state = engine.on_fill(
        p,
        engine.EngineState(),
        side=BUY,
        amount=D(2),
        price=D(90),
        base_asset="HBOT",
        quote_asset="ETH",
    )
    state = engine.on_fill(
        p, state, side=BUY, amount=D(2), price=D(110), base_asset="HBOT", quote_asset="ETH"
    )
    assert state.cost_basis is not None and state.cost_basis.price == D(100)
    # a sell leaves the average untouched
    state = engine.on_fill(
        p, state, side=SELL, amount=D(1), price=D(120), base_asset="HBOT", quote_asset="ETH"
    )
    assert state.cost_basis is not None and state.cost_basis.price == D(100)
    assert engine.EngineState.from_dict(state.to_dict()) == state


# ---------------------------------------------------------------- opt-in departures


def test_per_level_refresh_keeps_the_levels_within_tolerance() -> None:
    # A mid move of 0.0004 changes the bid (quantum 0.0001 near 99) but not the ask
    # (quantum 0.001 near 101): with a zero tolerance only the bid must go.
    tight = params(order_refresh_tolerance_pct=D(0))
    sims = {"hb": Sim(tight), "mm": Sim(replace(tight, per_level_refresh=True))}
    first = {}
    for name, sim in sims.items():
        sim.backtest_til(1)
        first[name] = (sim.buys[0].client_order_id, sim.sells[0].client_order_id)
        sim.book = with_rows(sim.book, [("99.5008", "30")], [])  # mid 100.0004
        sim.backtest_til(7)
    hb, mm = sims["hb"], sims["mm"]
    assert mm.sells[0].client_order_id == first["mm"][1]  # the ask kept its place
    assert mm.buys[0].client_order_id != first["mm"][0]
    assert mm.buys[0].price == D("99.0003")
    # Hummingbot's rule (the default): one side out of tolerance refreshes everything
    assert hb.buys[0].client_order_id != first["hb"][0]
    assert hb.sells[0].client_order_id != first["hb"][1]


def test_requote_after_min_spread_cancel_replaces_the_side_at_once() -> None:
    base = params(
        minimum_spread=D(0), order_refresh_time_ms=30_000, order_refresh_tolerance_pct=D(0)
    )
    hb, mm = (
        Sim(base, market_ticks=False),
        Sim(replace(base, requote_after_min_spread_cancel=True), market_ticks=False),
    )
    for sim in (hb, mm):
        sim.backtest_til(1)
        sim.book = with_rows(sim.book, [("50", "1000")], [("50", "1000")])
        sim.backtest_til(3)
    assert (len(hb.buys), len(hb.sells)) == (0, 1)  # Hummingbot: wait for the refresh
    assert (len(mm.buys), len(mm.sells)) == (1, 1)  # opt-in: the bid is back at once
    assert mm.buys[0].price < D("49.75")


def _tick_cancels(live: list[LiveOrder], **kw: Any) -> list[tuple[str, str]]:
    args: dict[str, Any] = {
        "price": D(100),
        "now": START,
        "minimum_spread": None,
        "max_order_age": timedelta(seconds=1800),
        "hanging_enabled": True,
        "hanging_cancel_pct": D("0.1"),
        "ceiling": None,
        "floor": None,
    }
    args.update(kw)
    return [(o.client_order_id, why) for o, why in checks.tick_cancels(live, **args)]


def test_tick_cancels_each_failing_order_once_with_the_first_reason() -> None:
    live = [
        order("b0", BUY, "99.9", age=2000),
        order("s0", SELL, "101"),
        order("h0", SELL, "115", hanging=True),
        order("h1", BUY, "95", hanging=True),
    ]
    # hanging distance first, then max age takes every regular order (b0 also fails the
    # minimum spread: one cancel, the first reason)
    assert _tick_cancels(live, minimum_spread=D("0.005")) == [
        ("h0", checks.HANGING_FAR),
        ("b0", checks.MAX_AGE),
        ("s0", checks.MAX_AGE),
    ]


def test_tick_cancels_without_a_price_checks_only_the_age() -> None:
    live = [order("b0", BUY, "99.99"), order("s0", SELL, "100.01", age=2000)]
    assert _tick_cancels(live, price=None, minimum_spread=D("0.01"), ceiling=D(1)) == [
        ("b0", checks.MAX_AGE),
        ("s0", checks.MAX_AGE),
    ]


def test_tick_cancels_the_band_and_treats_hanging_flags_as_regular_when_disabled() -> None:
    live = [order("b0", BUY, "99"), order("s0", SELL, "101", hanging=True)]
    # hanging disabled: the flagged ask is regular, so the floor takes it
    assert _tick_cancels(live, hanging_enabled=False, floor=D(100)) == [("s0", checks.PRICE_BAND)]
    assert _tick_cancels(live, ceiling=D(100)) == [("b0", checks.PRICE_BAND)]
    assert _tick_cancels(live, minimum_spread=D("0.009")) == []
