from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from exchanges.venues.base import OrderSide
from mrmarket.exceptions import ValidationFailed
from strategy.params import (
    AmountChangeType,
    ArbitrageParams,
    PriceSourceType,
    PureMarketMakingParams,
)

D = Decimal

MINIMAL_DTO: dict[str, Any] = {
    "userId": "u1",
    "clientId": "c1",
    "pair": "BTC/USDT",
    "exchangeName": "binance",
    "bidSpread": 0.001,
    "askSpread": "0.002",
    "orderAmount": "0.5",
    "orderRefreshTime": 15000,
}

FULL_DTO: dict[str, Any] = {
    **MINIMAL_DTO,
    "oracleExchangeName": "mexc",
    "numberOfLayers": 3,
    "priceSourceType": "best_bid",
    "amountChangePerLayer": "10",
    "amountChangeType": "percentage",
    "ceilingPrice": "120000",
    "floorPrice": "80000",
    "hangingOrdersEnabled": True,
    "inventoryTargetBaseRatio": "0.4",
    "inventorySkewFactor": "0.5",
    "orderLevelSpread": "0.0005",
    "orderRefreshTolerancePct": "0.002",
    "filledOrderDelay": 30000,
    "minimumSpread": "0.0005",
    "maxOrderAge": 600000,
    "inventoryRangeMultiplier": "2",
    "hangingOrdersCancelPct": "0.05",
}


def test_minimal_dto_gets_hummingbot_defaults() -> None:
    params = PureMarketMakingParams.from_dto(MINIMAL_DTO)

    assert params.bid_spread == D("0.001")  # a JSON float becomes the decimal the client typed
    assert params.ask_spread == D("0.002")
    assert params.order_amount == D("0.5")
    assert params.order_refresh_time_ms == 15000
    assert params.number_of_layers == 1
    assert params.price_source_type is PriceSourceType.MID_PRICE
    assert params.amount_change_type is AmountChangeType.FIXED
    assert params.filled_order_delay_ms == 60_000
    assert params.max_order_age_ms == 1_800_000
    assert params.order_refresh_tolerance_pct == D(0)
    assert params.hanging_orders_cancel_pct == D("0.1")
    assert params.inventory_range_multiplier == D(1)
    assert params.minimum_spread is None
    assert params.inventory_skew_enabled is False


def test_full_dto_parses_every_field() -> None:
    params = PureMarketMakingParams.from_dto(FULL_DTO)

    assert params.oracle_exchange_name == "mexc"
    assert params.number_of_layers == 3
    assert params.price_source_type is PriceSourceType.BEST_BID
    assert params.amount_change_type is AmountChangeType.PERCENTAGE
    assert params.amount_change_per_layer == D(10)
    assert params.ceiling_price == D(120000)
    assert params.floor_price == D(80000)
    assert params.hanging_orders_enabled is True
    assert params.inventory_target_base_ratio == D("0.4")
    assert params.inventory_skew_factor == D("0.5")
    assert params.order_level_spread == D("0.0005")
    assert params.order_refresh_tolerance_pct == D("0.002")
    assert params.filled_order_delay_ms == 30000
    assert params.minimum_spread == D("0.0005")
    assert params.max_order_age_ms == 600000
    assert params.inventory_range_multiplier == D(2)
    assert params.hanging_orders_cancel_pct == D("0.05")
    assert params.inventory_skew_enabled is True


def test_to_dict_is_json_and_round_trips() -> None:
    params = PureMarketMakingParams.from_dto(FULL_DTO)

    stored = json.loads(json.dumps(params.to_dict()))

    assert stored["bidSpread"] == "0.001"
    assert stored["priceSourceType"] == "best_bid"
    assert stored["orderRefreshTime"] == 15000
    assert PureMarketMakingParams.from_dto(stored) == params


def test_minimal_round_trip_keeps_nulls() -> None:
    params = PureMarketMakingParams.from_dto(MINIMAL_DTO)
    stored = json.loads(json.dumps(params.to_dict()))
    assert stored["ceilingPrice"] is None
    assert PureMarketMakingParams.from_dto(stored) == params


