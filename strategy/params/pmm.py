"""Pure market-making parameters: Hummingbot's `pure_market_making` (template v24) plus
Mr.Market's own, with Hummingbot's semantics as the default.

A session stores its parameters as JSON (`to_dict()`: camelCase keys, Decimals as
strings) and rebuilds them with `from_dto()`, which is also what the API feeds the
`PureMarketMakingStrategyDto` of `CONTRACT.md` into. `from_dto` accepts every key under
Mr.Market's camelCase name (fractions and milliseconds) *or* Hummingbot's snake_case
name in Hummingbot's units (percent and seconds; see `strategy.params.hummingbot`).
The dataclass is frozen and validates in `__post_init__`, so an instance that exists is
valid (`dataclasses.replace` re-validates too).

Units, once and for all: spreads, tolerances and "pct" values are *fractions*
(0.001 = 0.1 %) except `amountChangePerLayer` in percentage mode (percent, Mr.Market's
convention). Durations are integer milliseconds. Prices are quote per base, amounts base.
Mr.Market's own rules that differ from Hummingbot are named opt-in flags (`OPT_INS`),
never defaults. See `docs/strategy-quoting.md` for every field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from enum import StrEnum
from typing import Any

from exchanges.venues.base import OrderSide
from mrmarket.exceptions import ValidationFailed
from strategy.params import parsing as p
from strategy.params.hummingbot import translate
from strategy.params.types import (
    IDENTITY_KEYS,
    MAX_LAYERS,
    AmountChangeType,
    OrderOverride,
    PriceSourceType,
)
from strategy.params.validation import validate as _validate


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
    oracle_exchange_name: str | None = None  # Hummingbot price_source: external_market
    oracle_pair: str | None = None  # price_source_market; None: the same pair
    ceiling_price: Decimal | None = None  # at/above it: no buys (Hummingbot -1: None)
    floor_price: Decimal | None = None  # at/below it: no sells
    moving_price_band_enabled: bool = False
    price_ceiling_pct: Decimal = Decimal("0.01")  # Hummingbot default 1 (%)
    price_floor_pct: Decimal = Decimal("-0.01")  # Hummingbot default -1 (%)
    price_band_refresh_time_ms: int = 86_400_000  # Hummingbot default 86400 s
    ping_pong_enabled: bool = False
    hanging_orders_enabled: bool = False
    hanging_orders_cancel_pct: Decimal = Decimal("0.1")  # Hummingbot default 10 %
    inventory_target_base_ratio: Decimal | None = None  # None: inventory skew off
    inventory_skew_factor: Decimal = Decimal(1)  # 1 = Hummingbot's skew; 0 = none
    inventory_range_multiplier: Decimal = Decimal(1)
    inventory_price: Decimal | None = None  # cost basis before any fill (inventory_cost)
    order_level_spread: Decimal = Decimal("0.01")  # Hummingbot default 1 (%)
    order_refresh_tolerance_pct: Decimal = Decimal(0)  # negative: always refresh
    filled_order_delay_ms: int = 60_000
    minimum_spread: Decimal | None = None  # None: off (Hummingbot's default -100 %)
    max_order_age_ms: int = 1_800_000
    order_optimization_enabled: bool = False
    bid_order_optimization_depth: Decimal = Decimal(0)  # base
    ask_order_optimization_depth: Decimal = Decimal(0)  # base
    add_transaction_costs: bool = False
    take_if_crossed: bool = False
    order_override: tuple[OrderOverride, ...] = ()
    split_order_levels_enabled: bool = False
    bid_order_level_spreads: tuple[Decimal, ...] = ()  # fractions
    ask_order_level_spreads: tuple[Decimal, ...] = ()
    bid_order_level_amounts: tuple[Decimal, ...] = ()  # base
    ask_order_level_amounts: tuple[Decimal, ...] = ()
    should_wait_order_cancel_confirmation: bool = True
    # Mr.Market's own rules, opt-in only (docs/strategy-quoting.md, "Opt-in departures").
    multiplied_layer_spread: bool = False  # level i spread = spread * (i + 1)
    per_level_refresh: bool = False  # tolerance and max age judged per level
    requote_after_min_spread_cancel: bool = False  # re-place the side cancelled at once
    round_asks_up: bool = False  # asks rounded up to the tick (Hummingbot: down)
    filter_takers_before_budget: bool = False  # crossing quotes dropped before budget
    exact_skew_arithmetic: bool = False  # skew ratios in Decimal (Hummingbot: double)

    def __post_init__(self) -> None:
        _validate(self)

    # -- derived values (pure) ---------------------------------------------------------

    @property
    def inventory_skew_enabled(self) -> bool:
        return self.inventory_target_base_ratio is not None

    @property
    def levels_overridden(self) -> bool:
        return bool(self.effective_override())

    def effective_override(self) -> tuple[OrderOverride, ...]:
        """Split order levels become an override, as Hummingbot's `start.py` builds it."""
        if not self.split_order_levels_enabled:
            return self.order_override
        buys = [
            OrderOverride(f"split_level_{i}", OrderSide.BUY, s, a)
            for i, (s, a) in enumerate(
                zip(self.bid_order_level_spreads, self.bid_order_level_amounts, strict=False)
            )
        ]
        sells = [
            OrderOverride(f"split_level_{len(buys) + i}", OrderSide.SELL, s, a)
            for i, (s, a) in enumerate(
                zip(self.ask_order_level_spreads, self.ask_order_level_amounts, strict=False)
            )
        ]
        return tuple(buys + sells)

    def level_spread(self, side: OrderSide, level: int) -> Decimal:
        """Distance of level `level` (0-based) from the reference price, as a fraction."""
        first = self.bid_spread if side == OrderSide.BUY else self.ask_spread
        step = first if self.multiplied_layer_spread else self.order_level_spread
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
        """Build from the DTO (camelCase or Hummingbot names). Raises ValidationFailed."""
        if not isinstance(dto, dict):
            raise ValidationFailed("body: must be a JSON object")
        camel, aliases = translate(dto, known=set(_SPEC_BY_KEY) | IDENTITY_KEYS)
        try:
            return cls._from_camel(camel)
        except ValidationFailed as exc:
            field = (exc.payload or {}).get("field")
            if field not in aliases:
                raise
            # Name the key the client sent; the bounds are in Mr.Market's units.
            raise ValidationFailed(
                f"{aliases[field]}: {exc.message.partition(': ')[2]} "
                f"(checked as {field}, in fractions and milliseconds)",
                payload={"field": aliases[field]},
            ) from exc

    @classmethod
    def _from_camel(cls, camel: dict[str, Any]) -> PureMarketMakingParams:
        for required in _REQUIRED:
            if camel.get(required) is None:
                raise p.fail(required, "is required")
        kwargs: dict[str, Any] = {}
        for attr, key, parse in _SPEC:
            value = camel.get(key)
            if value is not None and value != "":
                kwargs[attr] = parse(key, value)
            elif key in _NULLABLE:
                kwargs[attr] = None
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready camelCase dict (Decimals as strings); `from_dto` reads it back."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            key = _KEY_BY_ATTR[f.name]
            if f.name == "order_override":
                out[key] = {o.name: [o.side.value, str(o.spread), str(o.amount)] for o in value}
            else:
                out[key] = p.jsonable(value)
        return out


