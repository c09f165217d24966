"""The custody gateway protocol: the only way the order lifecycle touches the bot's wallet.

Implementations (the Mixin Safe API client, the fake custody) return these normalized,
`Decimal`-based types and raise only the error taxonomy below, so a caller decides what to
retry by the error's class alone: `RetryableCustodyError` may be retried, `FinalCustodyError`
never is.

Sends (refunds to a Mixin user, withdrawals to an exchange deposit address) carry a
caller-given deterministic `request_id` (`request_id_for(purpose, *parts)`): the same
request id twice never pays twice, the second call answers with the first call's
transaction. Before retrying a send whose outcome is unknown (timeout), look it up with
`transaction(request_id=...)`; the same request id with different content is a
`RequestIdConflict`, never a second payment.

Snapshots are listed with a cursor, oldest first, at least once: a page may repeat
snapshots already seen (consumers store each `snapshot_id` once). Mixin paginates by
`offset` = a snapshot's `created_at`, and a snapshot can become visible after a later one
was already listed, so a poll run starts from `cursor_rewind(stored_cursor,
seconds=CUSTODY_SNAPSHOT_OVERLAP_SECONDS)` and then follows `next_cursor` page by page.
The overlap is applied once per run, never per page (that could walk backwards forever).

Money coming back from an exchange is an on-chain deposit to
`deposit_address(asset_id=...)`: an incoming snapshot with no opponent and no memo whose
`transaction_hash` is the chain's transaction hash (what the exchange reports as its
withdrawal's txid), so the order lifecycle can match the two.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

# ---------------------------------------------------------------------------- errors


class CustodyError(Exception):
    """Base of every custody error. `retryable` tells the caller whether to try again."""

    retryable = False

    def __init__(self, message: str, *, code: int | str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableCustodyError(CustodyError):
    retryable = True


class CustodyNetworkError(RetryableCustodyError):
    """The request may or may not have reached custody (connection refused/reset)."""


class CustodyTimeout(RetryableCustodyError):
    """No answer in time; a send's outcome is unknown until looked up by request id."""


class CustodyRateLimited(RetryableCustodyError):
    pass


class CustodyUnavailable(RetryableCustodyError):
    """5xx or the custodian's own server-error codes."""


class FinalCustodyError(CustodyError):
    retryable = False


class CustodyAuthFailed(FinalCustodyError):
    """Bad or expired session signature, forbidden."""


class InsufficientBalance(FinalCustodyError):
    pass


class CustodyInvalidRequest(FinalCustodyError):
    """Malformed request, amount too small, bad destination."""


class CustodyNotFound(FinalCustodyError):
    pass


class CustodyRejected(FinalCustodyError):
    """Any other refusal the custodian reports with its own code."""


class RequestIdConflict(FinalCustodyError):
    """The request id was already used for a different send (asset, amount or target)."""


class CustodySendUnsupported(FinalCustodyError):
    """This gateway cannot sign and send the transaction (see docs/custody.md)."""


class DepositAddressUnverified(FinalCustodyError):
    """The custodian answered a deposit address we cannot trust (bad signature, wrong chain).

    Never use such an address: money sent there may not reach the wallet. Final, because
    asking again is not expected to heal it and it may be a tampered answer.
    """


# ---------------------------------------------------------------------------- types


class TransactionStatus(StrEnum):
    PENDING = "pending"  # accepted, not final yet (unsigned, signed, in flight)
    CONFIRMED = "confirmed"  # final on the custody side; money left the wallet
    FAILED = "failed"  # definitely did not pay; the money is still ours


class TransactionKind(StrEnum):
    TRANSFER = "transfer"  # to a Mixin user (refunds)
    WITHDRAWAL = "withdrawal"  # to an external address (exchange deposit address)


@dataclass(frozen=True)
class Snapshot:
    """One movement of the bot's wallet. Incoming payments have a positive `amount`."""

    snapshot_id: str
    asset_id: str
    amount: Decimal
    opponent_id: str  # the payer's Mixin user id for incoming transfers ("" if none)
    memo: str  # raw as the custodian gives it: hex of the memo's UTF-8 bytes
    # For an on-chain deposit (opponent "" and memo ""): the chain's transaction hash, as the
    # sending exchange reports it for its withdrawal. Otherwise the custodian's own hash.
    transaction_hash: str
    created_at: datetime
    request_id: str | None = None  # our request id, on snapshots of our own sends


