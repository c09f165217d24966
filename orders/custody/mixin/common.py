"""What every part of the Mixin Safe client shares: ids, hashes, constants, the base class
(HTTP, keys, request rows, unspent outputs, signing). See `client.py` for the whole."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings

from orders.custody.base import (
    CustodyNotFound,
    CustodyTransaction,
    CustodyUnavailable,
    TransactionStatus,
)
from orders.custody.mixin.auth import MixinSession
from orders.custody.mixin.http import MixinHttp
from orders.custody.mixin.kernel import (
    KernelEncodingError,
    decode_transaction,
    encode_transaction,
    sign_transaction,
)

log = structlog.get_logger(__name__)

log = structlog.get_logger(__name__)


# Mixin's largest page for snapshots and outputs.
MAX_PAGE = 500
# The kernel takes at most 256 inputs per transaction (bot-api-go-client's limit); one less
# keeps a margin. More dust than that needs a consolidation first.
MAX_INPUTS = 255
# Namespace of ghost-key hints: deterministic per (request id, output index), so a retried
# send asks for the same keys.
_HINT_NAMESPACE = uuid.UUID("7d3f0a52-9c41-4b8e-a6d2-31f5c0e9b874")
# Mixin's withdrawal fee receiver (bot-api-go-client `MixinFeeUserId`, safe_withdrawal.go).
MIXIN_FEE_USER_ID = "674d6776-d600-4346-af46-58e77d8df185"


def unique_object_id(*args: str) -> str:
    """bot-api-go-client `UniqueObjectId`: md5 of the concatenation, as a version-3 uuid."""
    digest = bytearray(hashlib.md5("".join(args).encode()).digest())  # noqa: S324 - an id
    digest[6] = (digest[6] & 0x0F) | 0x30
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def fee_request_id(request_id: str) -> str:
    """The fee transaction's request id, derived as the Go SDK does: UniqueObjectId(id, "FEE")."""
    return unique_object_id(request_id, "FEE")


def load_spend_private_key(value: str) -> bytes:
    """The Safe spend key as keystores carry it: hex of the 32-byte seed or of seed||public."""
    raw = bytes.fromhex(value.strip())
    if len(raw) not in (32, 64):
        raise ValueError("spend private key must be hex of a 32- or 64-byte Ed25519 key")
    return raw[:32]


# Safe transaction request states -> ours. "spent": the kernel accepted it (final).
_STATES = {
    "unspent": TransactionStatus.PENDING,
    "signed": TransactionStatus.PENDING,
    "spent": TransactionStatus.CONFIRMED,
}


# The Safe network's keys that sign deposit entries: Ed25519 over sha3-256 of `destination`,
# or `destination:tag` when a tag is set. Mixin Messenger refuses entries that do not verify
# with one of them (iOS `DepositEntry.isSignatureValid`, Android `Constants.SAFE_PUBLIC_KEY`);
# so do we: a forged address would send an exchange's withdrawal to someone else.
MIXIN_DEPOSIT_ENTRY_KEYS = (
    "8f94e89d03fa128a7081c5fe73c6814010c5ca74438411a42df87c6023dfa94d",
    "2dc073588908a02284197ad78fc863e83c760dabcd5d9a508e09a799ebc1ecb8",
)


def deposit_entry_message(destination: str, tag: str | None) -> bytes:
    """The bytes a deposit entry's `signature` signs: sha3-256 of `destination[:tag]`."""
    content = f"{destination}:{tag}" if tag else destination
    return hashlib.sha3_256(content.encode()).digest()


def members_hash(members: list[str]) -> str:
    """Mixin's multisig members hash: sha3-256 hex of the sorted ids concatenated."""
    return hashlib.sha3_256("".join(sorted(members)).encode()).hexdigest()


def _amount_conflicts(existing: CustodyTransaction, *, asset_id: str, amount: Decimal) -> bool:
    """Without a raw, can this request row be our send of `amount`? Its `amount` is either
    what reached the receiver or that plus our change: below ours it is another send either
    way; at or above ours it may be ours (the request id is derived from this very send), and
    taking it as ours never pays twice."""
    if existing.asset_id is not None and existing.asset_id != asset_id:
        return True
    return existing.amount is not None and existing.amount < amount


def _output_keys(rows: list[dict[str, Any]]) -> list[tuple[bytes, ...] | None]:
    """The keys of the outputs a fresh transaction spends, as listed (to check the spend key)."""
    return [tuple(bytes.fromhex(str(k)) for k in r.get("keys") or ()) or None for r in rows]