def test_level_spreads_follow_hummingbot_by_default_and_mr_market_on_opt_in() -> None:
    mr_market = PureMarketMakingParams.from_dto(
        {**MINIMAL_DTO, "numberOfLayers": 3, "multipliedLayerSpread": True}
    )
    hummingbot = PureMarketMakingParams.from_dto(
        {**MINIMAL_DTO, "numberOfLayers": 3, "orderLevelSpread": "0.0005"}
    )
    default = PureMarketMakingParams.from_dto({**MINIMAL_DTO, "numberOfLayers": 3})

    assert [mr_market.level_spread(OrderSide.BUY, i) for i in range(3)] == [
        D("0.001"),
        D("0.002"),
        D("0.003"),
    ]
    assert [mr_market.level_spread(OrderSide.SELL, i) for i in range(3)] == [
        D("0.002"),
        D("0.004"),
        D("0.006"),
    ]
    assert [hummingbot.level_spread(OrderSide.BUY, i) for i in range(3)] == [
        D("0.001"),
        D("0.0015"),
        D("0.0020"),
    ]
    # Hummingbot's default order_level_spread is 1 %.
    assert [default.level_spread(OrderSide.BUY, i) for i in range(3)] == [
        D("0.001"),
        D("0.011"),
        D("0.021"),
    ]


def test_level_amounts_fixed_and_percentage() -> None:
    fixed = PureMarketMakingParams.from_dto(
        {**MINIMAL_DTO, "numberOfLayers": 3, "amountChangePerLayer": "0.25"}
    )
    percentage = PureMarketMakingParams.from_dto(
        {
            **MINIMAL_DTO,
            "numberOfLayers": 3,
            "amountChangePerLayer": "10",
            "amountChangeType": "percentage",
        }
    )

    assert [fixed.level_amount(i) for i in range(3)] == [D("0.5"), D("0.75"), D("1.00")]
    assert [percentage.level_amount(i) for i in range(3)] == [D("0.5"), D("0.55"), D("0.605")]


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"bidSpread": 0}, "bidSpread", "must be in (0, 0.5]"),
        ({"bidSpread": "0.6"}, "bidSpread", "unit mistake"),
        ({"askSpread": "-0.01"}, "askSpread", "must be in (0, 0.5]"),
        ({"orderAmount": "0"}, "orderAmount", "must be > 0"),
        ({"orderRefreshTime": 999}, "orderRefreshTime", "[1000, 86400000] ms"),
        ({"orderRefreshTime": "1000.5"}, "orderRefreshTime", "must be an integer"),
        ({"numberOfLayers": 0}, "numberOfLayers", "[1, 20]"),
        ({"numberOfLayers": 21}, "numberOfLayers", "[1, 20]"),
        (
            {"numberOfLayers": 3, "bidSpread": "0.4", "multipliedLayerSpread": True},
            "numberOfLayers",
            ">= 100 %",
        ),
        (
            {"priceSourceType": "vwap"},
            "priceSourceType",
            "mid_price|best_ask|best_bid|last_price|last_own_trade_price|inventory_cost",
        ),
        ({"amountChangeType": "double"}, "amountChangeType", "fixed|percentage"),
        (
            {"numberOfLayers": 3, "amountChangePerLayer": "-0.25"},
            "amountChangePerLayer",
            "must stay > 0",
        ),
        (
            {"amountChangeType": "percentage", "amountChangePerLayer": "-100"},
            "amountChangePerLayer",
            "> -100",
        ),
        ({"ceilingPrice": "0"}, "ceilingPrice", "must be > 0"),
        ({"ceilingPrice": "10", "floorPrice": "10"}, "ceilingPrice", "above floorPrice"),
        ({"inventoryTargetBaseRatio": "1.1"}, "inventoryTargetBaseRatio", "[0, 1]"),
        ({"inventorySkewFactor": "2"}, "inventorySkewFactor", "[0, 1]"),
        ({"inventoryRangeMultiplier": "0"}, "inventoryRangeMultiplier", "(0, 100]"),
        ({"orderRefreshTolerancePct": "-0.2"}, "orderRefreshTolerancePct", "[-0.1, 0.1]"),
        ({"filledOrderDelay": -1}, "filledOrderDelay", "[0, 86400000]"),
        ({"maxOrderAge": 10}, "maxOrderAge", "[1000,"),
        ({"minimumSpread": "0.0015"}, "minimumSpread", "at most the smaller"),
        ({"hangingOrdersCancelPct": "0"}, "hangingOrdersCancelPct", "(0, 0.5]"),
        ({"hangingOrdersEnabled": "yes"}, "hangingOrdersEnabled", "must be a boolean"),
        ({"pair": "BTCUSDT"}, "pair", "BASE/QUOTE"),
        ({"exchangeName": ""}, "exchangeName", "is required"),
        ({"bidSpread": True}, "bidSpread", "decimal number"),
        ({"bidSpread": "NaN"}, "bidSpread", "finite"),
        ({"bidSpread": float("inf")}, "bidSpread", "finite"),
        ({"orderAmount": "abc"}, "orderAmount", "finite decimal"),
        ({"bidSpred": "0.1"}, "bidSpred", "unknown parameter"),
    ],
)
def test_invalid_dto_names_the_field(overrides: dict[str, Any], field: str, fragment: str) -> None:
    dto = {**MINIMAL_DTO, **overrides}
    if overrides.get("exchangeName") == "":
        dto["exchangeName"] = None

    with pytest.raises(ValidationFailed) as caught:
        PureMarketMakingParams.from_dto(dto)

    assert caught.value.message.startswith(f"{field}: ")
    assert fragment in caught.value.message
    assert caught.value.payload["field"] == field


