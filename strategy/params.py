"""Typed, validated strategy parameters.

A session stores its parameters as JSON (`to_dict()`, Decimals as strings) and rebuilds
them with `from_dto()`, which is also what the API feeds the camelCase
`PureMarketMakingStrategyDto` of `CONTRACT.md` into. Both dataclasses are frozen and
validate in `__post_init__`, so an instance that exists is valid: `dataclasses.replace`
(used by the campaign-volume mode to tighten spreads) re-validates too.

Units, once and for all: spreads, tolerances and percentages are *fractions*
(0.001 = 0.1 %), as the contract says for spreads; the one exception is
`amountChangePerLayer` in percentage mode, which is in percent because Mr.Market's own
implementation divides it by 100. Durations are integer milliseconds, like
`orderRefreshTime`. Prices are in quote per base, amounts in base. See
`docs/strategy-quoting.md` for every field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from exchanges.venues.base import OrderSide
from mrmarket.exceptions import ValidationFailed

# Spreads are capped at 50 %: a market-making quote half the price away from the market
# never fills and is almost always a unit mistake (a percent typed where a fraction is
# expected: "1" meant as 1 % is 100 %, which would put the bid at price zero).
MAX_SPREAD = Decimal("0.5")
MAX_LAYERS = 20
MIN_REFRESH_MS = 1000  # the tick runs every second; refreshing faster is meaningless
MAX_DELAY_MS = 86_400_000  # a day: longer delays are misconfiguration, not strategy
MAX_FEE = Decimal("0.1")  # no venue charges 10 % a trade; higher is a unit mistake
# Keys of the DTO that identify the session rather than parameterise the strategy.
IDENTITY_KEYS = frozenset({"userId", "clientId"})


class PriceSourceType(StrEnum):
    MID_PRICE = "mid_price"
    BEST_ASK = "best_ask"
    BEST_BID = "best_bid"
    LAST_PRICE = "last_price"


class AmountChangeType(StrEnum):
    FIXED = "fixed"  # level i amount = orderAmount + i * amountChangePerLayer
    PERCENTAGE = "percentage"  # level i amount = orderAmount * (1 + amountChangePerLayer/100)^i


# ---------------------------------------------------------------------------- parsing


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", payload={"field": field})


def _decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise _fail(field, "must be a decimal number")
    if isinstance(value, float):
        # JSON numbers arrive as floats; their shortest repr is what the client typed.
        if not math.isfinite(value):
            raise _fail(field, "must be a finite decimal number")
        value = repr(value)
    try:
        result = Decimal(value) if isinstance(value, int | str | Decimal) else None
    except (InvalidOperation, ValueError):
        result = None
    if result is None or not result.is_finite():
        raise _fail(field, f"must be a finite decimal number, got {value!r}")
    return result


def _optional_decimal(field: str, value: Any) -> Decimal | None:
    return None if value is None or value == "" else _decimal(field, value)


def _int(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _fail(field, "must be an integer")
    if isinstance(value, int):
        return value
    number = _decimal(field, value)
    if number != number.to_integral_value():
        raise _fail(field, f"must be an integer, got {value!r}")
    return int(number)


def _bool(field: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise _fail(field, f"must be a boolean, got {value!r}")


def _str(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(field, "must be a non-empty string")
    return value.strip()


def _optional_str(field: str, value: Any) -> str | None:
    return None if value is None or value == "" else _str(field, value)


def _choice(field: str, value: Any, enum: type[StrEnum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = "|".join(member.value for member in enum)
        raise _fail(field, f"must be one of {allowed}, got {value!r}") from None


def _check_pair(field: str, pair: str) -> None:
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote or "/" in quote:
        raise _fail(field, f"must be BASE/QUOTE (e.g. BTC/USDT), got {pair!r}")


def _in_range(
    field: str,
    value: Decimal,
    *,
    low: Decimal,
    high: Decimal,
    low_open: bool = False,
    why: str = "",
) -> None:
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        left = "(" if low_open else "["
        hint = f" ({why})" if why else ""
        raise _fail(field, f"must be in {left}{low}, {high}]{hint}, got {value}")


def _reject_unknown(dto: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(dto) - known - IDENTITY_KEYS)
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]}: unknown parameter", payload={"field": unknown[0], "unknown": unknown}
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


# ---------------------------------------------------------------------------- pure MM

# dataclass field -> DTO key (camelCase, as in CONTRACT.md; extensions follow its style).
_PMM_KEYS: dict[str, str] = {
    "pair": "pair",
    "exchange_name": "exchangeName",
    "oracle_exchange_name": "oracleExchangeName",
    "bid_spread": "bidSpread",
    "ask_spread": "askSpread",
    "order_amount": "orderAmount",
    "order_refresh_time_ms": "orderRefreshTime",
    "number_of_layers": "numberOfLayers",
    "price_source_type": "priceSourceType",
    "amount_change_per_layer": "amountChangePerLayer",
    "amount_change_type": "amountChangeType",
    "ceiling_price": "ceilingPrice",
    "floor_price": "floorPrice",
    "hanging_orders_enabled": "hangingOrdersEnabled",
    "inventory_target_base_ratio": "inventoryTargetBaseRatio",
    "inventory_skew_factor": "inventorySkewFactor",
    # Hummingbot's parameters, our extensions of the DTO:
    "order_level_spread": "orderLevelSpread",
    "order_refresh_tolerance_pct": "orderRefreshTolerancePct",
    "filled_order_delay_ms": "filledOrderDelay",
    "minimum_spread": "minimumSpread",
    "max_order_age_ms": "maxOrderAge",
    "inventory_range_multiplier": "inventoryRangeMultiplier",
    "hanging_orders_cancel_pct": "hangingOrdersCancelPct",
}


@dataclass(frozen=True)
class PureMarketMakingParams:
    pair: str
    exchange_name: str
    bid_spread: Decimal  # fraction of the reference price, first (innermost) bid
    ask_spread: Decimal  # fraction of the reference price, first (innermost) ask
    order_amount: Decimal  # base amount of level 0
    order_refresh_time_ms: int
    number_of_layers: int = 1
    price_source_type: PriceSourceType = PriceSourceType.MID_PRICE
    amount_change_per_layer: Decimal = Decimal(0)
    amount_change_type: AmountChangeType = AmountChangeType.FIXED
    oracle_exchange_name: str | None = None  # external price source; its price replaces ours
    ceiling_price: Decimal | None = None  # at/above it: no buys
    floor_price: Decimal | None = None  # at/below it: no sells
    hanging_orders_enabled: bool = False
    inventory_target_base_ratio: Decimal | None = None  # None: inventory skew off
    inventory_skew_factor: Decimal = Decimal(1)  # 0 = no skew, 1 = Hummingbot's full skew
    # None: Mr.Market's layering, level i spread = spread * (i + 1).
    # Set: Hummingbot's, level i spread = spread + i * order_level_spread.
    order_level_spread: Decimal | None = None
    order_refresh_tolerance_pct: Decimal = Decimal(0)
    filled_order_delay_ms: int = 60_000  # Hummingbot's default filled_order_delay: 60 s
    minimum_spread: Decimal | None = None  # None: off (Hummingbot's default -100 %)
    max_order_age_ms: int = 1_800_000  # Hummingbot's default max_order_age: 1800 s
    inventory_range_multiplier: Decimal = Decimal(1)  # Hummingbot's default: 1
    hanging_orders_cancel_pct: Decimal = Decimal("0.1")  # Hummingbot's default: 10 %

    def __post_init__(self) -> None:
        _check_pair("pair", self.pair)
        if not self.exchange_name:
            raise _fail("exchangeName", "must be a non-empty string")
        if self.oracle_exchange_name is not None and not self.oracle_exchange_name:
            raise _fail("oracleExchangeName", "must be a non-empty string when set")
        spread_why = "a fraction: 0.001 = 0.1 %; above 0.5 is a unit mistake"
        _in_range(
            "bidSpread",
            self.bid_spread,
            low=Decimal(0),
            high=MAX_SPREAD,
            low_open=True,
            why=spread_why,
        )
        _in_range(
            "askSpread",
            self.ask_spread,
            low=Decimal(0),
            high=MAX_SPREAD,
            low_open=True,
            why=spread_why,
        )
        if self.order_amount <= 0:
            raise _fail("orderAmount", f"must be > 0, got {self.order_amount}")
        if self.order_refresh_time_ms < MIN_REFRESH_MS:
            raise _fail(
                "orderRefreshTime",
                f"must be >= {MIN_REFRESH_MS} ms, got {self.order_refresh_time_ms}",
            )
        if not 1 <= self.number_of_layers <= MAX_LAYERS:
            raise _fail(
                "numberOfLayers", f"must be in [1, {MAX_LAYERS}], got {self.number_of_layers}"
            )
        if self.order_level_spread is not None:
            _in_range("orderLevelSpread", self.order_level_spread, low=Decimal(0), high=MAX_SPREAD)
        # The deepest bid must keep a positive price: 1 - spread_of_last_level > 0.
        deepest = self.level_spread(OrderSide.BUY, self.number_of_layers - 1)
        if deepest >= 1:
            raise _fail(
                "numberOfLayers",
                f"the deepest bid level would be {deepest} away from the price (>= 100 %)",
            )
        if self.amount_change_type is AmountChangeType.PERCENTAGE:
            if self.amount_change_per_layer <= -100:
                raise _fail(
                    "amountChangePerLayer",
                    f"must be > -100 (percent per layer), got {self.amount_change_per_layer}",
                )
        elif self.level_amount(self.number_of_layers - 1) <= 0:
            raise _fail(
                "amountChangePerLayer",
                f"the deepest level's amount would be {self.level_amount(self.number_of_layers - 1)} (must stay > 0)",
            )
        for name, price in (("ceilingPrice", self.ceiling_price), ("floorPrice", self.floor_price)):
            if price is not None and price <= 0:
                raise _fail(name, f"must be > 0, got {price}")
        if (
            self.ceiling_price is not None
            and self.floor_price is not None
            and self.ceiling_price <= self.floor_price
        ):
            raise _fail(
                "ceilingPrice",
                f"must be above floorPrice ({self.ceiling_price} <= {self.floor_price})",
            )
        if self.inventory_target_base_ratio is not None:
            _in_range(
                "inventoryTargetBaseRatio",
                self.inventory_target_base_ratio,
                low=Decimal(0),
                high=Decimal(1),
            )
        _in_range(
            "inventorySkewFactor", self.inventory_skew_factor, low=Decimal(0), high=Decimal(1)
        )
        _in_range(
            "inventoryRangeMultiplier",
            self.inventory_range_multiplier,
            low=Decimal(0),
            high=Decimal(100),
            low_open=True,
            why="0 would quote nothing on either side",
        )
        _in_range(
            "orderRefreshTolerancePct",
            self.order_refresh_tolerance_pct,
            low=Decimal(0),
            high=MAX_SPREAD,
        )
        if not 0 <= self.filled_order_delay_ms <= MAX_DELAY_MS:
            raise _fail(
                "filledOrderDelay",
                f"must be in [0, {MAX_DELAY_MS}] ms, got {self.filled_order_delay_ms}",
            )
        if not MIN_REFRESH_MS <= self.max_order_age_ms <= 7 * MAX_DELAY_MS:
            raise _fail(
                "maxOrderAge",
                f"must be in [{MIN_REFRESH_MS}, {7 * MAX_DELAY_MS}] ms, got {self.max_order_age_ms}",
            )
        if self.minimum_spread is not None:
            # Above the innermost spread the first level would always be dropped.
            _in_range(
                "minimumSpread",
                self.minimum_spread,
                low=Decimal(0),
                high=min(self.bid_spread, self.ask_spread),
                why="at most the smaller of bidSpread and askSpread",
            )
        _in_range(
            "hangingOrdersCancelPct",
            self.hanging_orders_cancel_pct,
            low=Decimal(0),
            high=MAX_SPREAD,
            low_open=True,
        )

    # -- derived values (pure) ---------------------------------------------------------

    @property
    def inventory_skew_enabled(self) -> bool:
        return self.inventory_target_base_ratio is not None

    def level_spread(self, side: OrderSide, level: int) -> Decimal:
        """Distance of level `level` (0-based) from the reference price, as a fraction."""
        first = self.bid_spread if side == OrderSide.BUY else self.ask_spread
        step = first if self.order_level_spread is None else self.order_level_spread
        return first + step * level

    def level_amount(self, level: int) -> Decimal:
        """Base amount of level `level` (0-based), before skew, budget and rounding."""
        if self.amount_change_type is AmountChangeType.PERCENTAGE:
            factor = 1 + self.amount_change_per_layer / 100
            return self.order_amount * factor**level
        return self.order_amount + self.amount_change_per_layer * level

    # -- (de)serialisation --------------------------------------------------------------

    @classmethod
    def from_dto(cls, dto: dict[str, Any]) -> PureMarketMakingParams:
        """Build from the camelCase DTO (or from `to_dict()` output). Raises ValidationFailed."""
        if not isinstance(dto, dict):
            raise ValidationFailed("body: must be a JSON object")
        _reject_unknown(dto, set(_PMM_KEYS.values()))
        for required in (
            "pair",
            "exchangeName",
            "bidSpread",
            "askSpread",
            "orderAmount",
            "orderRefreshTime",
        ):
            if dto.get(required) is None:
                raise _fail(required, "is required")
        kwargs: dict[str, Any] = {
            "pair": _str("pair", dto["pair"]),
            "exchange_name": _str("exchangeName", dto["exchangeName"]),
            "oracle_exchange_name": _optional_str(
                "oracleExchangeName", dto.get("oracleExchangeName")
            ),
            "bid_spread": _decimal("bidSpread", dto["bidSpread"]),
            "ask_spread": _decimal("askSpread", dto["askSpread"]),
            "order_amount": _decimal("orderAmount", dto["orderAmount"]),
            "order_refresh_time_ms": _int("orderRefreshTime", dto["orderRefreshTime"]),
            "ceiling_price": _optional_decimal("ceilingPrice", dto.get("ceilingPrice")),
            "floor_price": _optional_decimal("floorPrice", dto.get("floorPrice")),
            "hanging_orders_enabled": _bool(
                "hangingOrdersEnabled", dto.get("hangingOrdersEnabled")
            ),
            "inventory_target_base_ratio": _optional_decimal(
                "inventoryTargetBaseRatio", dto.get("inventoryTargetBaseRatio")
            ),
            "order_level_spread": _optional_decimal(
                "orderLevelSpread", dto.get("orderLevelSpread")
            ),
            "minimum_spread": _optional_decimal("minimumSpread", dto.get("minimumSpread")),
        }
        optional: dict[str, tuple[str, Any]] = {
            "number_of_layers": ("numberOfLayers", _int),
            "price_source_type": (
                "priceSourceType",
                lambda f, v: _choice(f, v, PriceSourceType),
            ),
            "amount_change_per_layer": ("amountChangePerLayer", _decimal),
            "amount_change_type": (
                "amountChangeType",
                lambda f, v: _choice(f, v, AmountChangeType),
            ),
            "inventory_skew_factor": ("inventorySkewFactor", _decimal),
            "order_refresh_tolerance_pct": ("orderRefreshTolerancePct", _decimal),
            "filled_order_delay_ms": ("filledOrderDelay", _int),
            "max_order_age_ms": ("maxOrderAge", _int),
            "inventory_range_multiplier": ("inventoryRangeMultiplier", _decimal),
            "hanging_orders_cancel_pct": ("hangingOrdersCancelPct", _decimal),
        }
        for attr, (key, parse) in optional.items():
            if dto.get(key) is not None:
                kwargs[attr] = parse(key, dto[key])
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready camelCase dict (Decimals as strings); `from_dto` reads it back."""
        return {_PMM_KEYS[f.name]: _jsonable(getattr(self, f.name)) for f in fields(self)}


