"""Fixtures of the campaigns tests: both HuFi emulators on loopback, settings pointed at them."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from eth_account import Account

from standins.hufi import CampaignLauncherEmulator, RecordingOracleEmulator
from campaigns.hufi.gateway import reset_token_managers
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


@pytest.fixture
def hufi(
    settings, launcher, oracle
) -> Iterator[tuple[CampaignLauncherEmulator, RecordingOracleEmulator]]:  # type: ignore[no-untyped-def]
    settings.HUFI_CAMPAIGN_LAUNCHER_URL = launcher.base_url
    settings.HUFI_RECORDING_ORACLE_URL = oracle.base_url
    settings.HUFI_WALLET_PRIVATE_KEY = WALLET_KEY
    settings.HUFI_HTTP_TIMEOUT = 1.0
    settings.HUFI_JOIN_DEADLINE_SECONDS = 2.0
    settings.HUFI_CHAIN_ID = 137
    reset_token_managers()
    yield launcher, oracle
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
