"""The venue gateway protocol: the only way strategies and custody talk to exchanges.

Every implementation (the ccxt gateway, the paper venue) returns these normalized,
`Decimal`-based types and raises only the error taxonomy below, so callers decide what to
retry by the error's class alone: `RetryableVenueError` may be retried (after first looking
the order up by client order id, for writes); `FinalVenueError` never is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

# ---------------------------------------------------------------------------- errors


class VenueError(Exception):
    """Base of every venue error. `retryable` tells the executor whether to try again."""

    retryable = False

    def __init__(self, message: str, *, venue: str = "", code: str | int | None = None) -> None:
        super().__init__(message)
        self.venue = venue
        self.code = code


class RetryableVenueError(VenueError):
    retryable = True


class VenueNetworkError(RetryableVenueError):
    """The request may or may not have reached the venue (connection reset, DNS, ...)."""


class VenueTimeout(RetryableVenueError):
    """No answer in time; the outcome of a write is unknown until looked up."""


class RateLimited(RetryableVenueError):
    """HTTP 429/418 or the venue's own rate-limit code; wait `retry_after` seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        venue: str = "",
        code: str | int | None = None,
    ) -> None:
        super().__init__(message, venue=venue, code=code)
        self.retry_after = retry_after


class VenueUnavailable(RetryableVenueError):
    """5xx, maintenance, exchange not available."""


class VenueIncompleteAnswer(RetryableVenueError):
    """The venue accepted a write but answered with ids only, and the look-up that completes
    the answer failed: the order exists; look it up by client order id later. Fields are
    never invented to fill the gap."""


class FinalVenueError(VenueError):
    retryable = False


class InsufficientFunds(FinalVenueError):
    pass


class InvalidOrder(FinalVenueError):
    """Rejected as malformed or outside the market's limits (precision, min notional, post-only cross)."""


class UnsupportedRequest(InvalidOrder):
    """The venue does not offer what was asked (a timeframe it has no candles for): the
    caller's request is wrong, the venue is fine (an API answers 400, venue health is untouched)."""


class DuplicateClientOrderId(InvalidOrder):
    """The venue already has an order with this client order id on this account: the caller
    resolves it with `fetch_order(client_order_id=...)` (added compatibly: an InvalidOrder)."""


class AuthenticationFailed(FinalVenueError):
    pass


class OrderNotFound(FinalVenueError):
    pass


# ---------------------------------------------------------------------------- types


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderStatus(StrEnum):
    OPEN = "open"  # resting, possibly partially filled
    CLOSED = "closed"  # fully filled
    CANCELED = "canceled"  # canceled, possibly after a partial fill
    REJECTED = "rejected"
    EXPIRED = "expired"


