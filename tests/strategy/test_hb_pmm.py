"""Hummingbot's `test_pmm.py` (PMMUnitTest, PureMarketMakingMinimumSpreadUnitTest), ported.

Same market (balanced book mid 100, 1..200, step 1, volume step 10; HBOT 500, ETH 5000;
6-digit quantization), same parameters, same clock, same expected numbers, each test named
after Hummingbot's and run with default options (Hummingbot's semantics). The market is
`tests/strategy/hb_mock.py`; the strategy is `strategy.quoting.engine`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchanges.venues.base import OrderSide
from strategy.params import OrderOverride, PriceSourceType, PureMarketMakingParams
from tests.strategy.hb_mock import Sim, balanced_book, widen, with_rows

D = Decimal


def hb(**kw: Any) -> PureMarketMakingParams:
    """`init_params(market_info, bid_spread=0.01, ask_spread=0.01, order_amount=1,
    order_refresh_time=5, filled_order_delay=5, order_refresh_tolerance_pct=-1,
    minimum_spread=-1)`: the one-level strategy of setUp."""
    values: dict[str, Any] = {
        "pair": "HBOT/ETH",
        "exchange_name": "mock",
        "bid_spread": D("0.01"),
        "ask_spread": D("0.01"),
        "order_amount": D(1),
        "order_refresh_time_ms": 5000,
        "filled_order_delay_ms": 5000,
        "order_refresh_tolerance_pct": D(-1) / 10,  # Hummingbot's -1 (any negative)
        "minimum_spread": D(-1),
    }
    values.update(kw)
    return PureMarketMakingParams(**values)


def multi(**kw: Any) -> PureMarketMakingParams:
    """setUp's multi_levels_strategy: 3 levels, level spread 1 %, level amount 1."""
    values: dict[str, Any] = {
        "number_of_layers": 3,
        "order_level_spread": D("0.01"),
        "amount_change_per_layer": D(1),
    }
    return hb(**{**values, **kw})


def prices(orders: list[Any]) -> list[Decimal]:
    return [o.price for o in orders]


def test_basic_one_level() -> None:
    sim = Sim(hb())
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    buy_1, sell_1 = sim.buys[0], sim.sells[0]
    assert (buy_1.price, buy_1.amount) == (99, 1)
    assert (sell_1.price, sell_1.amount) == (101, 1)
    # After order_refresh_time, a new set of orders is created
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert sim.buys[0].client_order_id != buy_1.client_order_id
    assert sim.sells[0].client_order_id != sell_1.client_order_id
    # Simulate buy order filled
    sim.backtest_til(8)
    sim.trade(is_buy=False, price="98.9")
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    sim.backtest_til(14)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)


def test_basic_one_level_price_type_own_last_trade() -> None:
    sim = Sim(hb(price_source_type=PriceSourceType.LAST_OWN_TRADE_PRICE))
    sim.backtest_til(1)
    assert (sim.buys[0].price, sim.buys[0].amount) == (99, 1)
    assert (sim.sells[0].price, sim.sells[0].amount) == (101, 1)
    sim.trade(is_buy=False, price="98.9")
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    sim.backtest_til(7)
    assert (sim.buys[0].price, sim.buys[0].amount) == (D("98.01"), 1)
    assert (sim.sells[0].price, sim.sells[0].amount) == (D("99.99"), 1)


