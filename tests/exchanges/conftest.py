"""Fixtures for the venue engines: a running Binance emulator, a ccxt gateway pointed at it
with a private rate limiter, and paper-venue markets with a controllable clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from exchanges.venues.factory import VenueCredentials, build_gateway
from exchanges.venues.ratelimit import FileBackend, VenueRateLimiter
from standins.venues.binance import BinanceEmulator

API_KEY = "TestKey0000000001"
SECRET = "test-secret-1"


@pytest.fixture
def emulator() -> Iterator[BinanceEmulator]:
    emu = BinanceEmulator()
    emu.add_account(
        name="acct-a",
        api_key=API_KEY,
        secret=SECRET,
        balances={"USDT": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("10")},
    )
    emu.start()
    yield emu
    # shutdown() waits up to the server's 0.5 s poll interval; don't make every test pay it.
    threading.Thread(target=emu.stop, daemon=True).start()


@pytest.fixture
def limiter(tmp_path: Path) -> VenueRateLimiter:
    return VenueRateLimiter(backend=FileBackend(tmp_path / "rl"), prefix="test")


@pytest.fixture
def gateway(emulator: BinanceEmulator, limiter: VenueRateLimiter):  # type: ignore[no-untyped-def]
    return build_gateway(
        kind="ccxt",
        venue="binance",
        account="binance:0",
        credentials=VenueCredentials(api_key=API_KEY, secret=SECRET),
        options={
            "ccxt_id": "binance",
            "base_url": emulator.base_url,
            "rate_limiter": limiter,
            "timeout_ms": 1500,
        },
    )


class Clock:
    """Settable unix time for the paper venue's price feed."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()
