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


def test_level_spreads_follow_mr_market_by_default_and_hummingbot_when_set() -> None:
    mr_market = PureMarketMakingParams.from_dto({**MINIMAL_DTO, "numberOfLayers": 3})
    hummingbot = PureMarketMakingParams.from_dto(
        {**MINIMAL_DTO, "numberOfLayers": 3, "orderLevelSpread": "0.0005"}
    )

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
        ({"orderRefreshTime": 999}, "orderRefreshTime", ">= 1000 ms"),
        ({"orderRefreshTime": "1000.5"}, "orderRefreshTime", "must be an integer"),
        ({"numberOfLayers": 0}, "numberOfLayers", "[1, 20]"),
        ({"numberOfLayers": 21}, "numberOfLayers", "[1, 20]"),
        ({"numberOfLayers": 3, "bidSpread": "0.4"}, "numberOfLayers", ">= 100 %"),
        ({"priceSourceType": "vwap"}, "priceSourceType", "mid_price|best_ask|best_bid|last_price"),
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
        ({"orderRefreshTolerancePct": "-0.1"}, "orderRefreshTolerancePct", "[0, 0.5]"),
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
