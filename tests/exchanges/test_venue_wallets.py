"""Which venues keep a funding wallet apart from trading: read from the profile without a
gateway, and the same answer the gateway gives."""

from __future__ import annotations

from typing import Any

import pytest

from exchanges.enums import ExchangeKind
from exchanges.selectors import venue_wallets_split
from exchanges.venues.factory import build_gateway
from tests.exchanges.factories import ExchangeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "ccxt_id", "options", "split"),
    [
        (ExchangeKind.PAPER, "", {}, False),
        (ExchangeKind.CCXT, "binance", {}, False),
        (ExchangeKind.CCXT, "gate", {}, False),
        (ExchangeKind.CCXT, "mexc", {}, False),
        (ExchangeKind.CCXT, "okx", {}, True),
        (ExchangeKind.CCXT, "bybit", {}, True),
        (ExchangeKind.CCXT, "kucoin", {}, True),
        (ExchangeKind.CCXT, "binance", {"ccxt_id": "okx"}, True),  # the options' id wins
    ],
)
def test_a_venue_splits_wallets_as_its_gateway_says(
    kind: str, ccxt_id: str, options: dict[str, Any], split: bool
) -> None:
    exchange = ExchangeFactory.create(kind=kind, ccxt_id=ccxt_id, options=options)
    assert venue_wallets_split(exchange=exchange) is split
    gateway = build_gateway(
        kind=kind,
        venue=exchange.exchange_id,
        account=f"{exchange.exchange_id}:0",
        options={"ccxt_id": options.get("ccxt_id") or ccxt_id, "rate_limit": False},
    )
    assert gateway.needs_internal_transfer() is split
