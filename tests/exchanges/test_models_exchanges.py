"""Model invariants of the exchanges app, enforced by the database (named constraints)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from exchanges.enums import ExchangeKind
from exchanges.models import Exchange, FeeSettings, MarketMakingPair
from exchanges.selectors import decimal_str
from tests.exchanges.factories import (
    AssetFactory,
    ExchangeFactory,
    MarketMakingPairFactory,
    VenueAccountFactory,
)

pytestmark = pytest.mark.django_db


def _violates(name: str, fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError) as info, transaction.atomic():
        fn()
    message = str(info.value)
    # PostgreSQL names every violated constraint; SQLite names CHECKs but lists a UNIQUE's columns.
    assert name in message or (name.endswith("_unique") and "UNIQUE constraint failed" in message)


def test_account_ref_is_exchange_colon_index() -> None:
    account = VenueAccountFactory.create(
        exchange=ExchangeFactory.create(exchange_id="binance"), index=3
    )
    assert account.account_ref == "binance:3"
    assert account.exchange_id == "binance"


def test_two_accounts_cannot_share_an_exchange_index() -> None:
    first = VenueAccountFactory.create(index=0)
    _violates(
        "venue_account_exchange_index_unique",
        lambda: VenueAccountFactory.create(exchange=first.exchange, index=0),
    )


def test_an_account_without_ciphertexts_is_refused() -> None:
    _violates(
        "venue_account_secrets_present",
        lambda: VenueAccountFactory.create(api_secret_encrypted=""),
    )


def test_a_ccxt_exchange_needs_a_ccxt_id() -> None:
    _violates(
        "exchange_ccxt_id_required",
        lambda: Exchange.objects.create(exchange_id="x", name="X", kind=ExchangeKind.CCXT),
    )
    paper = Exchange.objects.create(exchange_id="paper", name="Paper", kind=ExchangeKind.PAPER)
    assert paper.ccxt_id == ""


def test_a_pair_needs_two_different_assets() -> None:
    asset = AssetFactory.create()
    _violates(
        "mm_pair_distinct_assets",
        lambda: MarketMakingPairFactory.create(base_asset=asset, quote_asset=asset),
    )


def test_a_pair_is_unique_per_exchange_and_symbol() -> None:
    pair = MarketMakingPairFactory.create()
    _violates(
        "mm_pair_exchange_symbol_unique",
        lambda: MarketMakingPairFactory.create(
            exchange=pair.exchange,
            symbol=pair.symbol,
            base_asset=pair.base_asset,
            quote_asset=pair.quote_asset,
        ),
    )


def test_custom_fee_rate_is_a_fraction_below_one() -> None:
    _violates(
        "mm_pair_custom_fee_rate_range",
        lambda: MarketMakingPairFactory.create(custom_fee_rate=Decimal("1")),
    )
    assert MarketMakingPairFactory.create(
        custom_fee_rate=Decimal("0.0025")
    ).custom_fee_rate == Decimal("0.0025")


def test_fee_settings_is_a_singleton() -> None:
    FeeSettings.objects.create(pk=1)
    _violates("fee_settings_singleton", lambda: FeeSettings.objects.create(pk=2))


def test_pair_ids_are_uuids_and_asset_ids_are_mixin_ids() -> None:
    pair = MarketMakingPairFactory.create()
    assert isinstance(pair.id, uuid.UUID)
    assert pair.base_asset_id == pair.base_asset.asset_id
    assert MarketMakingPair.objects.get(pk=pair.pk).exchange_id == pair.exchange.exchange_id


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("65000.000000000000000000"), "65000"),
        (Decimal("0.00010"), "0.0001"),
        (Decimal("1E+6"), "1000000"),
        (Decimal("-0.0"), "0"),
        (Decimal("0"), "0"),
        (None, None),
    ],
)
def test_decimal_str_renders_plain_decimal_strings(value: Decimal | None, text: str | None) -> None:
    assert decimal_str(value) == text