def test_basic_one_level_price_type() -> None:
    last = Sim(hb(price_source_type=PriceSourceType.LAST_PRICE))
    bid = Sim(hb(price_source_type=PriceSourceType.BEST_BID))
    ask = Sim(hb(price_source_type=PriceSourceType.BEST_ASK))
    for sim in (last, bid, ask):
        sim.backtest_til(1)
    assert (last.buys[0].price, last.buys[0].amount) == (99, 1)
    assert (last.sells[0].price, last.sells[0].amount) == (101, 1)
    last.trade(is_buy=False, price="98.9")
    for sim in (bid, ask):
        sim.last_trade = D("98.9")  # the three strategies share Hummingbot's one market
    assert (len(last.buys), len(last.sells)) == (0, 1)
    for sim in (last, bid, ask):
        sim.backtest_til(7)
    assert (last.buys[0].price, last.buys[0].amount) == (D("97.911"), 1)
    assert (last.sells[0].price, last.sells[0].amount) == (D("99.889"), 1)
    best_bid, best_ask = D("99.5"), D("100.5")
    assert bid.buys[0].price == best_bid * D("0.99")
    assert bid.sells[0].price == best_bid * D("1.01")
    assert ask.buys[0].price == best_ask * D("0.99")
    assert ask.sells[0].price == best_ask * D("1.01")


def test_basic_multiple_levels() -> None:
    sim = Sim(multi())
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    buys, sells = sim.buys, sim.sells
    assert (buys[0].price, buys[0].amount) == (D(99), D(1))
    assert (buys[1].price, buys[1].amount) == (D(98), D(2))
    assert (sells[0].price, sells[0].amount) == (D(101), D(1))
    assert (sells[2].price, sells[2].amount) == (D(103), D(3))
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    assert buys[0].client_order_id != sim.buys[0].client_order_id
    sim.backtest_til(8)
    sim.trade(is_buy=False, price="97.9")
    assert (len(sim.buys), len(sim.sells)) == (1, 3)
    sim.backtest_til(14)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)


def test_apply_budget_constraint_to_proposal() -> None:
    sim = Sim(multi(), base=D(50), quote=D(0))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (0, 3)
    for order in sim.sells:
        sim.cancel(order)
    sim.base, sim.quote = D(0), D(5000)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (3, 0)
    for order in sim.buys:
        sim.cancel(order)
    sim.base, sim.quote = D("6.0"), D("586.0")
    sim.backtest_til(20)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    assert (sim.buys[-1].price, sim.buys[-1].amount) == (D(97), D(3))
    assert (sim.sells[-1].price, sim.sells[-1].amount) == (D(103), D(3))


def test_order_quantity_available_balance() -> None:
    # init_params defaults: order_refresh_tolerance_pct -1 ... minimum_spread 0
    sim = Sim(
        hb(order_amount=D(100), number_of_layers=3, minimum_spread=D(0)), base=D(10), quote=D(1000)
    )
    sim.backtest_til(1)
    assert sim.buys[0].amount == D("10.1010")
    assert sim.sells[0].amount == D(10)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    sim.cancel(sim.buys[0])
    sim.cancel(sim.sells[0])
    sim.base, sim.quote = D(0), D(1000)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (1, 0)


def test_market_become_wider() -> None:
    sim = Sim(hb())
    sim.backtest_til(1)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[0].amount, sim.sells[0].amount) == (D(1), D(1))
    sim.book = widen(sim.book, 90, 110)
    sim.backtest_til(7)
    assert len(sim.cancelled) == 2
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[0].amount, sim.sells[0].amount) == (D(1), D(1))


def test_market_became_narrower() -> None:
    sim = Sim(hb())
    sim.backtest_til(1)
    sim.book = with_rows(sim.book, [("99.5", "30")], [("100.5", "30")])
    sim.backtest_til(7)
    assert len(sim.cancelled) == 2
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))


def test_price_band_price_ceiling_breach() -> None:
    sim = Sim(multi(ceiling_price=D(105)))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    sim.book = widen(sim.book, 100, 115)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (0, 3)


def test_price_band_price_floor_breach() -> None:
    sim = Sim(multi(floor_price=D(95)))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    sim.book = widen(sim.book, 85, 100)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (3, 0)


