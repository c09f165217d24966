"""Hummingbot's PMM scenario tests, ported: `test_pmm_refresh_tolerance.py`,
`test_pmm_ping_pong.py`, `test_pmm_take_if_cross.py` and the hanging-order, in-flight
cancel and budget cases of `test_pmm.py`. Same market, parameters, clock and expected
numbers; default options (Hummingbot's semantics). Parameters not set by a test take
`init_params`' defaults (notably minimum_spread 0, max_order_age 1800 s,
should_wait_order_cancel_confirmation true).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from strategy.params import PureMarketMakingParams
from tests.strategy.hb_mock import Sim, balanced_book, widen, with_rows

D = Decimal


def init_params(**kw: Any) -> PureMarketMakingParams:
    values: dict[str, Any] = {
        "pair": "HBOT/ETH",
        "exchange_name": "mock",
        "bid_spread": D("0.01"),
        "ask_spread": D("0.01"),
        "order_amount": D(1),
        "minimum_spread": D(0),  # init_params' default
    }
    values.update(kw)
    return PureMarketMakingParams(**values)


def ids(orders: list[Any]) -> list[str]:
    return [o.client_order_id for o in orders]


# ------------------------------------------------ test_pmm_refresh_tolerance.py (setUp)


def one_level_tolerance() -> PureMarketMakingParams:
    return init_params(
        order_refresh_time_ms=4000,
        filled_order_delay_ms=8000,
        hanging_orders_enabled=True,
        hanging_orders_cancel_pct=D("0.05"),
        order_refresh_tolerance_pct=D(0),
    )


def multi_level_tolerance(**kw: Any) -> PureMarketMakingParams:
    return init_params(
        number_of_layers=5,
        order_level_spread=D("0.01"),
        order_refresh_time_ms=4000,
        filled_order_delay_ms=8000,
        order_refresh_tolerance_pct=D(0),
        **kw,
    )


def test_active_orders_are_cancelled_when_mid_price_moves() -> None:
    sim = Sim(one_level_tolerance())
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    old_bid, old_ask = sim.buys[0], sim.sells[0]
    sim.backtest_til(3)  # not the refresh time yet
    assert (sim.buys[0], sim.sells[0]) == (old_bid, old_ask)
    sim.book = with_rows(sim.book, [("99.5", "30")], [("100.1", "30")])
    sim.backtest_til(6)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert sim.buys[0] != old_bid
    assert sim.sells[0] != old_ask


def test_active_orders_are_kept_when_within_tolerance() -> None:
    sim = Sim(one_level_tolerance())
    sim.backtest_til(1)
    old_bid, old_ask = sim.buys[0], sim.sells[0]
    sim.backtest_til(6)
    assert (sim.buys, sim.sells) == ([old_bid], [old_ask])
    sim.backtest_til(10)
    assert (sim.buys, sim.sells) == ([old_bid], [old_ask])


def test_multi_levels_active_orders_are_cancelled_when_mid_price_moves() -> None:
    sim = Sim(multi_level_tolerance())
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)
    old_buys, old_sells = ids(sim.buys), ids(sim.sells)
    sim.book = with_rows(sim.book, [("99.5", "30")], [("100.1", "30")])
    sim.backtest_til(6)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)
    assert ids(sim.sells) != old_sells
    assert ids(sim.buys) != old_buys


def test_multiple_active_orders_are_kept_when_within_tolerance() -> None:
    sim = Sim(multi_level_tolerance())
    sim.backtest_til(1)
    old_buys, old_sells = ids(sim.buys), ids(sim.sells)
    sim.backtest_til(6)
    assert (ids(sim.buys), ids(sim.sells)) == (old_buys, old_sells)
    sim.backtest_til(10)
    assert (ids(sim.buys), ids(sim.sells)) == (old_buys, old_sells)


def test_hanging_orders_multiple_orders_with_refresh_tolerance() -> None:
    sim = Sim(multi_level_tolerance(hanging_orders_enabled=True))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)
    sim.trade(is_buy=True, price="101.1")
    sim.backtest_til(2)  # before the refresh: nothing hangs yet
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells), len(sim.hanging_ids)) == (5, 4, 0)
    sim.backtest_til(5)  # at the refresh the filled ask's bid hangs, the rest is cancelled
    assert (len(sim.buys), len(sim.sells), len(sim.hanging_ids)) == (1, 0, 1)
    sim.backtest_til(4 + 8 + 1)  # after filled_order_delay a new set is created
    assert (len(sim.buys), len(sim.sells), len(sim.hanging_ids)) == (6, 5, 1)
    assert all(h in ids(sim.buys) for h in sim.hanging_ids)
    old_buys = [i for i in ids(sim.buys) if i not in sim.hanging_ids]
    old_sells = ids(sim.sells)
    sim.backtest_til(4 + 8 + 1)
    assert (len(sim.buys), len(sim.sells)) == (6, 5)
    assert [i for i in ids(sim.buys) if i not in sim.hanging_ids] == old_buys
    assert ids(sim.sells) == old_sells


# ------------------------------------------------ test_pmm_ping_pong.py


def ping_pong(**kw: Any) -> PureMarketMakingParams:
    return init_params(
        order_refresh_time_ms=5000,
        filled_order_delay_ms=5000,
        order_refresh_tolerance_pct=D("-0.01"),
        ping_pong_enabled=True,
        **kw,
    )


def test_strategy_ping_pong_on_ask_fill() -> None:
    sim = Sim(ping_pong())
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    sim.trade(is_buy=True, price="101.1")
    sim.backtest_til(2)
    assert (len(sim.buys), len(sim.sells)) == (1, 0)
    old_bid = sim.buys[0]
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (1, 0)
    assert sim.buys[0].client_order_id != old_bid.client_order_id
    sim.trade(is_buy=False, price="98.9")
    sim.backtest_til(15)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)


def test_strategy_ping_pong_on_bid_fill() -> None:
    sim = Sim(ping_pong())
    sim.backtest_til(1)
    sim.trade(is_buy=False, price="98.9")
    sim.backtest_til(2)
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    old_ask = sim.sells[0]
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    assert sim.sells[0].client_order_id != old_ask.client_order_id
    sim.trade(is_buy=True, price="101.1")
    sim.backtest_til(15)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)


def test_multiple_orders_ping_pong() -> None:
    sim = Sim(
        ping_pong(number_of_layers=5, amount_change_per_layer=D(1), order_level_spread=D("0.01"))
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)
    sim.trade(is_buy=True, price="102.50")  # two asks filled
    assert (len(sim.buys), len(sim.sells)) == (5, 3)
    sim.backtest_til(2)
    assert (len(sim.buys), len(sim.sells)) == (5, 3)
    old_bids, old_asks = ids(sim.buys), ids(sim.sells)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (5, 3)
    assert ids(sim.sells) != old_asks
    assert ids(sim.buys) != old_bids
    sim.trade(is_buy=False, price="98.9")  # the first bid is taken
    assert (len(sim.buys), len(sim.sells)) == (4, 3)
    sim.backtest_til(13)
    assert (len(sim.buys), len(sim.sells)) == (4, 3)
    sim.trade(is_buy=False, price="97.9")  # another bid
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    sim.backtest_til(20)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)


# ------------------------------------------------ test_pmm_take_if_cross.py


def take_if_crossed_sim(top_bid: float, top_ask: float) -> Sim:
    params = init_params(
        order_refresh_time_ms=3000,
        filled_order_delay_ms=3000,
        order_refresh_tolerance_pct=D("-0.01"),
        minimum_spread=D(-1),
        oracle_exchange_name="ext",
        take_if_crossed=True,
    )
    ext = widen(balanced_book(100, 1, 400, 1, 100), top_bid, top_ask)
    return Sim(params, ext_book=ext)


def test_strategy_take_if_crossed_bid_order() -> None:
    sim = take_if_crossed_sim(120.0, 130.0)
    sim.backtest_til(1)
    assert len(sim.fills) == 0
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    sim.backtest_til(2)
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    sim.backtest_til(7)
    assert len(sim.fills) == 2
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    sim.backtest_til(10)
    assert len(sim.fills) == 3
    assert (len(sim.buys), len(sim.sells)) == (0, 1)


def test_strategy_take_if_crossed_ask_order() -> None:
    sim = take_if_crossed_sim(80.0, 90.0)
    sim.backtest_til(1)
    assert len(sim.fills) == 0
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    sim.backtest_til(2)
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells)) == (1, 0)
    sim.backtest_til(6)
    assert len(sim.fills) == 2
    assert (len(sim.buys), len(sim.sells)) == (1, 0)
    sim.backtest_til(10)
    assert len(sim.fills) == 3
    assert (len(sim.buys), len(sim.sells)) == (1, 0)


# ------------------------------------------------ test_pmm.py: hanging orders, cancels


def one_level(**kw: Any) -> PureMarketMakingParams:
    values: dict[str, Any] = {
        "order_refresh_time_ms": 5000,
        "filled_order_delay_ms": 5000,
        "order_refresh_tolerance_pct": D("-0.01"),
        "minimum_spread": D(-1),
    }
    return init_params(**{**values, **kw})


def test_hanging_orders() -> None:
    sim = Sim(
        one_level(
            order_refresh_time_ms=4000,
            filled_order_delay_ms=8000,
            hanging_orders_enabled=True,
            hanging_orders_cancel_pct=D("0.05"),
        )
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    sim.trade(is_buy=False, price="98.9")
    sim.backtest_til(4 + 1)  # the ask hangs at the refresh
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    assert sim.hanging_ids == [sim.sells[0].client_order_id]
    hanging_sell = sim.sells[0]
    sim.backtest_til(4 * 2 + 1)
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    sim.backtest_til(4 * 2 + 2)  # after filled_order_delay a new pair beside the hanging ask
    assert (len(sim.buys), len(sim.sells)) == (1, 2)
    assert hanging_sell.client_order_id in ids(sim.sells)
    sim.book = widen(sim.book, 80, 100)  # the hanging ask is now > 5 % from the price
    sim.backtest_til(11)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert sim.sells[0].client_order_id not in sim.hanging_ids


def test_hanging_order_max_order_age() -> None:
    """Hummingbot's backtest orders carry no age, so its test forces the renewal with a
    cancel event; here the age is real: max_order_age 5 s (adapted input, same outcome:
    the hanging order re-placed at the same price and quantity under a new id)."""
    sim = Sim(one_level(hanging_orders_enabled=True, max_order_age_ms=5000))
    sim.backtest_til(1)
    sim.trade(is_buy=False, price="98.9")
    sim.backtest_til(5 + 1)
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    assert sim.hanging_ids == [sim.sells[0].client_order_id]
    hanging_sell = sim.sells[0]
    sim.backtest_til(5 * 2 + 1)
    renewed = [
        o
        for o in sim.sells
        if o.hanging and (o.price, o.amount) == (hanging_sell.price, hanging_sell.amount)
    ]
    assert len(renewed) == 1
    assert renewed[0].client_order_id != hanging_sell.client_order_id


def test_hanging_orders_multiple_orders() -> None:
    sim = Sim(
        one_level(
            number_of_layers=3,
            order_level_spread=D("0.01"),
            amount_change_per_layer=D(1),
            order_refresh_time_ms=4000,
            filled_order_delay_ms=8000,
            hanging_orders_enabled=True,
            hanging_orders_cancel_pct=D("0.05"),
        )
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    sim.trade(is_buy=False, price="98.9")
    sim.backtest_til(2)
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells), len(sim.hanging_ids)) == (2, 3, 0)
    sim.backtest_til(4 + 1)
    assert (len(sim.buys), len(sim.sells), len(sim.hanging_ids)) == (0, 1, 1)
    sim.backtest_til(4 + 8 + 1)
    assert (len(sim.buys), len(sim.sells)) == (3, 4)
    assert all(h in ids(sim.sells) for h in sim.hanging_ids)
    sim.book = widen(sim.book, 80, 100)
    sim.backtest_til(4 * 2 + 8 + 1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    assert not any(o.client_order_id in sim.hanging_ids for o in sim.sells)


def test_no_new_orders_created_until_previous_orders_cancellation_confirmed() -> None:
    sim = Sim(one_level())
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    sim.cancels_in_flight = 1  # a fake in-flight cancellation ("OID-99")
    sim.backtest_til(1 + 5)  # the real orders are cancelled, nothing new is created
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.backtest_til(1 + 10)
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.cancels_in_flight = 0
    sim.backtest_til(1 + 10 + 1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)


def test_inventory_skew_multiple_orders_status() -> None:
    """The status table shows the first bid/ask at 50.0 % / 150.0 % of the order size."""
    sim = Sim(
        init_params(
            order_refresh_time_ms=5000,
            filled_order_delay_ms=5000,
            order_refresh_tolerance_pct=D("-0.01"),
            number_of_layers=5,
            order_level_spread=D("0.01"),
            amount_change_per_layer=D("0.5"),
            inventory_target_base_ratio=D("0.9"),
            inventory_range_multiplier=D("0.5"),
            minimum_spread=D(-1),
        )
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)
    assert (sim.buys[0].amount / 1, sim.sells[0].amount / 1) == (D("0.5"), D("1.5"))