# ---------------------------------------------------------------------------- parsing


def _override(field: str, value: Any) -> tuple[OrderOverride, ...]:
    if not isinstance(value, dict) or len(value) > 2 * MAX_LAYERS:
        raise p.fail(field, f"must be an object of at most {2 * MAX_LAYERS} named levels")
    out = []
    for name, entry in value.items():
        where = f"{field}.{name}"
        if not isinstance(entry, list | tuple) or len(entry) != 3:
            raise p.fail(where, "must be [side, spread, amount]")
        side = str(entry[0]).lower()
        if side not in {"buy", "sell"}:
            raise p.fail(where, f"side must be buy or sell, got {entry[0]!r}")
        out.append(
            OrderOverride(
                name=p.string(where, name),
                side=OrderSide(side),
                spread=p.decimal(where, entry[1]),
                amount=p.decimal(where, entry[2]),
            )
        )
    return tuple(out)


def _decimal_list(field: str, value: Any) -> tuple[Decimal, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) > MAX_LAYERS:
        raise p.fail(field, f"must be a list of at most {MAX_LAYERS} decimals")
    return tuple(
        p.decimal(field, item.strip() if isinstance(item, str) else item) for item in items
    )


def _enum(enum: type[StrEnum]) -> Callable[[str, Any], Any]:
    return lambda field, value: p.choice(field, value, enum)


