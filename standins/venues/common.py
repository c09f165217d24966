"""What the OKX and Bybit emulators share: accounts with a funding and a trading wallet on
one in-memory `MatchingEngine`, deposits and withdrawals, fixed-window rate limits, and
fault injection.

- Wallets: the trading wallet is the engine account `<name>`, the funding wallet the engine
  account `<name>/funding`; deposits land in funding, withdrawals leave from funding, orders
  spend trading — as on OKX and Bybit. An internal transfer is an engine withdraw + deposit.
- Rate limits count in fixed windows, as the venues document (OKX and Bybit both count
  requests per rolling/fixed second windows; a fixed window is the stricter reading for a
  client that spaces requests evenly).
- Faults: `Fault(endpoint, kind, ...)` as in the Binance emulator: latency, hang (optionally
  applying the request first), an HTTP status, or a 429.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exchanges.venues.matching import MarketSpec, MatchingEngine
from mrmarket.testing.loopback import LoopbackServer

D = Decimal
DEFAULT_FEE = D("0.001")
ZERO = D(0)


@dataclass(frozen=True)
class EmulatedMarket:
    symbol: str  # "BTC/USDT"
    base: str
    quote: str
    tick_size: Decimal = D("0.1")
    step_size: Decimal = D("0.00001")
    min_qty: Decimal = D("0.00001")
    max_qty: Decimal = D("9000")
    min_notional: Decimal = D("1")
    last_price: Decimal = D("100")


def default_markets() -> list[EmulatedMarket]:
    return [
        EmulatedMarket("BTC/USDT", "BTC", "USDT", D("0.1"), D("0.00001"), D("0.00001"),
                       last_price=D("60000")),
        EmulatedMarket("ETH/USDT", "ETH", "USDT", D("0.01"), D("0.0001"), D("0.0001"),
                       last_price=D("3000")),
    ]  # fmt: skip


@dataclass
class Fault:
    """Applied to the next `count` requests matching `endpoint` ("POST /api/v5/trade/order",
    or "*"). kind: "latency", "hang" (with `apply=True` the request takes effect first),
    "status" (answer `status`), "429"."""

    endpoint: str
    kind: str
    count: int = 1
    seconds: float = 0.0
    status: int = 503
    apply: bool = False


@dataclass
class Account:
    name: str
    api_key: str
    secret: str
    passphrase: str = ""
    deposits: list[dict[str, Any]] = field(default_factory=list)
    withdrawals: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def funding(self) -> str:
        return f"{self.name}/funding"


class Reject(Exception):
    """An error answer: HTTP status, venue code, message."""

    def __init__(self, status: int, code: str, msg: str, headers: dict[str, str] | None = None):
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}


class EmulatorBase:
    # Where a maker rebate (a negative maker fee) is paid: in the asset the order receives,
    # or (Bybit spot, as ccxt reads its negative `execFee`) in the asset it gives away.
    REBATE_IN_GIVEN = False

    def __init__(
        self,
        markets: list[EmulatedMarket] | None = None,
        *,
        maker_fee: Decimal = DEFAULT_FEE,
        taker_fee: Decimal = DEFAULT_FEE,
        withdraw_fee: Decimal = ZERO,
        order_limit: tuple[int, float] | None = None,  # (orders, seconds) per account
        request_limit: tuple[int, float] | None = None,  # (requests, seconds) per IP
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.markets = {m.symbol: m for m in (markets or default_markets())}
        self._clock = clock
        self.maker_fee, self.taker_fee = maker_fee, taker_fee
        self.engine = MatchingEngine(
            [
                MarketSpec(
                    m.symbol,
                    m.base,
                    m.quote,
                    maker_fee=maker_fee,
                    taker_fee=taker_fee,
                    rebate_in_given=self.REBATE_IN_GIVEN,
                )
                for m in self.markets.values()
            ],
            clock_ms=self.now_ms,
        )
        self.withdraw_fee = withdraw_fee
        self.order_limit = order_limit
        self.request_limit = request_limit
        self.accounts: dict[str, Account] = {}
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self.server = LoopbackServer()
        self.stats = {"orders_accepted": 0, "http_429": 0}
        self._order_windows: dict[tuple[str, int], int] = {}
        self._request_windows: dict[int, int] = {}

    # ------------------------------------------------------------------ control

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def start(self) -> str:
        return self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def add_account(
        self,
        *,
        name: str,
        api_key: str,
        secret: str,
        passphrase: str = "",
        balances: dict[str, Decimal] | None = None,  # trading wallet
        funding: dict[str, Decimal] | None = None,  # funding wallet
    ) -> Account:
        with self.lock:
            account = Account(name=name, api_key=api_key, secret=secret, passphrase=passphrase)
            self.accounts[api_key] = account
            for asset, amount in (balances or {}).items():
                self.engine.deposit(account.name, asset, D(amount))
            for asset, amount in (funding or {}).items():
                self.engine.deposit(account.funding, asset, D(amount))
            return account

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.endpoint in ("*", endpoint):
                    fault.count -= 1
                    return fault
        return None

    def external_trade(self, symbol: str, price: Decimal, amount: Decimal | None = None) -> Any:
        """A trade by someone outside: fills our resting orders at or better than `price`."""
        with self.lock:
            return self.engine.external_trade(symbol=symbol, price=price, amount=amount)

    def wallet(self, api_key: str, *, funding: bool) -> dict[str, tuple[Decimal, Decimal]]:
        """{asset: (free, used)} of one wallet, for tests."""
        account = self.accounts[api_key]
        name = account.funding if funding else account.name
        return {a: (fu[0], fu[1]) for (n, a), fu in self.engine.balances.items() if n == name}

    def address(self, account: Account, coin: str, chain: str) -> str:
        digest = hashlib.sha256(f"{account.api_key}:{coin}:{chain}".encode()).hexdigest()
        return "0x" + digest[:40]

    # ------------------------------------------------------------------ limits

    def check_request_rate(self) -> bool:
        """True when the IP's request window is full (the caller answers 429)."""
        if self.request_limit is None:
            return False
        limit, seconds = self.request_limit
        window = int(self._clock() // seconds)
        used = self._request_windows.get(window, 0) + 1
        self._request_windows = {window: used}
        return used > limit

    def check_order_rate(self, account: Account, orders: int = 1) -> bool:
        """Counts `orders` new orders; True when the account's window is over its limit."""
        if self.order_limit is None:
            return False
        limit, seconds = self.order_limit
        window = int(self._clock() // seconds)
        key = (account.name, window)
        count = self._order_windows.get(key, 0)
        if count + orders > limit:
            return True
        self._order_windows = {k: v for k, v in self._order_windows.items() if k[1] == window}
        self._order_windows[key] = count + orders
        return False

    # ------------------------------------------------------------------ wallet moves

    def move(self, account: Account, asset: str, amount: Decimal, *, to_funding: bool) -> None:
        """Raises `EngineError` (insufficient balance) without changing anything."""
        source, target = (
            (account.name, account.funding) if to_funding else (account.funding, account.name)
        )
        self.engine.withdraw(source, asset, amount)
        self.engine.deposit(target, asset, amount)

    def credit_deposit(
        self, *, api_key: str, coin: str, amount: Decimal, txid: str, network: str = ""
    ) -> dict[str, Any] | None:
        """Coins arriving from outside: credited to the funding wallet once per txid."""
        with self.lock:
            account = self.accounts[api_key]
            if any(d["txid"] == txid for d in account.deposits):
                return None
            self.engine.deposit(account.funding, coin, amount)
            record = {
                "id": hashlib.sha256(txid.encode()).hexdigest()[:12],
                "coin": coin,
                "amount": amount,
                "chain": network or coin,
                "address": self.address(account, coin, network or coin),
                "txid": txid,
                "ts": self.now_ms(),
            }
            account.deposits.append(record)
            return record
