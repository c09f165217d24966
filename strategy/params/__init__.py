"""Typed, validated strategy parameters (see `pmm` for units and `hummingbot` for names)."""

from strategy.params.arbitrage import ArbitrageParams
from strategy.params.pmm import OPT_INS, PureMarketMakingParams
from strategy.params.types import (
    IDENTITY_KEYS,
    MAX_DELAY_MS,
    MAX_FEE,
    MAX_LAYERS,
    MAX_SPREAD,
    MIN_REFRESH_MS,
    AmountChangeType,
    OrderOverride,
    PriceSourceType,
)

__all__ = [
    "IDENTITY_KEYS",
    "MAX_DELAY_MS",
    "MAX_FEE",
    "MAX_LAYERS",
    "MAX_SPREAD",
    "MIN_REFRESH_MS",
    "OPT_INS",
    "AmountChangeType",
    "ArbitrageParams",
    "OrderOverride",
    "PriceSourceType",
    "PureMarketMakingParams",
]