_D, _I, _B, _S = p.decimal, p.integer, p.boolean, p.string
_SPEC: tuple[tuple[str, str, Callable[[str, Any], Any]], ...] = (
    ("pair", "pair", _S),
    ("exchange_name", "exchangeName", _S),
    ("bid_spread", "bidSpread", _D),
    ("ask_spread", "askSpread", _D),
    ("order_amount", "orderAmount", _D),
    ("order_refresh_time_ms", "orderRefreshTime", _I),
    ("number_of_layers", "numberOfLayers", _I),
    ("price_source_type", "priceSourceType", _enum(PriceSourceType)),
    ("amount_change_per_layer", "amountChangePerLayer", _D),
    ("amount_change_type", "amountChangeType", _enum(AmountChangeType)),
    ("oracle_exchange_name", "oracleExchangeName", _S),
    ("oracle_pair", "oraclePair", _S),
    ("ceiling_price", "ceilingPrice", _D),
    ("floor_price", "floorPrice", _D),
    ("moving_price_band_enabled", "movingPriceBandEnabled", _B),
    ("price_ceiling_pct", "priceCeilingPct", _D),
    ("price_floor_pct", "priceFloorPct", _D),
    ("price_band_refresh_time_ms", "priceBandRefreshTime", _I),
    ("ping_pong_enabled", "pingPongEnabled", _B),
    ("hanging_orders_enabled", "hangingOrdersEnabled", _B),
    ("hanging_orders_cancel_pct", "hangingOrdersCancelPct", _D),
    ("inventory_target_base_ratio", "inventoryTargetBaseRatio", _D),
    ("inventory_skew_factor", "inventorySkewFactor", _D),
    ("inventory_range_multiplier", "inventoryRangeMultiplier", _D),
    ("inventory_price", "inventoryPrice", _D),
    ("order_level_spread", "orderLevelSpread", _D),
    ("order_refresh_tolerance_pct", "orderRefreshTolerancePct", _D),
    ("filled_order_delay_ms", "filledOrderDelay", _I),
    ("minimum_spread", "minimumSpread", _D),
    ("max_order_age_ms", "maxOrderAge", _I),
    ("order_optimization_enabled", "orderOptimizationEnabled", _B),
    ("bid_order_optimization_depth", "bidOrderOptimizationDepth", _D),
    ("ask_order_optimization_depth", "askOrderOptimizationDepth", _D),
    ("add_transaction_costs", "addTransactionCosts", _B),
    ("take_if_crossed", "takeIfCrossed", _B),
    ("order_override", "orderOverride", _override),
    ("split_order_levels_enabled", "splitOrderLevelsEnabled", _B),
    ("bid_order_level_spreads", "bidOrderLevelSpreads", _decimal_list),
    ("ask_order_level_spreads", "askOrderLevelSpreads", _decimal_list),
    ("bid_order_level_amounts", "bidOrderLevelAmounts", _decimal_list),
    ("ask_order_level_amounts", "askOrderLevelAmounts", _decimal_list),
    ("should_wait_order_cancel_confirmation", "shouldWaitOrderCancelConfirmation", _B),
    ("multiplied_layer_spread", "multipliedLayerSpread", _B),
    ("per_level_refresh", "perLevelRefresh", _B),
    ("requote_after_min_spread_cancel", "requoteAfterMinSpreadCancel", _B),
    ("round_asks_up", "roundAsksUp", _B),
    ("filter_takers_before_budget", "filterTakersBeforeBudget", _B),
    ("exact_skew_arithmetic", "exactSkewArithmetic", _B),
)
_SPEC_BY_KEY = {key: attr for attr, key, _ in _SPEC}
_KEY_BY_ATTR = {attr: key for attr, key, _ in _SPEC}
_REQUIRED = ("pair", "exchangeName", "bidSpread", "askSpread", "orderAmount", "orderRefreshTime")
_NULLABLE = frozenset(
    {
        "oracleExchangeName",
        "oraclePair",
        "ceilingPrice",
        "floorPrice",
        "inventoryTargetBaseRatio",
        "inventoryPrice",
        "minimumSpread",
    }
)
OPT_INS = (
    "multipliedLayerSpread",
    "perLevelRefresh",
    "requoteAfterMinSpreadCancel",
    "roundAsksUp",
    "filterTakersBeforeBudget",
    "exactSkewArithmetic",
)