class TransferStatus(StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class MarketInfo:
    symbol: str  # unified, e.g. "BTC/USDT"
    base: str
    quote: str
    price_increment: Decimal  # tick size
    amount_increment: Decimal  # lot size
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    min_notional: Decimal | None = None  # price * amount must be at least this
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    active: bool = True


@dataclass(frozen=True)
class BookLevel:
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class OrderBook:
    symbol: str
    bids: tuple[BookLevel, ...]  # best (highest) first
    asks: tuple[BookLevel, ...]  # best (lowest) first
    timestamp: datetime

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


@dataclass(frozen=True)
class Ticker:
    symbol: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    base_volume: Decimal | None
    quote_volume: Decimal | None
    timestamp: datetime


@dataclass(frozen=True)
class Candle:
    timestamp_ms: int  # open time, ms since epoch (ccxt's convention)
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class VenueOrder:
    id: str  # the venue's order id
    client_order_id: str | None
    symbol: str
    side: OrderSide
    price: Decimal
    amount: Decimal
    filled: Decimal
    remaining: Decimal
    status: OrderStatus
    created_at: datetime
    average: Decimal | None = None
    post_only: bool = False


@dataclass(frozen=True)
class VenueTrade:
    id: str  # the venue's trade id; (venue, id) is unique
    order_id: str
    client_order_id: str | None
    symbol: str
    side: OrderSide
    price: Decimal
    amount: Decimal
    fee_cost: Decimal
    fee_currency: str
    taker_or_maker: str  # "maker" | "taker"
    timestamp: datetime


@dataclass(frozen=True)
class Balance:
    asset: str
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass(frozen=True)
class DepositAddress:
    asset: str
    network: str | None
    address: str
    tag: str | None = None


@dataclass(frozen=True)
class VenueTransfer:
    """A deposit or a withdrawal as the venue reports it."""

    id: str
    asset: str
    amount: Decimal
    status: TransferStatus
    timestamp: datetime
    network: str | None = None
    address: str | None = None
    tag: str | None = None
    txid: str | None = None
    fee: Decimal = Decimal(0)
    client_id: str | None = None  # our idempotency id for withdrawals, when the venue keeps one
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InternalTransfer:
    """A move between two sub-accounts (wallets) of one venue account."""

    id: str
    client_id: str
    asset: str
    amount: Decimal
    from_wallet: str  # "funding" | "trading"
    to_wallet: str
    status: TransferStatus


# ---------------------------------------------------------------------------- protocol


@runtime_checkable
class VenueGateway(Protocol):
    """One venue account. Methods are synchronous and raise only `VenueError` subclasses."""

    venue: str  # our venue name (e.g. "binance", "paper")
    account: str  # our venue-account reference (rate limits and custody are per account)

    def load_markets(self, *, reload: bool = False) -> dict[str, MarketInfo]: ...

    def market(self, symbol: str) -> MarketInfo: ...

    def fetch_order_book(self, symbol: str, *, limit: int = 20) -> OrderBook: ...

    def fetch_ticker(self, symbol: str) -> Ticker: ...

    def fetch_tickers(self, symbols: list[str] | None = None) -> dict[str, Ticker]: ...

    def fetch_ohlcv(
        self,
        symbol: str,
        *,
        timeframe: str = "1m",
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Candle]: ...

    def place_limit_order(
        self,
        *,
        symbol: str,
        side: OrderSide,
        price: Decimal,
        amount: Decimal,
        client_order_id: str,
        post_only: bool = False,
    ) -> VenueOrder:
        """Rounds price and amount to the market's precision and checks min amount/notional
        before sending (InvalidOrder if below). `client_order_id` is ours: at most 28
        alphanumeric characters, unique per account; a venue that already has it answers
        with an error the caller resolves by `fetch_order(client_order_id=...)`."""
        ...

    def cancel_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> VenueOrder: ...

    def fetch_order(
        self, *, symbol: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> VenueOrder:
        """Raises OrderNotFound when the venue does not know the order."""
        ...

    def fetch_open_orders(self, symbol: str | None = None) -> list[VenueOrder]: ...

    def fetch_my_trades(
        self, symbol: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[VenueTrade]: ...

    def fetch_balances(self, *, wallet: str | None = None) -> dict[str, Balance]:
        """Balances of one wallet ("funding" or "trading"; None: trading)."""
        ...

    def needs_internal_transfer(self) -> bool:
        """Whether deposits/withdrawals (funding) and orders (trading) use different wallets."""
        ...

    def transfer_internal(
        self, *, asset: str, amount: Decimal, from_wallet: str, to_wallet: str, client_id: str
    ) -> InternalTransfer:
        """Move `amount` between wallets; idempotent by `client_id` (a transfer the venue
        already has under it is returned instead of applying again)."""
        ...

    def fetch_deposit_address(
        self, asset: str, *, network: str | None = None
    ) -> DepositAddress: ...

    def fetch_deposits(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]: ...

    def withdraw(
        self,
        *,
        asset: str,
        amount: Decimal,
        address: str,
        client_id: str,
        network: str | None = None,
        tag: str | None = None,
        fee: Decimal = Decimal(0),
    ) -> VenueTransfer:
        """`amount` is what leaves the venue account, the venue's `fee` included; a venue
        that charges the fee on top of the amount it is sent gets `amount - fee`."""
        ...

    def fetch_withdrawals(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]: ...