def test_moving_price_band_price_ceiling_breach() -> None:
    sim = Sim(
        multi(
            moving_price_band_enabled=True, price_floor_pct=D("-0.01"), price_ceiling_pct=D("0.01")
        )
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    sim.book = widen(sim.book, 100, 115)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (0, 3)


def test_moving_price_band_price_floor_breach() -> None:
    sim = Sim(
        multi(
            moving_price_band_enabled=True, price_floor_pct=D("-0.01"), price_ceiling_pct=D("0.01")
        )
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    sim.book = widen(sim.book, 85, 100)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (3, 0)


def test_add_transaction_costs() -> None:
    sim = Sim(multi(add_transaction_costs=True))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)


def test_filled_order_delay() -> None:
    sim = Sim(hb(filled_order_delay_ms=60_000))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    sim.backtest_til(7)
    sim.trade(is_buy=True, price="101.1")  # ask filled, not replenished during the delay
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells)) == (1, 0)
    sim.backtest_til(15)  # after order_refresh_time the buy is cancelled
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.backtest_til(30)
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.backtest_til(45)
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.backtest_til(69)  # placed after the delay
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[0].amount, sim.sells[0].amount) == (D(1), D(1))


def test_filled_order_delay_mulitiple_orders() -> None:
    sim = Sim(multi(filled_order_delay_ms=10_000))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    sim.trade(is_buy=True, price="101.1")
    sim.backtest_til(2)
    assert len(sim.fills) == 1
    assert (len(sim.buys), len(sim.sells)) == (3, 2)
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (0, 0)
    sim.backtest_til(12)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)


def test_order_optimization() -> None:
    sim = Sim(hb(order_optimization_enabled=True))
    sim.book = widen(sim.book, 98, 102)  # top bid 97.5, top ask 102.5
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert sim.buys[0].price == D("97.5001")
    assert sim.sells[0].price == D("102.499")


def test_order_optimization_with_multiple_order_levels() -> None:
    sim = Sim(multi(order_optimization_enabled=True, order_level_spread=D("0.025")))
    sim.book = widen(sim.book, 98, 102)
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    assert sim.buys[0].price == D("97.5001")
    assert sim.sells[0].price == D("102.499")
    assert sim.buys[1].price / sim.buys[0].price == D("0.975")
    assert sim.buys[2].price / sim.buys[0].price == D("0.95")
    assert sim.sells[1].price / sim.sells[0].price == D("1.025")
    assert sim.sells[2].price / sim.sells[0].price == D("1.05")


def test_inventory_skew() -> None:
    sim = Sim(hb(inventory_target_base_ratio=D("0.9"), inventory_range_multiplier=D("5.0")))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[0].amount, sim.sells[0].amount) == (D("0.5"), D("1.5"))
    sim.trade(is_buy=True, price="101.1")
    assert (len(sim.buys), len(sim.sells)) == (1, 0)
    sim.backtest_til(2)
    assert sim.fills == [(OrderSide.SELL, D(101), D("1.5"))]
    sim.backtest_til(7)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[0].amount, sim.sells[0].amount) == (D("0.651349"), D("1.34865"))


def test_inventory_skew_multiple_orders() -> None:
    sim = Sim(
        hb(
            number_of_layers=5,
            order_level_spread=D("0.01"),
            amount_change_per_layer=D("0.5"),
            inventory_target_base_ratio=D("0.9"),
            inventory_range_multiplier=D("0.5"),
        )
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[0].amount, sim.sells[0].amount) == (D("0.5"), D("1.5"))
    assert abs(sim.buys[-1].price - D("95.000")) < D("0.001")
    assert abs(sim.sells[-1].price - D("105.000")) < D("0.001")
    assert (sim.buys[-1].amount, sim.sells[-1].amount) == (D("1.5"), D("4.5"))
    sim.trade(is_buy=True, price="101.1")
    assert (len(sim.buys), len(sim.sells)) == (5, 4)
    sim.backtest_til(3)
    assert sim.fills == [(OrderSide.SELL, D(101), D("1.5"))]
    sim.backtest_til(8)
    assert (len(sim.buys), len(sim.sells)) == (5, 5)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[0].amount, sim.sells[0].amount) == (D("0.651349"), D("1.34865"))
    assert (sim.buys[-1].amount, sim.sells[-1].amount) == (D("1.95404"), D("4.04595"))


