"""Cross-field validation of `PureMarketMakingParams` (run by its `__post_init__`).

Bounds follow Hummingbot's config validators where they exist (its percent bounds turned
into fractions) and reject what could only be a unit mistake or an absurd value.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from exchanges.venues.base import OrderSide
from strategy.params.parsing import check_pair, fail, in_range, int_in_range
from strategy.params.types import (
    MAX_DELAY_MS,
    MAX_LAYERS,
    MAX_SPREAD,
    MIN_REFRESH_MS,
    AmountChangeType,
)

if TYPE_CHECKING:
    from strategy.params.pmm import PureMarketMakingParams

ZERO, ONE = Decimal(0), Decimal(1)
SPREAD_WHY = "a fraction: 0.001 = 0.1 %; above 0.5 is a unit mistake"


def validate(params: PureMarketMakingParams) -> None:
    _identity(params)
    _levels(params)
    _timing(params)
    _bands(params)
    _inventory(params)
    _optimization(params)


def _identity(params: PureMarketMakingParams) -> None:
    check_pair("pair", params.pair)
    if not params.exchange_name:
        raise fail("exchangeName", "must be a non-empty string")
    if params.oracle_exchange_name is not None and not params.oracle_exchange_name:
        raise fail("oracleExchangeName", "must be a non-empty string when set")
    if params.oracle_pair is not None:
        check_pair("oraclePair", params.oracle_pair)
        if params.oracle_exchange_name is None:
            raise fail("oraclePair", "needs oracleExchangeName (the external venue)")


def _levels(params: PureMarketMakingParams) -> None:
    for field, value in (("bidSpread", params.bid_spread), ("askSpread", params.ask_spread)):
        in_range(field, value, low=ZERO, high=MAX_SPREAD, low_open=True, why=SPREAD_WHY)
    if params.order_amount <= 0:
        raise fail("orderAmount", f"must be > 0, got {params.order_amount}")
    int_in_range("numberOfLayers", params.number_of_layers, low=1, high=MAX_LAYERS)
    in_range("orderLevelSpread", params.order_level_spread, low=ZERO, high=MAX_SPREAD)
    # The deepest bid must keep a positive price: 1 - spread_of_last_level > 0.
    deepest = params.level_spread(OrderSide.BUY, params.number_of_layers - 1)
    if deepest >= 1:
        raise fail(
            "numberOfLayers",
            f"the deepest bid level would be {deepest} away from the price (>= 100 %)",
        )
    if params.amount_change_type is AmountChangeType.PERCENTAGE:
        if params.amount_change_per_layer <= -100:
            raise fail(
                "amountChangePerLayer",
                f"must be > -100 (percent per layer), got {params.amount_change_per_layer}",
            )
    elif params.level_amount(params.number_of_layers - 1) <= 0:
        deepest_amount = params.level_amount(params.number_of_layers - 1)
        raise fail(
            "amountChangePerLayer",
            f"the deepest level's amount would be {deepest_amount} (must stay > 0)",
        )
    for entry in params.order_override:
        where = f"orderOverride.{entry.name}"
        # Hummingbot allows a negative spread (an inside quote); not past the price itself.
        in_range(where, entry.spread, low=-MAX_SPREAD, high=MAX_SPREAD, why="spread fraction")
        if entry.amount <= 0:
            raise fail(where, f"amount must be > 0, got {entry.amount}")
    lists = (
        ("bidOrderLevelSpreads", params.bid_order_level_spreads),
        ("askOrderLevelSpreads", params.ask_order_level_spreads),
    )
    for field, spreads in lists:
        for spread in spreads:
            in_range(field, spread, low=ZERO, high=MAX_SPREAD, low_open=True, why=SPREAD_WHY)
    amounts = (
        ("bidOrderLevelAmounts", params.bid_order_level_amounts),
        ("askOrderLevelAmounts", params.ask_order_level_amounts),
    )
    for field, values in amounts:
        for amount in values:
            if amount <= 0:
                raise fail(field, f"every amount must be > 0, got {amount}")
    if params.split_order_levels_enabled and not params.effective_override():
        raise fail(
            "splitOrderLevelsEnabled",
            "needs bid or ask order level spreads and amounts (levels = shorter list)",
        )


def _timing(params: PureMarketMakingParams) -> None:
    int_in_range(
        "orderRefreshTime",
        params.order_refresh_time_ms,
        low=MIN_REFRESH_MS,
        high=MAX_DELAY_MS,
        unit="ms",
    )
    int_in_range(
        "filledOrderDelay", params.filled_order_delay_ms, low=0, high=MAX_DELAY_MS, unit="ms"
    )
    int_in_range(
        "maxOrderAge",
        params.max_order_age_ms,
        low=MIN_REFRESH_MS,
        high=7 * MAX_DELAY_MS,
        unit="ms",
    )
    int_in_range(
        "priceBandRefreshTime",
        params.price_band_refresh_time_ms,
        low=MIN_REFRESH_MS,
        high=30 * MAX_DELAY_MS,
        unit="ms",
    )
    # Hummingbot: -10 % .. 10 %; a negative tolerance means "always refresh".
    in_range(
        "orderRefreshTolerancePct",
        params.order_refresh_tolerance_pct,
        low=Decimal("-0.1"),
        high=Decimal("0.1"),
    )
    if params.minimum_spread is not None:
        # Hummingbot: -100 % .. 100 %. Above the innermost spread every fresh quote would
        # be cancelled on the next tick: a loop, never a strategy.
        in_range(
            "minimumSpread",
            params.minimum_spread,
            low=-ONE,
            high=min(params.bid_spread, params.ask_spread),
            why="at most the smaller of bidSpread and askSpread",
        )
    in_range(
        "hangingOrdersCancelPct",
        params.hanging_orders_cancel_pct,
        low=ZERO,
        high=MAX_SPREAD,
        low_open=True,
    )


def _bands(params: PureMarketMakingParams) -> None:
    for name, price in (("ceilingPrice", params.ceiling_price), ("floorPrice", params.floor_price)):
        if price is not None and price <= 0:
            raise fail(name, f"must be > 0 (or -1 / null: off), got {price}")
    if (
        params.ceiling_price is not None
        and params.floor_price is not None
        and params.ceiling_price <= params.floor_price
    ):
        raise fail(
            "ceilingPrice",
            f"must be above floorPrice ({params.ceiling_price} <= {params.floor_price})",
        )
    in_range("priceCeilingPct", params.price_ceiling_pct, low=-ONE, high=ONE)
    in_range("priceFloorPct", params.price_floor_pct, low=-ONE, high=ONE)
    if params.moving_price_band_enabled and params.price_ceiling_pct <= params.price_floor_pct:
        raise fail("priceCeilingPct", "must be above priceFloorPct")


def _inventory(params: PureMarketMakingParams) -> None:
    if params.inventory_target_base_ratio is not None:
        in_range("inventoryTargetBaseRatio", params.inventory_target_base_ratio, low=ZERO, high=ONE)
    in_range("inventorySkewFactor", params.inventory_skew_factor, low=ZERO, high=ONE)
    in_range(
        "inventoryRangeMultiplier",
        params.inventory_range_multiplier,
        low=ZERO,
        high=Decimal(100),
        low_open=True,
        why="0 would quote nothing on either side",
    )
    if params.inventory_price is not None and params.inventory_price < 0:
        raise fail("inventoryPrice", f"must be >= 0, got {params.inventory_price}")


def _optimization(params: PureMarketMakingParams) -> None:
    for field, depth in (
        ("bidOrderOptimizationDepth", params.bid_order_optimization_depth),
        ("askOrderOptimizationDepth", params.ask_order_optimization_depth),
    ):
        if depth < 0:
            raise fail(field, f"must be >= 0 (base amount), got {depth}")
    if params.take_if_crossed and params.oracle_exchange_name is None:
        # Hummingbot asks for take_if_crossed only with an external price source: with our
        # own book as the price no quote can cross it.
        raise fail("takeIfCrossed", "needs an external price source (oracleExchangeName)")
