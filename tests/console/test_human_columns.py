"""Changelists for people: symbols instead of asset ids, prices and amounts to the venue's
precision (else without 18 decimals), times with seconds and UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from console.formatting import stepped
from exchanges.models import Asset
from exchanges.paper.services import paper_market_ensure
from ledger.models import Account
from orders.models import PaymentSnapshot
from strategy.models import MarketSnapshotRecord, OrderIntent
from tests.exchanges.factories import AssetFactory

pytestmark = pytest.mark.django_db


def test_every_changelist_column_of_a_decimal_or_an_asset_id_is_humanized() -> None:
    raw = []
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.list_display:
            if not isinstance(name, str) or name in (model_admin.list_display_links or ()):
                continue
            try:
                field = model._meta.get_field(name)
            except Exception:  # noqa: S112 - a method or a relation path, not a column of ours
                continue
            kind = type(field).__name__
            asset_id = kind in {"CharField", "UUIDField"} and (
                name in {"asset", "asset_id"} or name.endswith("_asset_id")
            )
            if kind == "DecimalField" or asset_id:
                raw.append(f"{model.__name__}.{name}")
    assert raw == []


def test_a_snapshot_changelist_shows_the_symbol_the_amount_and_seconds_in_utc(
    admin_client: Client,
) -> None:
    btc = cast(Asset, AssetFactory(symbol="BTC"))
    PaymentSnapshot.objects.create(
        snapshot_id="s-1",
        asset_id=str(btc.pk),
        amount=Decimal("0.012300000000000000"),
        opponent_id="",
        memo_hex="",
        transaction_hash="h",
        snapshot_created_at="2026-12-03T08:00:05Z",
    )
    page = admin_client.get("/console/orders/paymentsnapshot/").content.decode()
    assert "BTC" in page and str(btc.pk) not in page
    assert "0.0123<" in page and "0.012300000000000000" not in page
    assert "2026-12-03 08:00:05 UTC" in page


def test_a_ledger_account_changelist_shows_the_symbol(admin_client: Client) -> None:
    eth = cast(Asset, AssetFactory(symbol="ETH"))
    Account.objects.create(code="custody:mixin", asset=str(eth.pk), kind="asset")
    page = admin_client.get("/console/ledger/account/").content.decode()
    assert ">ETH<" in page


# --------------------------------------------------------------- the venue's precision


def _intent(exchange_id: str, symbol: str, n: int, price: str, amount: str) -> OrderIntent:
    return OrderIntent.objects.create(
        kind="place",
        exchange_id=exchange_id,
        symbol=symbol,
        client_order_id=f"mm-test-{exchange_id}-{n}",
        side="buy",
        level=0,
        price=Decimal(price),
        amount=Decimal(amount),
        next_attempt_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
    )


def _snapshot(exchange_id: str, symbol: str, slot: int, tick: str, lot: str) -> None:
    MarketSnapshotRecord.objects.create(
        exchange_id=exchange_id,
        symbol=symbol,
        slot=slot,
        payload={"market": {"price_increment": tick, "amount_increment": lot}},
        created_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
    )


INTENTS = "/console/strategy/orderintent/"


def _cells(page: str) -> list[str]:
    return re.findall(r'<td class="field-(?:price|amount)_human">([^<]*)</td>', page)


def _intent_cells(client: Client) -> list[str]:
    """The price and amount cells of the intent changelist."""
    return _cells(client.get(INTENTS).content.decode())


def test_an_intent_changelist_shows_price_and_amount_to_the_markets_tick_and_lot(
    admin_client: Client,
) -> None:
    # given: binance BTC/USDT last quoted with a tick of 0.01 and a lot of 0.00001 (an older
    # slot had other steps: the latest counts)
    _snapshot("binance", "BTC/USDT", 1, "0.1", "0.001")
    _snapshot("binance", "BTC/USDT", 2, "0.01", "0.00001")
    _intent("binance", "BTC/USDT", 1, "12345.670000000000000000", "0.123450000000000000")
    # when
    page = admin_client.get(INTENTS).content.decode()
    # then: the venue's precision, not 8 places nor 18
    assert _cells(page) == ["12345.67", "0.12345"]
    assert "12345.67000000" not in page and "0.12345000" not in page
    assert "the venue&#x27;s tick" in page  # the column header says how it is shown


def test_an_off_step_value_is_marked_as_rounded_for_display_only(admin_client: Client) -> None:
    _snapshot("binance", "BTC/USDT", 1, "0.01", "0.00001")
    intent = _intent("binance", "BTC/USDT", 1, "12345.6789", "0.1")
    assert _intent_cells(admin_client) == ["≈12345.68", "0.10000"]
    intent.refresh_from_db()
    assert intent.price == Decimal("12345.6789")  # the stored value is untouched


def test_a_market_of_unknown_precision_falls_back_to_8_places(admin_client: Client) -> None:
    # given: nothing known of kraken ETH/USDT (no paper market, no snapshot)
    _intent("kraken", "ETH/USDT", 1, "2345.123456789", "1.500000000000000000")
    assert _intent_cells(admin_client) == ["2345.12345679", "1.5"]


def test_a_paper_markets_rows_use_its_configured_increments(admin_client: Client) -> None:
    paper_market_ensure(
        venue="paper",
        symbol="ETH/USDT",
        price=Decimal("2000"),
        price_increment=Decimal("0.1"),
        amount_increment=Decimal("0.0001"),
    )
    _intent("paper", "ETH/USDT", 1, "2000.5", "0.25")
    assert _intent_cells(admin_client) == ["2000.5", "0.2500"]


def test_the_steps_are_looked_up_once_a_page_not_once_a_row(admin_client: Client) -> None:
    _snapshot("binance", "BTC/USDT", 1, "0.01", "0.00001")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(INTENTS).status_code == 200
        return len(ctx.captured_queries)

    _intent("binance", "BTC/USDT", 1, "1", "1")
    one_row = queries()
    for n in range(2, 8):
        _intent("binance", "BTC/USDT", n, "1", "1")
    assert queries() == one_row


def test_stepped_keeps_the_steps_places_and_never_shows_minus_zero() -> None:
    assert stepped(Decimal("12345.6"), Decimal("0.01")) == "12345.60"
    assert stepped(Decimal("-0.000001"), Decimal("0.01")) == "≈0.00"
    assert stepped(Decimal("100"), Decimal("5")) == "100"
    assert stepped(Decimal("0.0000000123"), None) == "0.00000001"  # the 8-place rule
    assert stepped(None, Decimal("0.01")) == "—"
