"""Fixtures of the campaigns tests: both HuFi emulators on loopback, settings pointed at them."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db.models.signals import post_save
from eth_account import Account

from campaigns.hufi.gateway import reset_token_managers
from campaigns.models import Campaign
from standins.hufi import CampaignLauncherEmulator, RecordingOracleEmulator
from tests.campaigns.factories import FillBook

# A fixed test wallet key (never funded anywhere): the service wallet in every test.
WALLET_KEY = "0x" + "4c" * 32
WALLET_ADDRESS = Account.from_key(WALLET_KEY).address


@pytest.fixture
def launcher() -> Iterator[CampaignLauncherEmulator]:
    emulator = CampaignLauncherEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def oracle() -> Iterator[RecordingOracleEmulator]:
    emulator = RecordingOracleEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@dataclass
class OracleChain:
    """What the test's campaigns are to the oracle emulator: every saved `Campaign` is an
    escrow for it on chain (`publish`), already stored (`stored`) or not yet discovered,
    and our wallet has enrolled an exchange key for its venue (`keys`)."""

    publish: bool = True
    stored: bool = True
    keys: bool = True


@pytest.fixture
def oracle_chain() -> OracleChain:
    return OracleChain()


@pytest.fixture
def hufi(
    settings, launcher, oracle, oracle_chain
) -> Iterator[tuple[CampaignLauncherEmulator, RecordingOracleEmulator]]:  # type: ignore[no-untyped-def]
    def on_campaign_saved(sender, instance: Campaign, created: bool, **kwargs) -> None:  # type: ignore[no-untyped-def]
        if created and oracle_chain.publish:
            oracle.publish_campaign(
                chain_id=instance.chain_id,
                address=instance.address,
                exchange_name=instance.exchange_name,
                end_date=instance.end_date,
                stored=oracle_chain.stored,
            )
            if oracle_chain.keys:
                oracle.seed_api_key(wallet=WALLET_ADDRESS, exchange_name=instance.exchange_name)

    post_save.connect(on_campaign_saved, sender=Campaign, dispatch_uid="test-oracle-chain")
    settings.HUFI_CAMPAIGN_LAUNCHER_URL = launcher.base_url
    settings.HUFI_RECORDING_ORACLE_URL = oracle.base_url
    settings.HUFI_WALLET_PRIVATE_KEY = WALLET_KEY
    settings.HUFI_HTTP_TIMEOUT = 1.0
    settings.HUFI_JOIN_DEADLINE_SECONDS = 2.0
    settings.HUFI_CHAIN_ID = 137
    reset_token_managers()
    yield launcher, oracle
    post_save.disconnect(sender=Campaign, dispatch_uid="test-oracle-chain")
    reset_token_managers()


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def fill_book(monkeypatch) -> FillBook:  # type: ignore[no-untyped-def]
    """Our fills come from the strategy runtime; tests hand scoring fixture fills instead."""
    book = FillBook()
    monkeypatch.setattr("campaigns.fills.order_fills_since", book)
    return book
