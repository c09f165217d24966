"""Changelists for people: symbols instead of asset ids, amounts without 18 decimals, times
with seconds and UTC."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import pytest
from django.contrib import admin
from django.test import Client

from exchanges.models import Asset
from ledger.models import Account
from orders.models import PaymentSnapshot
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