@pytest.mark.parametrize("missing", ["pair", "bidSpread", "orderAmount", "orderRefreshTime"])
def test_missing_required_field(missing: str) -> None:
    dto = {k: v for k, v in MINIMAL_DTO.items() if k != missing}
    with pytest.raises(ValidationFailed, match=f"^{missing}: is required$"):
        PureMarketMakingParams.from_dto(dto)


def test_dataclass_replace_revalidates() -> None:
    from dataclasses import replace

    params = PureMarketMakingParams.from_dto(MINIMAL_DTO)
    with pytest.raises(ValidationFailed, match="^bidSpread: "):
        replace(params, bid_spread=D(0))


def test_arbitrage_params_from_mr_market_dto() -> None:
    dto = {
        "userId": "u",
        "clientId": "c",
        "pair": "ETH/USDT",
        "amountToTrade": 1.5,
        "minProfitability": 0.01,
        "exchangeAName": "binance",
        "exchangeBName": "mexc",
        "feeA": "0.001",
    }

    params = ArbitrageParams.from_dto(dto)

    assert params.amount_to_trade == D("1.5")
    assert params.min_profitability == D("0.01")
    assert params.fee_a == D("0.001")
    assert params.fee_b is None
    assert ArbitrageParams.from_dto(json.loads(json.dumps(params.to_dict()))) == params


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"exchangeBName": "binance"}, "exchangeBName"),
        ({"amountToTrade": 0}, "amountToTrade"),
        ({"minProfitability": "-0.01"}, "minProfitability"),
        ({"minProfitability": "0.6"}, "minProfitability"),
        ({"feeB": "0.2"}, "feeB"),
        ({"pair": "ETH-USDT"}, "pair"),
        ({"orderAmount": 1}, "orderAmount"),
    ],
)
def test_invalid_arbitrage_dto(overrides: dict[str, Any], field: str) -> None:
    dto = {
        "pair": "ETH/USDT",
        "amountToTrade": "1",
        "minProfitability": "0.01",
        "exchangeAName": "binance",
        "exchangeBName": "mexc",
        **overrides,
    }
    with pytest.raises(ValidationFailed) as caught:
        ArbitrageParams.from_dto(dto)
    assert caught.value.payload["field"] == field


# ---------------------------------------------------------------- Hummingbot's names (v24)

