"""Hummingbot's `pure_market_making` parameter names (template version 24), translated.

A Hummingbot user can paste their `conf_pure_market_making_*.yml` values as the DTO: each
key under its Hummingbot name, in Hummingbot's units, is translated here into Mr.Market's
camelCase key in Mr.Market's units (fractions instead of percents, milliseconds instead of
seconds, `BASE/QUOTE` instead of `BASE-QUOTE`, `null` instead of Hummingbot's `-1` for a
disabled price band). The conversions follow Hummingbot's own `start.py`
(`bid_spread / 100`, `hanging_orders_cancel_pct / 100`, ...). A key given under both
names is rejected (which one would win is a guess); an unknown key is rejected (a typo
must not fall back to a default).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from mrmarket.exceptions import ValidationFailed
from strategy.params import parsing as p

HUNDRED = Decimal(100)
TEMPLATE_VERSION = 24


def _percent(key: str, value: Any) -> Decimal:
    return p.decimal(key, value) / HUNDRED


def _seconds(key: str, value: Any) -> int:
    ms = p.decimal(key, value) * 1000
    if ms != ms.to_integral_value():
        raise p.fail(key, "must be a whole number of milliseconds (seconds with <= 3 decimals)")
    return int(ms)


def _pair(key: str, value: Any) -> str:
    text = p.string(key, value)
    base, sep, quote = text.partition("-")
    if not sep or not base or not quote or "-" in quote:
        raise p.fail(key, f"must be BASE-QUOTE (Hummingbot's form, e.g. BTC-USDT), got {text!r}")
    return f"{base}/{quote}"


def _band_price(key: str, value: Any) -> Decimal | None:
    price = p.decimal(key, value)
    return None if price == -1 else price  # Hummingbot: -1 disables the band side


def _percent_list(key: str, value: Any) -> list[Decimal]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise p.fail(key, "must be a comma-separated list of percents")
    return [_percent(key, i.strip() if isinstance(i, str) else i) for i in items]


def _override(key: str, value: Any) -> dict[str, list[Any]]:
    if not isinstance(value, dict):
        raise p.fail(key, "must be an object {name: [side, spread %, amount]}")
    out: dict[str, list[Any]] = {}
    for name, entry in value.items():
        if not isinstance(entry, list | tuple) or len(entry) != 3:
            raise p.fail(f"{key}.{name}", "must be [side, spread %, amount]")
        out[name] = [entry[0], _percent(f"{key}.{name}", entry[1]), entry[2]]
    return out


def _same(key: str, value: Any) -> Any:
    return value


# Hummingbot key -> (Mr.Market key, conversion into Mr.Market's units).
SIMPLE: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "exchange": ("exchangeName", _same),
    "market": ("pair", _pair),
    "bid_spread": ("bidSpread", _percent),
    "ask_spread": ("askSpread", _percent),
    "minimum_spread": ("minimumSpread", _percent),
    "order_refresh_time": ("orderRefreshTime", _seconds),
    "max_order_age": ("maxOrderAge", _seconds),
    "order_refresh_tolerance_pct": ("orderRefreshTolerancePct", _percent),
    "order_amount": ("orderAmount", _same),
    "price_ceiling": ("ceilingPrice", _band_price),
    "price_floor": ("floorPrice", _band_price),
    "moving_price_band_enabled": ("movingPriceBandEnabled", _same),
    "price_ceiling_pct": ("priceCeilingPct", _percent),
    "price_floor_pct": ("priceFloorPct", _percent),
    "price_band_refresh_time": ("priceBandRefreshTime", _seconds),
    "ping_pong_enabled": ("pingPongEnabled", _same),
    "inventory_range_multiplier": ("inventoryRangeMultiplier", _same),
    "inventory_price": ("inventoryPrice", _same),
    "order_levels": ("numberOfLayers", _same),
    "order_level_amount": ("amountChangePerLayer", _same),
    "order_level_spread": ("orderLevelSpread", _percent),
    "filled_order_delay": ("filledOrderDelay", _seconds),
    "hanging_orders_enabled": ("hangingOrdersEnabled", _same),
    "hanging_orders_cancel_pct": ("hangingOrdersCancelPct", _percent),
    "order_optimization_enabled": ("orderOptimizationEnabled", _same),
    "ask_order_optimization_depth": ("askOrderOptimizationDepth", _same),
    "bid_order_optimization_depth": ("bidOrderOptimizationDepth", _same),
    "add_transaction_costs": ("addTransactionCosts", _same),
    "price_type": ("priceSourceType", _same),
    "take_if_crossed": ("takeIfCrossed", _same),
    "order_override": ("orderOverride", _override),
    "split_order_levels_enabled": ("splitOrderLevelsEnabled", _same),
    "bid_order_level_spreads": ("bidOrderLevelSpreads", _percent_list),
    "ask_order_level_spreads": ("askOrderLevelSpreads", _percent_list),
    "bid_order_level_amounts": ("bidOrderLevelAmounts", _same),
    "ask_order_level_amounts": ("askOrderLevelAmounts", _same),
    "should_wait_order_cancel_confirmation": ("shouldWaitOrderCancelConfirmation", _same),
}
# Keys handled together below (they combine into one Mr.Market key or are metadata).
COMBINED = frozenset(
    {
        "template_version",
        "strategy",
        "inventory_skew_enabled",
        "inventory_target_base_pct",
        "price_source",
        "price_source_exchange",
        "price_source_market",
        "price_source_custom_api",
        "custom_api_update_interval",
    }
)
HUMMINGBOT_KEYS = frozenset(SIMPLE) | COMBINED


def translate(dto: dict[str, Any], *, known: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The DTO with every Hummingbot key replaced by its Mr.Market key and units, and
    which Hummingbot key each translated Mr.Market key came from (for error messages)."""
    unknown = sorted(set(dto) - known - HUMMINGBOT_KEYS)
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]}: unknown parameter", payload={"field": unknown[0], "unknown": unknown}
        )
    out = {k: v for k, v in dto.items() if k in known}
    aliases: dict[str, str] = {}
    given = {k: v for k, v in dto.items() if k in HUMMINGBOT_KEYS and v is not None}

    def put(hb_key: str, key: str, value: Any) -> None:
        if out.get(key) is not None:
            raise p.fail(hb_key, f"given twice, also as {key}: use one name")
        out[key] = value
        aliases[key] = hb_key

    for hb_key, value in given.items():
        if hb_key in SIMPLE:
            key, convert = SIMPLE[hb_key]
            put(hb_key, key, convert(hb_key, value))
    _metadata(given)
    _inventory(given, put)
    _price_source(given, put)
    return out, aliases