def _decimal(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise CustodyUnavailable(f"mixin sent a bad {what}: {value!r}") from exc


class SafeBase:
    """State and the lookups every part needs."""

    def __init__(
        self,
        *,
        base_url: str,
        session: MixinSession,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        entry_public_keys: Sequence[Ed25519PublicKey] | None = None,
        spend_private_key: str | None = None,
    ) -> None:
        self._http = MixinHttp(
            base_url=base_url, session=session, timeout=timeout, transport=transport
        )
        self._user_id = session.user_id
        if spend_private_key is None:
            # custody_gateway() builds the client without it; the setting is the source.
            spend_private_key = getattr(settings, "MIXIN_SPEND_PRIVATE_KEY", "")
        self._spend_seed = load_spend_private_key(spend_private_key) if spend_private_key else None
        # Only tests (the emulator signs with its own key) ever pass other keys.
        self._entry_keys = tuple(
            entry_public_keys
            if entry_public_keys is not None
            else (
                Ed25519PublicKey.from_public_bytes(bytes.fromhex(k))
                for k in MIXIN_DEPOSIT_ENTRY_KEYS
            )
        )

    def close(self) -> None:
        self._http.close()

    def transaction(self, *, request_id: str) -> CustodyTransaction | None:
        data = self._transaction_row(request_id)
        return None if data is None else self._custody_transaction(data, request_id)

    def _transaction_row(self, request_id: str) -> dict[str, Any] | None:
        try:
            data = self._http.request("GET", f"/safe/transactions/{request_id}")
        except CustodyNotFound:
            return None
        return dict(data)

    @staticmethod
    def _custody_transaction(data: dict[str, Any], request_id: str) -> CustodyTransaction:
        state = str(data.get("state") or "")
        status = _STATES.get(state)
        if status is None:
            raise CustodyUnavailable(f"mixin sent an unknown transaction state {state!r}")
        amount = data.get("amount")
        return CustodyTransaction(
            request_id=str(data.get("request_id") or request_id),
            status=status,
            asset_id=str(data["asset_id"]) if data.get("asset_id") else None,
            amount=_decimal(amount, "transaction amount") if amount not in (None, "") else None,
            transaction_hash=str(data.get("transaction_hash") or "") or None,
            snapshot_id=str(data.get("snapshot_id") or "") or None,
        )

    def _sign(
        self,
        *,
        request_id: str,
        raw: str,
        views: list[Any],
        input_keys: list[tuple[bytes, ...] | None] | None = None,
    ) -> str:
        """The signed raw of a requested transaction (every input: view + spend key).

        No listing of unspent outputs: the bot's outputs are 1-of-1 and sign at key index 0
        (kernel.sign_transaction). `input_keys`, when the caller has the spent outputs at
        hand, checks the spend key before anything is submitted.
        """
        assert self._spend_seed is not None
        try:
            tx = decode_transaction(bytes.fromhex(raw))
        except (KernelEncodingError, ValueError) as exc:
            raise CustodyUnavailable(f"request {request_id} holds an unreadable raw") from exc
        try:
            signed = sign_transaction(
                tx,
                views=[bytes.fromhex(str(v)) for v in views],
                spend_seed=self._spend_seed,
                input_keys=input_keys,
            )
        except (KernelEncodingError, ValueError) as exc:
            raise CustodyUnavailable(f"cannot sign request {request_id}: {exc}") from exc
        return encode_transaction(signed).hex()

    def _unspent_outputs(self, asset_id: str) -> list[dict[str, Any]]:
        """The bot's unspent outputs of one asset, oldest (lowest sequence) first."""
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        offset: int | None = None
        hashed = members_hash([self._user_id])
        while True:
            data = self._http.request(
                "GET",
                "/safe/outputs",
                params={
                    "members": hashed,
                    "threshold": 1,
                    "asset": asset_id,
                    "state": "unspent",
                    "offset": offset,
                    "limit": MAX_PAGE,
                    "order": "ASC",
                },
            )
            rows = list(data or [])
            for row in rows:
                key = str(row.get("output_id") or row.get("utxo_id") or row["sequence"])
                own = row.get("asset_id") or row.get("asset", asset_id)
                if key not in seen and own == asset_id and row.get("state", "unspent") == "unspent":
                    seen.add(key)
                    found.append(row)
            if len(rows) < MAX_PAGE:
                return found
            # offset is the outputs' sequence number; step past the last one we have.
            offset = int(rows[-1]["sequence"]) + 1