def test_inventory_cost_price_del() -> None:
    sim = Sim(hb(price_source_type=PriceSourceType.INVENTORY_COST), base=D(0))
    sim.backtest_til(1)
    assert sim.buys[0].price == D(99)  # no inventory cost yet: around the mid
    sim.trade(is_buy=False, price="98.9")
    sim.book = balanced_book(96, 1, 200, 1, 10)
    sim.backtest_til(7)
    expected_bid = D(96) / D(repr(1 + 0.01))
    assert abs(sim.buys[0].price - expected_bid) < D("0.05")  # assertAlmostEqual(places=1)
    expected_ask = D(99) * D(1 + 0.01)
    assert abs(sim.sells[0].price - expected_ask) < D("1e-7")


def test_external_exchange_price_source() -> None:
    sim = Sim(hb(oracle_exchange_name="ext"), ext_book=balanced_book(50, 1, 400, 1, 10))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 0)  # the ask would be below our best bid
    assert (sim.buys[0].price, sim.buys[0].amount) == (D("49.5"), D("1.0"))


def test_external_exchange_price_source_empty_orderbook() -> None:
    sim = Sim(hb(oracle_exchange_name="ext"), ext_book=balanced_book(50, 1, 400, 1, 10))
    sim.book = widen(sim.book, 0, 10000)
    assert not sim.book.bids and not sim.book.asks
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    assert (sim.buys[0].price, sim.buys[0].amount) == (D("49.5"), D("1.0"))
    assert (sim.sells[0].price, sim.sells[0].amount) == (D("50.5"), D("1.0"))


def test_multi_order_external_exchange_price_source() -> None:
    sim = Sim(multi(oracle_exchange_name="ext"), ext_book=balanced_book(50, 1, 400, 1, 10))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 0)
    assert (sim.buys[0].price, sim.buys[0].amount) == (D("49.5"), D("1.0"))
    assert abs(sim.buys[-1].price - D("48.500")) < D("0.001")
    assert sim.buys[-1].amount == D("3.0")


def test_multi_order_external_exchange_price_source_empty_order_book() -> None:
    sim = Sim(multi(oracle_exchange_name="ext"), ext_book=balanced_book(50, 1, 400, 1, 10))
    sim.book = widen(sim.book, 0, 10000)
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    assert (sim.buys[0].price, sim.buys[0].amount) == (D("49.5"), D("1.0"))
    assert abs(sim.buys[-1].price - D("48.500")) < D("0.001")
    assert sim.buys[-1].amount == D("3.0")


def test_config_spread_on_the_fly_multiple_orders() -> None:
    sim = Sim(multi())
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (3, 3)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(99), D(101))
    assert (sim.buys[-1].price, sim.sells[-1].price) == (D(97), D(103))
    sim.params = multi(bid_spread=D("0.02"), ask_spread=D("0.02"))  # update_running_mm 2 %
    for order in sim.sells + sim.buys:
        sim.cancel(order)
    sim.backtest_til(7)
    assert (sim.buys[0].price, sim.sells[0].price) == (D(98), D(102))
    assert (sim.buys[-1].price, sim.sells[-1].price) == (D(96), D(104))


def test_order_override() -> None:
    override = (
        OrderOverride("order_one", OrderSide.BUY, D("0.005"), D("0.7")),  # ["buy", 0.5, 0.7]
        OrderOverride("order_two", OrderSide.BUY, D("0.013"), D("1.1")),  # ["buy", 1.3, 1.1]
        OrderOverride("order_three", OrderSide.SELL, D("0.011"), D(2)),  # ["sell", 1.1, 2]
    )
    sim = Sim(multi(order_override=override))
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (2, 1)
    assert (sim.buys[0].price, sim.buys[0].amount) == (D("99.5"), D("0.7"))
    assert (sim.buys[1].price, sim.buys[1].amount) == (D("98.7"), D("1.1"))
    assert (sim.sells[0].price, sim.sells[0].amount) == (D("101.1"), D(2))


