"""Venue harnesses for the conformance suite: one per emulated dialect (Binance spot, OKX v5,
Bybit v5, each through ccxt's real class) and the paper venue. Each gives a gateway and the
outside world's moves: coins arriving, an outside trade, a fault."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchanges.paper.services import paper_deposit_credit, paper_market_ensure
from exchanges.venues.base import OrderSide
from exchanges.venues.factory import VenueCredentials, build_gateway
from exchanges.venues.ratelimit import FileBackend, VenueRateLimiter
from standins.venues import binance, common
from standins.venues.bybit import BybitEmulator
from standins.venues.okx import OkxEmulator

D = Decimal
KEY, SECRET, PASSPHRASE = "ConfKey00000001", "conf-secret", "conf-pass"
SYMBOL = "BTC/USDT"
DEFAULT_MAKER_FEE = D("0.001")
DIALECTS = ["binance", "okx", "bybit", "paper"]
PLACE_ENDPOINT = {
    "binance": "POST /api/v3/order",
    "okx": "POST /api/v5/trade/batch-orders",
    "bybit": "POST /v5/order/create",
}


@dataclass
class Harness:
    name: str
    gateway: Any
    emulator: Any = None
    limiter: VenueRateLimiter | None = None
    make_gateway: Callable[..., Any] | None = None
    fills: list[str] = field(default_factory=list)
    _taker_seq: int = 0

    @property
    def emulated(self) -> bool:
        return self.emulator is not None

    def deposit(self, asset: str, amount: Decimal, txid: str) -> None:
        """Coins arriving from outside (into the funding wallet where there is one)."""
        if self.emulator is None:
            paper_deposit_credit(
                venue="paper", account="paper:0", asset=asset, amount=amount, txid=txid
            )
        else:
            self.emulator.credit_deposit(api_key=KEY, coin=asset, amount=amount, txid=txid)

    def outside_trade(self, price: Decimal, amount: Decimal, side: OrderSide) -> None:
        """Someone else trades `amount` at `price` against our resting orders on `side`."""
        if self.emulator is not None:
            self.emulator.external_trade(SYMBOL, price, amount)
            return
        self._taker_seq += 1
        taker = build_gateway(kind="paper", venue="paper", account="paper:taker")
        taker.place_limit_order(
            symbol=SYMBOL,
            side=OrderSide.SELL if side == OrderSide.BUY else OrderSide.BUY,
            price=price,
            amount=amount,
            client_order_id=f"taker{self._taker_seq}",
        )

    def page_limit(self, limit: int) -> None:
        """Read fills `limit` per page, so a test needs few fills to span pages."""
        if hasattr(self.gateway, "profile"):
            self.gateway.profile = replace(self.gateway.profile, trades_page_limit=limit)

    def inject(self, endpoint: str, kind: str, **kw: Any) -> None:
        fault_cls = binance.Fault if self.name == "binance" else common.Fault
        self.emulator.inject(fault_cls(endpoint=endpoint, kind=kind, **kw))


def _limiter(tmp_path: Path) -> VenueRateLimiter:
    return VenueRateLimiter(backend=FileBackend(tmp_path / "rl"), prefix="conf")


def _ccxt_gateway(name: str, base_url: str, limiter: VenueRateLimiter, **creds: str) -> Any:
    return build_gateway(
        kind="ccxt",
        venue=name,
        account=f"{name}:0",
        credentials=VenueCredentials(
            api_key=creds.get("api_key", KEY),
            secret=creds.get("secret", SECRET),
            password=creds.get("password", PASSPHRASE if name == "okx" else ""),
        ),
        options={
            "ccxt_id": name,
            "base_url": base_url,
            "rate_limiter": limiter,
            "timeout_ms": 1500,
        },
    )


def _emulator(name: str, maker_fee: Decimal, order_limit: tuple[int, float] | None) -> Any:
    trading = {"USDT": D("100000"), "BTC": D("2")}
    if name == "binance":
        emu: Any = binance.BinanceEmulator(maker_fee=maker_fee, order_limit=order_limit)
        emu.add_account(name="conf", api_key=KEY, secret=SECRET, balances=trading)
        return emu
    cls = OkxEmulator if name == "okx" else BybitEmulator
    emu = cls(maker_fee=maker_fee, order_limit=order_limit)
    emu.add_account(
        name="conf", api_key=KEY, secret=SECRET, passphrase=PASSPHRASE, balances=trading
    )
    return emu


@pytest.fixture(params=DIALECTS)
def make_venue(
    request: pytest.FixtureRequest, tmp_path: Path, db: None
) -> Iterator[Callable[..., Harness]]:
    name: str = request.param
    started: list[Any] = []

    def make(maker_fee: Decimal = DEFAULT_MAKER_FEE, order_limit: tuple[int, float] | None = None) -> Harness:  # fmt: skip
        if name == "paper":
            paper_market_ensure(
                venue="paper", symbol=SYMBOL, price=D("60000"), price_increment=D("0.1"),
                amount_increment=D("0.00001"), maker_fee=maker_fee, taker_fee=D("0.001"),
                volatility=D("0"), book_levels=0,
            )  # fmt: skip
            for account, funds in (("paper:0", {"USDT": "100000", "BTC": "2"}), ("paper:taker", {"USDT": "100000", "BTC": "2"})):  # fmt: skip
                for asset, amount in funds.items():
                    paper_deposit_credit(
                        venue="paper", account=account, asset=asset, amount=D(amount),
                        txid=f"seed-{account}-{asset}",
                    )  # fmt: skip
            gateway = build_gateway(kind="paper", venue="paper", account="paper:0")
            return Harness(name=name, gateway=gateway)
        emu = _emulator(name, maker_fee, order_limit)
        emu.start()
        started.append(emu)
        limiter = _limiter(tmp_path)
        make_gw = lambda **creds: _ccxt_gateway(name, emu.base_url, limiter, **creds)  # noqa: E731
        return Harness(name=name, gateway=make_gw(), emulator=emu, limiter=limiter, make_gateway=make_gw)  # fmt: skip

    yield make
    for emu in started:
        # shutdown() waits for the server's poll: don't make every test pay it.
        threading.Thread(target=emu.stop, daemon=True).start()


@pytest.fixture
def venue(make_venue: Callable[..., Harness]) -> Harness:
    return make_venue()