@dataclass(frozen=True)
class SnapshotPage:
    items: tuple[Snapshot, ...]  # oldest first, by (created_at, snapshot_id)
    next_cursor: str | None  # pass back to continue; equals the request's cursor if empty
    has_more: bool  # a full page that advanced the cursor: ask again right away


@dataclass(frozen=True)
class CustodyTransaction:
    request_id: str
    status: TransactionStatus
    kind: TransactionKind | None = None  # None when the custodian does not say
    asset_id: str | None = None
    amount: Decimal | None = None
    transaction_hash: str | None = None
    snapshot_id: str | None = None
    fee: Decimal | None = None
    failure_reason: str = ""


@dataclass(frozen=True)
class WithdrawalFee:
    asset_id: str  # the asset the fee is paid in (on Mixin often the chain's native asset)
    amount: Decimal


@dataclass(frozen=True)
class CustodyDepositAddress:
    """Where a chain deposit reaches the bot's wallet (an exchange withdraws to it)."""

    asset_id: str  # the asset it was asked for; every asset of the same chain shares it
    destination: str
    tag: str | None  # memo/tag the sender must attach on chains that need one, else None


@dataclass(frozen=True)
class AssetInfo:
    asset_id: str
    symbol: str
    chain_id: str
    precision: int  # decimal places the chain allows
    price_usd: Decimal
    name: str = ""


# ---------------------------------------------------------------------------- protocol


@runtime_checkable
class CustodyGateway(Protocol):
    """The bot's wallet. Methods are synchronous and raise only `CustodyError` subclasses."""

    backend: str  # "mixin" | "fake"

    def snapshots_since(self, *, cursor: str | None, limit: int) -> SnapshotPage: ...

    def transfer(
        self,
        *,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        opponent_id: str,
        memo: str = "",
    ) -> CustodyTransaction:
        """Pay `amount` of `asset_id` to Mixin user `opponent_id` (a refund)."""
        ...

    def withdraw(
        self,
        *,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        destination: str,
        tag: str | None = None,
    ) -> CustodyTransaction:
        """Send `amount` to an external address; the network fee is charged on top."""
        ...

    def transaction(self, *, request_id: str) -> CustodyTransaction | None:
        """The send with this request id, or None if custody never saw it."""
        ...

    def withdrawal_fee(self, *, asset_id: str, destination: str) -> WithdrawalFee: ...

    def wallet_balance(self, *, asset_id: str) -> Decimal: ...

    def asset(self, *, asset_id: str) -> AssetInfo: ...

    def deposit_address(self, *, asset_id: str) -> CustodyDepositAddress:
        """The bot wallet's deposit address on `asset_id`'s chain; the same on every call."""
        ...


# ---------------------------------------------------------------------------- helpers

# Fixed namespace of Mr.Market custody request ids; changing it would re-key every send.
REQUEST_ID_NAMESPACE = uuid.UUID("6f1c3b52-4a8e-5d0b-9c57-2d6f0e8a4b13")


def request_id_for(purpose: str, *parts: str) -> str:
    """The deterministic request id of one send, e.g. `request_id_for("refund", snapshot_id)`.

    uuid5 over the JSON list `[purpose, *parts]`, so ("a:b", "c") and ("a", "b:c") differ.
    """
    if not purpose or not parts or any(not str(p) for p in parts):
        raise ValueError("request_id_for needs a purpose and at least one non-empty part")
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, json.dumps([purpose, *map(str, parts)])))


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 timestamp (Mixin gives nanoseconds) as an aware UTC datetime (micro precision)."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python keeps 6 fractional digits; truncate nanoseconds (never rounds up past the instant).
    head, sep, rest = text.partition(".")
    if sep:
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        tz = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tz}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {value!r}")
    return parsed.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and a `Z`, the cursor form of both gateways."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def cursor_rewind(cursor: str | None, *, seconds: int) -> str | None:
    """The cursor `seconds` earlier: where a poll run starts, to catch late-visible snapshots."""
    if cursor is None:
        return None
    return format_timestamp(parse_timestamp(cursor) - timedelta(seconds=seconds))