def test_custom_price_source() -> None:
    sim = Sim(hb(), custom_price=D("100.0"))  # MockAssetPriceDelegate
    sim.backtest_til(1)
    assert (sim.buys[0].price, sim.buys[0].amount) == (D(99), 1)
    assert (sim.sells[0].price, sim.sells[0].amount) == (D(101), 1)
    sim.custom_price = D("101.0")
    sim.backtest_til(7)
    assert (sim.buys[0].price, sim.buys[0].amount) == (D("99.99"), 1)
    assert (sim.sells[0].price, sim.sells[0].amount) == (D("102.01"), 1)


def split_levels(**kw: Any) -> PureMarketMakingParams:
    # split_order_levels_enabled with the override setUp gives: buy 1 % x1, buy 2 % x2, sell 1 % x1
    return hb(
        split_order_levels_enabled=True,
        bid_order_level_spreads=(D("0.01"), D("0.02")),
        ask_order_level_spreads=(D("0.01"), D("0.02")),
        bid_order_level_amounts=(D(1), D(2)),
        ask_order_level_amounts=(D(1),),
        **kw,
    )


def test_split_order_levels() -> None:
    sim = Sim(split_levels())
    sim.book = widen(sim.book, 98, 102)
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (2, 1)
    assert (sim.buys[0].price, sim.sells[0].price) == (D("99.000"), D("101.000"))
    assert sim.buys[1].price == D("98.000")


def test_order_optimization_with_split_order_levels() -> None:
    sim = Sim(split_levels(order_optimization_enabled=True))
    sim.book = widen(sim.book, 98, 102)
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (2, 1)
    assert sim.buys[0].price == D("97.5001")
    assert sim.sells[0].price == D("102.499")
    assert sim.buys[1].price / sim.buys[0].price == D("0.98") / D("0.99")


def test_minimum_spread_param() -> None:
    """PureMarketMakingMinimumSpreadUnitTest::test_minimum_spread_param"""
    sim = Sim(
        hb(
            bid_spread=D(".05"),
            ask_spread=D(".05"),
            order_refresh_time_ms=30_000,
            minimum_spread=D(0),
            filled_order_delay_ms=60_000,
            order_refresh_tolerance_pct=D(0),
        ),
        market_ticks=False,  # its setUp never adds the market to the clock
    )
    sim.backtest_til(1)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    old_bid, old_ask = sim.buys[0], sim.sells[0]
    sim.backtest_til(2)
    assert [o.client_order_id for o in sim.live] == [
        old_bid.client_order_id,
        old_ask.client_order_id,
    ]
    # mid moves down below the old bid: the bid is cancelled, nothing re-placed yet
    sim.book = with_rows(sim.book, [("50", "1000")], [("50", "1000")])
    sim.backtest_til(3)
    assert (len(sim.buys), len(sim.sells)) == (0, 1)
    sim.backtest_til(32)
    assert (len(sim.buys), len(sim.sells)) == (1, 1)
    new_bid, new_ask = sim.buys[0], sim.sells[0]
    assert new_bid.client_order_id != old_bid.client_order_id
    assert new_ask.client_order_id != old_ask.client_order_id
    sim.backtest_til(36)
    assert [o.client_order_id for o in sim.live] == [
        new_bid.client_order_id,
        new_ask.client_order_id,
    ]
    sim.book = widen(sim.book, 0, 0)
    sim.book = with_rows(sim.book, [("99", "1000")], [("101", "1000")])
    sim.backtest_til(40)
    assert (len(sim.buys), len(sim.sells)) == (1, 0)
