"""Nullable-fields audit (issue 10/11): catalog rows with every nullable column null are
answered as null and the served OpenAPI schema says so (the fuzz found `base_price` and
`target_price` null where the schema promised a string)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from exchanges.catalog_models import ArbitragePair
from exchanges.models import MarketMakingPair, SpotPair
from tests.contract.table import Route
from tests.contract.test_contract_walk import _openapi, _schema_for
from tests.exchanges.factories import (
    AssetFactory,
    ExchangeFactory,
    MarketMakingPairFactory,
    SpotPairFactory,
)

pytestmark = pytest.mark.django_db


def _nullable_columns(model: type) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields  # type: ignore[attr-defined]
        if f.null and not f.is_relation
    ]


@pytest.fixture
def all_null_catalog() -> dict[str, Any]:
    exchange = ExchangeFactory.create(exchange_id="binance")
    other = ExchangeFactory.create(exchange_id="okx")
    base = AssetFactory.create(symbol="BTC", chain_id=None, price_usd=None)
    quote = AssetFactory.create(symbol="USDT", chain_id=None, price_usd=None)
    rows: dict[str, Any] = {
        "mm": MarketMakingPairFactory.create(exchange=exchange, base_asset=base, quote_asset=quote),
        "spot": SpotPairFactory.create(exchange=exchange, base_asset=base, quote_asset=quote),
        "arb": ArbitragePair.objects.create(
            symbol="BTC/USDT",
            base_symbol="BTC",
            quote_symbol="USDT",
            base_asset=base,
            quote_asset=quote,
            base_exchange=exchange,
            target_exchange=other,
        ),
    }
    for model, row in ((MarketMakingPair, rows["mm"]), (SpotPair, rows["spot"])):
        model.objects.filter(pk=row.pk).update(**{c: None for c in _nullable_columns(model)})
    return rows


@pytest.mark.parametrize("path", ["/grow/info", "/spot/info"])
def test_catalog_rows_with_every_nullable_column_null_match_the_schema(
    api, all_null_catalog, path
) -> None:  # type: ignore[no-untyped-def]
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    schema = _schema_for(_openapi(), Route("GET", path, "public", 200, {}))
    assert schema is not None
    jsonschema.validate(body, schema)  # raises on a null the schema does not allow
    if path == "/grow/info":
        pair = body["market_making"]["pairs"][0]
        assert pair["base_price"] is None and pair["target_price"] is None
        assert pair["custom_fee_rate"] is None and pair["base_chain_id"] is None
        arbitrage = body["arbitrage"]["pairs"][0]
        assert arbitrage["base_price"] is None and arbitrage["target_price"] is None