def _metadata(given: dict[str, Any]) -> None:
    if "template_version" in given:
        version = p.integer("template_version", given["template_version"])
        if version > TEMPLATE_VERSION:
            raise p.fail(
                "template_version",
                f"{version} is newer than the supported {TEMPLATE_VERSION}",
            )
    if given.get("strategy", "pure_market_making") != "pure_market_making":
        raise p.fail("strategy", f"must be pure_market_making, got {given['strategy']!r}")


def _inventory(given: dict[str, Any], put: Callable[[str, str, Any], None]) -> None:
    # Hummingbot: inventory_skew_enabled switches the skew on; inventory_target_base_pct
    # (percent, default 50) is its target. Mr.Market: a target ratio set means "on".
    if p.boolean("inventory_skew_enabled", given.get("inventory_skew_enabled", False)):
        pct = given.get("inventory_target_base_pct", 50)
        ratio = _percent("inventory_target_base_pct", pct)
        put("inventory_target_base_pct", "inventoryTargetBaseRatio", ratio)


def _price_source(given: dict[str, Any], put: Callable[[str, str, Any], None]) -> None:
    source = given.get("price_source", "current_market")
    if source == "custom_api" or given.get("price_type") == "custom":
        raise p.fail(
            "price_source",
            "custom_api is not offered: the service reaches no network but the venues; "
            "use external_market with price_source_exchange",
        )
    if source == "external_market":
        if given.get("price_source_exchange") is None:
            raise p.fail("price_source_exchange", "is required with price_source external_market")
        put("price_source_exchange", "oracleExchangeName", given["price_source_exchange"])
        if given.get("price_source_market") is not None:
            pair = _pair("price_source_market", given["price_source_market"])
            put("price_source_market", "oraclePair", pair)
    elif source != "current_market":
        raise p.fail("price_source", f"must be current_market or external_market, got {source!r}")
