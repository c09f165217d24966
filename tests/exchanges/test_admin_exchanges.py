"""The operator console for exchanges: write-only secrets, saves through services, audited."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.test import Client

from exchanges import services
from exchanges.models import Exchange, FeeSettings, MarketMakingPair, VenueAccount
from exchanges.secrets import seal_for_tests
from mrmarket.models import AuditEvent, User
from tests.exchanges.factories import (
    AssetFactory,
    ExchangeFactory,
    MarketMakingPairFactory,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "console-secret-Zq9-never-rendered"
API_KEY = "console-api-key-ABCDEFGH7777"


@pytest.fixture
def console(db) -> Client:  # type: ignore[no-untyped-def]
    staff: User = UserFactory.create(is_staff=True, is_superuser=True, is_mixin_user=False)
    client = Client()
    client.force_login(staff)
    return client


def test_every_exchanges_console_page_renders(console: Client) -> None:
    pair = MarketMakingPairFactory.create()
    for model in (
        "exchange",
        "venueaccount",
        "asset",
        "assetnetwork",
        "marketmakingpair",
        "spotpair",
        "feesettings",
    ):
        assert console.get(f"/console/exchanges/{model}/").status_code == 200, model
        assert console.get(f"/console/exchanges/{model}/add/").status_code in (200, 403), model
    assert console.get(f"/console/exchanges/marketmakingpair/{pair.pk}/change/").status_code == 200


def test_adding_an_account_in_the_console_encrypts_and_never_shows_the_secret(
    console: Client, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    exchange = ExchangeFactory.create(exchange_id="binance")

    response = console.post(
        "/console/exchanges/venueaccount/add/",
        {
            "exchange": exchange.exchange_id,
            "index": "0",
            "name": "main",
            "enabled": "on",
            "api_key_input": API_KEY,
            "api_secret_sealed": seal_for_tests(plaintext=SECRET),
            "api_passphrase_sealed": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    account = VenueAccount.objects.get()
    creds = services.venue_credentials_get(account=account)
    assert (creds.api_key, creds.secret, creds.password) == (API_KEY, SECRET, "")
    assert AuditEvent.objects.filter(action="venue_account.create", target_id="binance:0").exists()
    pages = [
        console.get("/console/exchanges/venueaccount/").content.decode(),
        console.get(f"/console/exchanges/venueaccount/{account.pk}/change/").content.decode(),
    ]
    for page in pages:
        assert SECRET not in page and API_KEY not in page
        assert account.api_secret_encrypted not in page
    assert "********7777" in pages[0]
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert SECRET not in logged and API_KEY not in logged


def test_editing_an_account_keeps_secrets_unless_retyped(console: Client) -> None:
    account = services.venue_account_create(
        exchange=ExchangeFactory.create(), name="a", api_key=API_KEY, api_secret=SECRET, actor=None
    )
    url = f"/console/exchanges/venueaccount/{account.pk}/change/"
    response = console.post(
        url, {"name": "renamed", "read_only": "on", "enabled": "on", "api_secret_sealed": ""}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "renamed" and account.read_only is True
    assert services.venue_credentials_get(account=account).secret == SECRET

    sealed = seal_for_tests(plaintext="new-secret")
    console.post(url, {"name": "renamed", "enabled": "on", "api_secret_sealed": sealed})
    account.refresh_from_db()
    assert services.venue_credentials_get(account=account).secret == "new-secret"
    assert services.venue_credentials_get(account=account).api_key == API_KEY
    payloads = list(
        AuditEvent.objects.filter(action="venue_account.update").values_list("payload", flat=True)
    )
    assert payloads[-1]["replaced"] == ["api_secret"] or payloads[0]["replaced"] == ["api_secret"]
    assert all("new-secret" not in str(p) for p in payloads)


def test_a_new_console_account_needs_key_and_secret(console: Client) -> None:
    exchange = ExchangeFactory.create()
    response = console.post(
        "/console/exchanges/venueaccount/add/",
        {"exchange": exchange.exchange_id, "index": "0", "name": "x", "api_key_input": API_KEY},
    )
    assert response.status_code == 200
    assert b"needs its API key and its sealed API secret" in response.content
    assert not VenueAccount.objects.exists()


def test_the_console_refuses_a_raw_api_secret_and_never_echoes_it(console: Client) -> None:
    # given an operator who types the secret itself instead of its seal
    exchange = ExchangeFactory.create()

    # when
    response = console.post(
        "/console/exchanges/venueaccount/add/",
        {
            "exchange": exchange.exchange_id,
            "index": "0",
            "name": "x",
            "enabled": "on",
            "api_key_input": API_KEY,
            "api_secret_sealed": SECRET,
        },
    )

    # then the form is refused, says how to seal, and the secret is neither stored nor shown
    page = response.content.decode()
    assert response.status_code == 200
    assert "must be sealed with libsodium crypto_box_seal" in page
    assert SECRET not in page and API_KEY not in page
    assert not VenueAccount.objects.exists()
    assert not AuditEvent.objects.filter(action="venue_account.create").exists()


def test_the_console_refuses_a_raw_secret_on_edit_and_keeps_the_stored_one(
    console: Client,
) -> None:
    account = services.venue_account_create(
        exchange=ExchangeFactory.create(), name="a", api_key=API_KEY, api_secret=SECRET, actor=None
    )
    url = f"/console/exchanges/venueaccount/{account.pk}/change/"
    for field in ("api_secret_sealed", "api_passphrase_sealed"):
        response = console.post(url, {"name": "a", "enabled": "on", field: "raw-typed-secret"})
        assert response.status_code == 200, field
        assert "raw-typed-secret" not in response.content.decode()
    creds = services.venue_credentials_get(account=account)
    assert (creds.secret, creds.password) == (SECRET, "")
    assert not AuditEvent.objects.filter(action="venue_account.update").exists()


def test_the_console_form_shows_the_public_key_to_seal_to(console: Client) -> None:
    from exchanges.secrets import server_public_key_b64

    page = console.get("/console/exchanges/venueaccount/add/").content.decode()
    assert server_public_key_b64() in page
    assert 'name="api_secret_sealed"' in page and 'name="api_secret_input"' not in page


def test_console_exchange_add_and_delete_go_through_services(console: Client) -> None:
    response = console.post(
        "/console/exchanges/exchange/add/",
        {
            "exchange_id": "paper2",
            "name": "Paper 2",
            "kind": "paper",
            "ccxt_id": "",
            "options": "{}",
            "enable": "on",
            "ticker_cache_seconds": "2",
            "ohlcv_cache_seconds": "15",
            "markets_cache_seconds": "300",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    exchange = Exchange.objects.get(exchange_id="paper2")
    response = console.post(f"/console/exchanges/exchange/{exchange.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Exchange.objects.exists()
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["exchange.create", "exchange.remove"]


def test_console_pair_edit_and_fee_settings_are_audited(console: Client) -> None:
    pair = MarketMakingPairFactory.create()
    response = console.post(
        f"/console/exchanges/marketmakingpair/{pair.pk}/change/",
        {
            "custom_fee_rate": "0.004",
            "base_price": "",
            "target_price": "",
            "min_order_amount": "",
            "max_order_amount": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    pair.refresh_from_db()
    assert pair.custom_fee_rate == Decimal("0.004") and pair.enable is False  # unchecked box
    response = console.post(
        "/console/exchanges/feesettings/add/",
        {"spot_fee": "0.002", "market_making_fee": "0.003", "enable_spot_fee": "on"},
    )
    assert response.status_code == 302
    fees = FeeSettings.objects.get()
    assert (fees.spot_fee, fees.market_making_fee, fees.enable_market_making_fee) == (
        Decimal("0.002"),
        Decimal("0.003"),
        False,
    )
    assert {"mm_pair.update", "fee_settings.update"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )


def test_console_asset_save_is_audited(console: Client) -> None:
    asset = AssetFactory.create(symbol="HMT")
    response = console.post(
        f"/console/exchanges/asset/{asset.pk}/change/",
        {
            "symbol": "HMT",
            "name": "Human",
            "chain_id": "",
            "icon_url": "",
            "chain_icon_url": "",
            "price_usd": "0.04",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    asset.refresh_from_db()
    assert asset.price_usd == Decimal("0.04")
    assert AuditEvent.objects.filter(action="asset.update", target_id=str(asset.pk)).exists()
    assert MarketMakingPair.objects.count() == 0