# ---------------------------------------------------------------------------- arbitrage

_ARB_KEYS: dict[str, str] = {
    "pair": "pair",
    "exchange_a_name": "exchangeAName",
    "exchange_b_name": "exchangeBName",
    "amount_to_trade": "amountToTrade",
    "min_profitability": "minProfitability",
    "fee_a": "feeA",
    "fee_b": "feeB",
}


@dataclass(frozen=True)
class ArbitrageParams:
    pair: str
    exchange_a_name: str
    exchange_b_name: str
    amount_to_trade: Decimal  # base amount of each leg
    min_profitability: Decimal  # net of taker fees, as a fraction of the buy cost
    fee_a: Decimal | None = None  # taker fee on A; None: the venue market's taker fee
    fee_b: Decimal | None = None

    def __post_init__(self) -> None:
        _check_pair("pair", self.pair)
        if not self.exchange_a_name:
            raise _fail("exchangeAName", "must be a non-empty string")
        if not self.exchange_b_name:
            raise _fail("exchangeBName", "must be a non-empty string")
        if self.exchange_a_name == self.exchange_b_name:
            raise _fail("exchangeBName", "must differ from exchangeAName")
        if self.amount_to_trade <= 0:
            raise _fail("amountToTrade", f"must be > 0, got {self.amount_to_trade}")
        _in_range(
            "minProfitability",
            self.min_profitability,
            low=Decimal(0),
            high=MAX_SPREAD,
            why="a fraction: 0.01 = 1 %",
        )
        for name, fee in (("feeA", self.fee_a), ("feeB", self.fee_b)):
            if fee is not None:
                _in_range(name, fee, low=Decimal(0), high=MAX_FEE, why="a fraction: 0.001 = 0.1 %")

    @classmethod
    def from_dto(cls, dto: dict[str, Any]) -> ArbitrageParams:
        if not isinstance(dto, dict):
            raise ValidationFailed("body: must be a JSON object")
        _reject_unknown(dto, set(_ARB_KEYS.values()))
        for required in (
            "pair",
            "exchangeAName",
            "exchangeBName",
            "amountToTrade",
            "minProfitability",
        ):
            if dto.get(required) is None:
                raise _fail(required, "is required")
        return cls(
            pair=_str("pair", dto["pair"]),
            exchange_a_name=_str("exchangeAName", dto["exchangeAName"]),
            exchange_b_name=_str("exchangeBName", dto["exchangeBName"]),
            amount_to_trade=_decimal("amountToTrade", dto["amountToTrade"]),
            min_profitability=_decimal("minProfitability", dto["minProfitability"]),
            fee_a=_optional_decimal("feeA", dto.get("feeA")),
            fee_b=_optional_decimal("feeB", dto.get("feeB")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {_ARB_KEYS[f.name]: _jsonable(getattr(self, f.name)) for f in fields(self)}
