"""Arbitrage parameters (Mr.Market's arbitrage DTO)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from mrmarket.exceptions import ValidationFailed
from strategy.params.parsing import (
    check_pair,
    decimal,
    fail,
    in_range,
    jsonable,
    optional_decimal,
    string,
)
from strategy.params.types import IDENTITY_KEYS, MAX_FEE, MAX_SPREAD

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
        check_pair("pair", self.pair)
        if not self.exchange_a_name:
            raise fail("exchangeAName", "must be a non-empty string")
        if not self.exchange_b_name:
            raise fail("exchangeBName", "must be a non-empty string")
        if self.exchange_a_name == self.exchange_b_name:
            raise fail("exchangeBName", "must differ from exchangeAName")
        if self.amount_to_trade <= 0:
            raise fail("amountToTrade", f"must be > 0, got {self.amount_to_trade}")
        in_range(
            "minProfitability",
            self.min_profitability,
            low=Decimal(0),
            high=MAX_SPREAD,
            why="a fraction: 0.01 = 1 %",
        )
        for name, fee in (("feeA", self.fee_a), ("feeB", self.fee_b)):
            if fee is not None:
                in_range(name, fee, low=Decimal(0), high=MAX_FEE, why="a fraction: 0.001 = 0.1 %")

    @classmethod
    def from_dto(cls, dto: dict[str, Any]) -> ArbitrageParams:
        if not isinstance(dto, dict):
            raise ValidationFailed("body: must be a JSON object")
        unknown = sorted(set(dto) - set(_ARB_KEYS.values()) - IDENTITY_KEYS)
        if unknown:
            raise ValidationFailed(
                f"{unknown[0]}: unknown parameter",
                payload={"field": unknown[0], "unknown": unknown},
            )
        for required in (
            "pair",
            "exchangeAName",
            "exchangeBName",
            "amountToTrade",
            "minProfitability",
        ):
            if dto.get(required) is None:
                raise fail(required, "is required")
        return cls(
            pair=string("pair", dto["pair"]),
            exchange_a_name=string("exchangeAName", dto["exchangeAName"]),
            exchange_b_name=string("exchangeBName", dto["exchangeBName"]),
            amount_to_trade=decimal("amountToTrade", dto["amountToTrade"]),
            min_profitability=decimal("minProfitability", dto["minProfitability"]),
            fee_a=optional_decimal("feeA", dto.get("feeA")),
            fee_b=optional_decimal("feeB", dto.get("feeB")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {_ARB_KEYS[f.name]: jsonable(getattr(self, f.name)) for f in fields(self)}