HUMMINGBOT_CONF: dict[str, Any] = {
    # conf_pure_market_making_strategy_TEMPLATE.yml, template_version 24, filled in.
    "template_version": 24,
    "strategy": "pure_market_making",
    "exchange": "binance",
    "market": "BTC-USDT",
    "bid_spread": "0.1",
    "ask_spread": "0.2",
    "minimum_spread": "-100",
    "order_refresh_time": "30",
    "max_order_age": "1800",
    "order_refresh_tolerance_pct": "-1",
    "order_amount": "0.5",
    "price_ceiling": "-1",
    "price_floor": "80000",
    "moving_price_band_enabled": True,
    "price_ceiling_pct": "2",
    "price_floor_pct": "-3",
    "price_band_refresh_time": "3600",
    "ping_pong_enabled": True,
    "inventory_skew_enabled": True,
    "inventory_target_base_pct": "40",
    "inventory_range_multiplier": "2",
    "inventory_price": "90000",
    "order_levels": 3,
    "order_level_amount": "0.1",
    "order_level_spread": "0.5",
    "filled_order_delay": "60",
    "hanging_orders_enabled": True,
    "hanging_orders_cancel_pct": "10",
    "order_optimization_enabled": True,
    "ask_order_optimization_depth": "2",
    "bid_order_optimization_depth": "3",
    "add_transaction_costs": True,
    "price_source": "external_market",
    "price_type": "last_own_trade_price",
    "price_source_exchange": "mexc",
    "price_source_market": "BTC-USDC",
    "price_source_custom_api": None,
    "custom_api_update_interval": 5.0,
    "take_if_crossed": True,
    "order_override": {"order_1": ["buy", "0.5", "100"], "order_2": ["sell", "0.1", "500"]},
    "split_order_levels_enabled": False,
    "bid_order_level_spreads": "1,2",
    "ask_order_level_spreads": "1,2",
    "bid_order_level_amounts": "1,2",
    "ask_order_level_amounts": "1,2",
    "should_wait_order_cancel_confirmation": True,
}


def test_every_hummingbot_v24_parameter_is_accepted_in_hummingbot_units() -> None:
    params = PureMarketMakingParams.from_dto(HUMMINGBOT_CONF)

    assert (params.exchange_name, params.pair) == ("binance", "BTC/USDT")
    assert (params.bid_spread, params.ask_spread) == (D("0.001"), D("0.002"))  # percent / 100
    assert params.minimum_spread == D("-1")
    assert params.order_refresh_time_ms == 30_000  # seconds -> ms
    assert params.max_order_age_ms == 1_800_000
    assert params.order_refresh_tolerance_pct == D("-0.01")  # negative: always refresh
    assert params.ceiling_price is None  # Hummingbot's -1: off
    assert params.floor_price == D(80000)
    assert params.moving_price_band_enabled is True
    assert (params.price_ceiling_pct, params.price_floor_pct) == (D("0.02"), D("-0.03"))
    assert params.price_band_refresh_time_ms == 3_600_000
    assert params.ping_pong_enabled is True
    assert params.inventory_target_base_ratio == D("0.4")
    assert params.inventory_range_multiplier == D(2)
    assert params.inventory_price == D(90000)
    assert params.number_of_layers == 3
    assert params.amount_change_per_layer == D("0.1")
    assert params.amount_change_type is AmountChangeType.FIXED
    assert params.order_level_spread == D("0.005")
    assert params.filled_order_delay_ms == 60_000
    assert params.hanging_orders_enabled is True
    assert params.hanging_orders_cancel_pct == D("0.1")
    assert params.order_optimization_enabled is True
    assert (params.bid_order_optimization_depth, params.ask_order_optimization_depth) == (3, 2)
    assert params.add_transaction_costs is True
    assert params.price_source_type is PriceSourceType.LAST_OWN_TRADE_PRICE
    assert (params.oracle_exchange_name, params.oracle_pair) == ("mexc", "BTC/USDC")
    assert params.take_if_crossed is True
    assert [(o.name, o.side, o.spread, o.amount) for o in params.order_override] == [
        ("order_1", OrderSide.BUY, D("0.005"), D(100)),
        ("order_2", OrderSide.SELL, D("0.001"), D(500)),
    ]
    assert params.bid_order_level_spreads == (D("0.01"), D("0.02"))
    assert params.bid_order_level_amounts == (D(1), D(2))
    assert params.should_wait_order_cancel_confirmation is True
    # Stored in Mr.Market's names; read back equal.
    assert PureMarketMakingParams.from_dto(json.loads(json.dumps(params.to_dict()))) == params


def test_hummingbot_defaults_hold_when_a_key_is_omitted() -> None:
    params = PureMarketMakingParams.from_dto(MINIMAL_DTO)

    assert params.order_level_spread == D("0.01")  # order_level_spread default 1 %
    assert params.moving_price_band_enabled is False
    assert (params.price_ceiling_pct, params.price_floor_pct) == (D("0.01"), D("-0.01"))
    assert params.price_band_refresh_time_ms == 86_400_000
    assert params.should_wait_order_cancel_confirmation is True
    assert not any(getattr(params, f) for f in ("ping_pong_enabled", "take_if_crossed"))
    assert not any(
        getattr(params, f)
        for f in (
            "multiplied_layer_spread",
            "per_level_refresh",
            "requote_after_min_spread_cancel",
            "round_asks_up",
            "filter_takers_before_budget",
            "exact_skew_arithmetic",
        )
    )


