"""Hummingbot's calculator tests, ported: same inputs, same expected numbers.

Sources (hummingbot/hummingbot, test/hummingbot/strategy/pure_market_making/):
`test_inventory_skew_calculator.py`, `test_moving_price_band.py`,
`test_inventory_cost_price_delegate.py`. Hummingbot compares the skew ratios with
`assertAlmostEqual` (7 places); so do we, on the Decimal results.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from exchanges.venues.base import OrderSide
from strategy.quoting.bands import MovingBand
from strategy.quoting.cost_basis import CostBasis, NoCostBasis, apply_fill
from strategy.quoting.skew import bid_ask_ratios, exact_ratios

D = Decimal
T0 = datetime(2019, 1, 1, tzinfo=UTC)
PLACES = D("1e-7")


def ratios(base: float, quote: float, price: float, target: float, rng: float) -> tuple[D, D]:
    r = bid_ask_ratios(
        base_amount=D(repr(base)),
        quote_amount=D(repr(quote)),
        price=D(repr(price)),
        target_base_ratio=D(repr(target)),
        base_asset_range=D(repr(rng)),
    )
    return r.bid, r.ask


def almost(actual: tuple[D, D], expected: tuple[str, str]) -> bool:
    return all(abs(a - D(e)) < PLACES for a, e in zip(actual, expected, strict=True))


# setUp: base 85000, quote 10000, price 0.0036, target 0.03, range 20000
BASE, QUOTE, PRICE, TARGET, RANGE = 85000.0, 10000.0, 0.0036, 0.03, 20000.0


def test_cap_on_max_base_range() -> None:
    """test_inventory_skew_calculator.py::test_cap_on_max_base_range — the two vectors that
    failed before the range cap R = min(range * price, 0.5 * portfolio)."""
    assert almost(ratios(100, 10, 1, 0.35, 200), ("0", "2"))
    assert almost(ratios(10, 100, 1, 0.75, 200), ("2", "0"))


@pytest.mark.parametrize("exact", [False, True])
def test_cap_holds_in_exact_arithmetic_too(exact: bool) -> None:
    r = exact_ratios(
        base_amount=D(100),
        quote_amount=D(10),
        price=D(1),
        target_base_ratio=D("0.35"),
        base_asset_range=D(200),
    )
    assert (r.bid, r.ask) == (D(0), D(2))


def test_balanced_portfolio() -> None:
    """test_inventory_skew_calculator.py::test_balanced_portfolio"""
    assert almost(ratios(BASE, QUOTE, PRICE, TARGET, RANGE), ("1.04416666", "0.95583333"))


def test_heavily_skewed_portfolio() -> None:
    """test_inventory_skew_calculator.py::test_heavily_skewed_portfolio"""
    assert almost(ratios(8500.0, QUOTE, PRICE, TARGET, RANGE), ("2.0", "0.0"))
    assert almost(ratios(200000.0, QUOTE, PRICE, TARGET, RANGE), ("0.0", "2.0"))


def test_moderately_skewed_portfolio() -> None:
    """test_inventory_skew_calculator.py::test_moderately_skewed_portfolio"""
    assert almost(ratios(95000.0, QUOTE, PRICE, TARGET, RANGE), ("0.55916666", "1.440833333"))
    assert almost(ratios(70000.0, QUOTE, PRICE, TARGET, RANGE), ("1.77166666", "0.22833333"))


def test_empty_portfolio() -> None:
    """test_inventory_skew_calculator.py::test_empty_portfolio"""
    assert almost(ratios(0.0, 0.0, PRICE, TARGET, RANGE), ("0.0", "0.0"))
    assert almost(ratios(0.0, 10000.0, PRICE, TARGET, RANGE), ("2.0", "0.0"))
    assert almost(ratios(85000.0, 10000.0, PRICE, TARGET, 0.0), ("0.0", "0.0"))


# ---------------------------------------------------------------- moving price band

REFRESH = timedelta(seconds=86400)


def band_at(band: MovingBand, ts: int, price: str) -> MovingBand:
    return band.refreshed(
        now=T0 + timedelta(seconds=ts),
        price=D(price),
        floor_pct=D("-0.01"),  # Hummingbot price_floor_pct -1 (%)
        ceiling_pct=D("0.01"),
        refresh=REFRESH,
    )


def test_moving_price_band_update() -> None:
    """test_moving_price_band.py::test_update"""
    band = band_at(MovingBand(), 1, "100")
    assert (band.floor, band.ceiling) == (D(99), D(101))
    assert band.set_at == T0 + timedelta(seconds=1)


def test_moving_price_band_check_and_update() -> None:
    """test_moving_price_band.py::test_check_and_update_price_band"""
    band = band_at(MovingBand(), 1, "100")
    band = band_at(band, 1, "100")
    assert (band.floor, band.ceiling) == (D(99), D(101))
    band = band_at(band, 1, "200")
    assert (band.floor, band.ceiling) == (D(99), D(101))
    band = band_at(band, 86401, "200")
    assert (band.floor, band.ceiling) == (D(198), D(202))


def test_moving_price_band_state_round_trips() -> None:
    band = band_at(MovingBand(), 1, "100")
    assert MovingBand.from_dict(band.to_dict()) == band


# ---------------------------------------------------------------- inventory cost


def buy(basis: CostBasis | None, amount: str, price: str) -> CostBasis:
    return apply_fill(
        basis,
        side=OrderSide.BUY,
        amount=D(amount),
        price=D(price),
        base_asset="BTC",
        quote_asset="USDT",
    )


def test_process_order_fill_event_buy() -> None:
    """test_inventory_cost_price_delegate.py::test_process_order_fill_event_buy"""
    basis = buy(None, "1", "9000")
    basis = buy(basis, "1", "9000")
    assert (basis.base_volume, basis.quote_volume) == (D(2), D(18000))


def test_process_order_fill_event_sell() -> None:
    """test_inventory_cost_price_delegate.py::test_process_order_fill_event_sell"""
    basis = CostBasis(base_volume=D(1), quote_volume=D(9000))
    basis = apply_fill(
        basis,
        side=OrderSide.SELL,
        amount=D("0.5"),
        price=D(10000),
        base_asset="BTC",
        quote_asset="USDT",
    )
    assert basis.base_volume == D(1) - D("0.5")
    assert basis.quote_volume == D("0.5") * D(9000)  # reduced at the original price


def test_process_order_fill_event_sell_no_initial_cost_set() -> None:
    """test_inventory_cost_price_delegate.py::test_process_order_fill_event_sell_no_initial_cost_set"""
    with pytest.raises(NoCostBasis):
        apply_fill(
            None,
            side=OrderSide.SELL,
            amount=D(1),
            price=D(9000),
            base_asset="BTC",
            quote_asset="USDT",
        )


def test_get_price_by_type() -> None:
    """test_inventory_cost_price_delegate.py::test_get_price_by_type"""
    assert CostBasis.from_dict(None) is None  # no record: no price
    assert CostBasis(base_volume=D(1), quote_volume=D(9000)).price == D(9000)


def test_get_price_by_type_zero_division() -> None:
    """test_inventory_cost_price_delegate.py::test_get_price_by_type_zero_division"""
    assert CostBasis(base_volume=D(0), quote_volume=D(0)).price is None