def test_split_order_levels_become_an_override_as_in_hummingbot_start() -> None:
    params = PureMarketMakingParams.from_dto(
        {
            **MINIMAL_DTO,
            "split_order_levels_enabled": True,
            "bid_order_level_spreads": "1,2,3",
            "bid_order_level_amounts": "1,2",  # the shorter list sets the number of levels
            "ask_order_level_spreads": "1",
            "ask_order_level_amounts": "1",
        }
    )

    assert [(o.name, o.side.value, o.spread, o.amount) for o in params.effective_override()] == [
        ("split_level_0", "buy", D("0.01"), D(1)),
        ("split_level_1", "buy", D("0.02"), D(2)),
        ("split_level_2", "sell", D("0.01"), D(1)),
    ]


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"orderAmount": "1e999999"}, "orderAmount", "absurdly large"),
        ({"orderRefreshTime": "1e400"}, "orderRefreshTime", "absurdly large"),
        ({"orderRefreshTime": 1e400}, "orderRefreshTime", "finite"),
        ({"orderRefreshTime": 86_400_001}, "orderRefreshTime", "[1000, 86400000] ms"),
        ({"orderAmount": "1e-30"}, "orderAmount", "below any venue's precision"),
        ({"orderAmount": "0.0000000000000000011"}, "orderAmount", "more than 18 decimal places"),
        ({"orderAmount": "1" * 80}, "orderAmount", "at most 64 characters"),
        ({"priceBandRefreshTime": 10}, "priceBandRefreshTime", "[1000,"),
        ({"order_refresh_time": "0.0001"}, "order_refresh_time", "whole number of milliseconds"),
        ({"bid_spread": "60", "bidSpread": None}, "bid_spread", "checked as bidSpread"),
        ({"market": "BTC/USDT"}, "market", "BASE-QUOTE"),
        ({"price_source": "custom_api"}, "price_source", "not offered"),
        ({"price_source": "external_market"}, "price_source_exchange", "is required"),
        ({"template_version": 25}, "template_version", "newer than the supported 24"),
        ({"strategy": "avellaneda_market_making"}, "strategy", "pure_market_making"),
        ({"bid_spread": "0.1"}, "bid_spread", "given twice"),
        ({"takeIfCrossed": True}, "takeIfCrossed", "external price source"),
        ({"orderOverride": {"o": ["hold", "0.01", "1"]}}, "orderOverride.o", "buy or sell"),
        ({"orderOverride": {"o": ["buy", "0.01", "0"]}}, "orderOverride.o", "amount must be > 0"),
        ({"splitOrderLevelsEnabled": True}, "splitOrderLevelsEnabled", "needs bid or ask"),
        ({"bidOrderOptimizationDepth": "-1"}, "bidOrderOptimizationDepth", ">= 0"),
    ],
)
def test_absurd_or_inconsistent_values_are_rejected_naming_the_key(
    overrides: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        PureMarketMakingParams.from_dto({**MINIMAL_DTO, **overrides})

    assert caught.value.payload["field"] == field
    assert caught.value.message.startswith(f"{field}: ")
    assert fragment in caught.value.message


def test_amounts_below_the_markets_precision_are_rejected_at_session_start() -> None:
    from strategy.params.market import validate_for_market
    from tests.strategy.quoting_support import market

    params = PureMarketMakingParams.from_dto({**MINIMAL_DTO, "orderAmount": "0.0001"})
    with pytest.raises(ValidationFailed) as caught:
        validate_for_market(params, market(amount_increment=D("0.001"), min_amount=None))
    assert caught.value.payload["field"] == "orderAmount"
    assert "below the market's amount step 0.001" in caught.value.message
    with pytest.raises(ValidationFailed, match="minimum amount 0.01"):
        validate_for_market(params, market(amount_increment=D("0.0001"), min_amount=D("0.01")))
    validate_for_market(params, market(amount_increment=D("0.0001"), min_amount=None))
