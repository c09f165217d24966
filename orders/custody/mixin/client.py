"""The custody gateway over Mixin's Safe API: reads, transfers and withdrawals.

Real: snapshots (`GET /safe/snapshots`, ASC from an `offset` = created_at), asset info
(`GET /safe/assets/{id}`), withdrawal fees (`GET /safe/assets/{id}/fees?destination=`),
transaction lookup by request id (`GET /safe/transactions/{request_id}`), the wallet balance
(sum of unspent outputs, `GET /safe/outputs?members=<hash>&threshold=1&state=unspent`), the
deposit address (`POST /safe/deposit/entries` for the asset's chain; every entry's Safe
signature is checked, as Mixin's own apps do, before an address is handed out).

Transfers (refunds) are real when a spend key is configured: look the request id up first
(`GET /safe/transactions/{id}`; an existing request that was never signed is resumed from its
own raw, so a crash between request and submit neither stalls nor pays twice), else pick
unspent outputs oldest first, ask ghost keys for the receiver and for our change
(`POST /safe/keys`), build the version-5 kernel transaction (kernel.py), register it under the
deterministic request id (`POST /safe/transaction/requests`, which answers one view per input),
sign every input with view + spend key and submit (`POST /safe/transactions`).

Withdrawals (decision 0321, bot-api-go-client `withdrawalTransaction`): a withdrawal-submit
output plus Mixin's fee to `MIXIN_FEE_USER_ID` — in the same transaction when the fee is in
the asset, else in a second transaction of the fee asset that references the first's hash,
under `fee_request_id(request_id)`; both are requested, signed and submitted together, and a
crash between request and submit is finished from the stored raws. Without a spend key,
transfers and withdrawals only report a send made elsewhere, else `CustodySendUnsupported`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from orders.custody.base import (
    AssetInfo,
    CustodyDepositAddress,
    CustodyInvalidRequest,
    CustodyNotFound,
    CustodyRejected,
    CustodySendUnsupported,
    CustodyTransaction,
    CustodyUnavailable,
    DepositAddressUnverified,
    InsufficientBalance,
    RequestIdConflict,
    Snapshot,
    SnapshotPage,
    TransactionStatus,
    WithdrawalFee,
    parse_timestamp,
)
from orders.custody.mixin.auth import MixinSession
from orders.custody.mixin.http import MixinHttp
from orders.custody.mixin.kernel import (
    MAX_EXTRA,
    OUTPUT_TYPE_SCRIPT,
    OUTPUT_TYPE_WITHDRAWAL_SUBMIT,
    Input,
    KernelEncodingError,
    Output,
    Transaction,
    Withdrawal,
    decode_transaction,
    encode_transaction,
    kernel_asset_id,
    sign_transaction,
    threshold_script,
    transaction_hash,
)

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


class MixinSafeCustody:
    backend = "mixin"

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
            from django.conf import settings

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

    # ------------------------------------------------------------------ snapshots

    def snapshots_since(self, *, cursor: str | None, limit: int) -> SnapshotPage:
        limit = max(1, min(limit, MAX_PAGE))
        data = self._http.request(
            "GET",
            "/safe/snapshots",
            params={"offset": cursor, "limit": limit, "order": "ASC"},
        )
        rows = [(parse_timestamp(str(row["created_at"])), row) for row in data or []]
        # Defensive: our contract is oldest first whatever order the server used.
        rows.sort(key=lambda item: (item[0], str(item[1]["snapshot_id"])))
        items = tuple(self._snapshot(moment, row) for moment, row in rows)
        next_cursor = str(rows[-1][1]["created_at"]) if rows else cursor
        return SnapshotPage(
            items=items,
            next_cursor=next_cursor,
            has_more=len(rows) >= limit and next_cursor != cursor,
        )

    @staticmethod
    def _snapshot(moment: Any, row: dict[str, Any]) -> Snapshot:
        # A chain deposit's top-level transaction_hash is Mixin's kernel transaction; the
        # chain's own hash (the exchange's withdrawal txid) is `deposit.deposit_hash`.
        deposit = row.get("deposit") if isinstance(row.get("deposit"), dict) else None
        chain_hash = str(deposit.get("deposit_hash") or "") if deposit else ""
        return Snapshot(
            snapshot_id=str(row["snapshot_id"]),
            asset_id=str(row["asset_id"]),
            amount=_decimal(row["amount"], "snapshot amount"),
            opponent_id=str(row.get("opponent_id") or ""),
            memo=str(row.get("memo") or ""),
            transaction_hash=chain_hash or str(row.get("transaction_hash") or ""),
            created_at=moment,
            request_id=(str(row["request_id"]) if row.get("request_id") else None)
            or (str(row["trace_id"]) if row.get("trace_id") else None),
        )

    # ------------------------------------------------------------------ sends

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

    def _existing_or_unsupported(
        self, *, request_id: str, asset_id: str, amount: Decimal, what: str
    ) -> CustodyTransaction:
        row = self._transaction_row(request_id)
        if row is None:
            raise CustodySendUnsupported(
                f"the Mixin Safe client cannot sign a {what} (request {request_id}); "
                "see docs/custody.md"
            )
        existing = self._custody_transaction(row, request_id)
        if _amount_conflicts(existing, asset_id=asset_id, amount=amount):
            raise RequestIdConflict(f"request {request_id} was used for a different send")
        return replace(existing, amount=amount)

    def transfer(
        self,
        *,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        opponent_id: str,
        memo: str = "",
    ) -> CustodyTransaction:
        if self._spend_seed is None:
            return self._existing_or_unsupported(
                request_id=request_id, asset_id=asset_id, amount=amount, what="transfer"
            )
        row = self._transaction_row(request_id)
        if row is not None:
            existing = self._custody_transaction(row, request_id)
            self._check_same_transfer(
                row, existing, request_id=request_id, asset_id=asset_id, amount=amount, memo=memo
            )
            if row.get("state") == "unspent" and row.get("raw_transaction") and row.get("views"):
                # Requested by an earlier attempt that never signed: finish that one.
                return self._sign_and_submit(
                    request_id=request_id,
                    raw=str(row["raw_transaction"]),
                    views=list(row["views"]),
                    amount=amount,
                )
            # Mixin's `amount` may or may not count the change: ours, checked on the raw, is it.
            return replace(existing, amount=amount)
        return self._send_transfer(
            request_id=request_id,
            asset_id=asset_id,
            amount=amount,
            opponent_id=opponent_id,
            memo=memo,
        )

    @staticmethod
    def _check_same_transfer(
        row: dict[str, Any],
        existing: CustodyTransaction,
        *,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        memo: str,
    ) -> None:
        """Is the stored request this transfer? The stored raw decides, never `amount`.

        Mixin's request row has an `amount` whose meaning (with or without the change back
        to us) no SDK documents; the raw is exact: the kernel asset, the first output (we
        always put the receiver's output first, the change second) and the memo. With no
        raw to read (a row from elsewhere), `_amount_conflicts` reads `amount` both ways.
        """
        conflict = RequestIdConflict(f"request {request_id} was used for a different send")
        raw = row.get("raw_transaction")
        if not raw:
            if _amount_conflicts(existing, asset_id=asset_id, amount=amount):
                raise conflict
            return
        if existing.asset_id is not None and existing.asset_id != asset_id:
            raise conflict
        try:
            tx = decode_transaction(bytes.fromhex(str(raw)))
        except (KernelEncodingError, ValueError) as exc:
            raise CustodyUnavailable(f"request {request_id} holds an unreadable raw") from exc
        if (
            tx.asset != kernel_asset_id(asset_id)
            or not tx.outputs
            or tx.outputs[0].withdrawal is not None
            or tx.outputs[0].amount != amount
            or tx.extra != memo.encode()
        ):
            raise conflict

    def _select(self, asset_id: str, amount: Decimal) -> tuple[list[dict[str, Any]], Decimal]:
        """Unspent outputs of one asset, oldest first, covering `amount`; and the change."""
        chosen: list[dict[str, Any]] = []
        total = Decimal(0)
        for row in self._unspent_outputs(asset_id):
            if len(chosen) == MAX_INPUTS:
                break
            chosen.append(row)
            total += _decimal(row["amount"], "output amount")
            if total >= amount:
                break
        if total < amount:
            raise InsufficientBalance(
                f"unspent outputs of {asset_id} ({len(chosen)} inputs) hold {total} < {amount}"
            )
        return chosen, total - amount

    def _ghosts(self, request_id: str, receivers: dict[int, list[str]]) -> dict[int, Any]:
        """Ghost keys per output index (`POST /safe/keys`), hinted by (request id, index)."""
        indexes = sorted(receivers)
        ghosts = self._http.request(
            "POST",
            "/safe/keys",
            body=[
                {
                    "receivers": receivers[index],
                    "index": index,
                    "hint": str(uuid.uuid5(_HINT_NAMESPACE, f"{request_id}:{index}")),
                }
                for index in indexes
            ],
        )
        if not isinstance(ghosts, list) or len(ghosts) != len(indexes):
            raise CustodyUnavailable("mixin answered the wrong number of ghost keys")
        return dict(zip(indexes, ghosts, strict=True))

    def _build(
        self,
        *,
        request_id: str,
        chosen: list[dict[str, Any]],
        outputs: list[tuple[Decimal, list[str] | Withdrawal]],
        memo: str,
        references: tuple[bytes, ...] = (),
    ) -> Transaction:
        """A v5 transaction spending `chosen`; an output goes to members or is a withdrawal."""
        ghosts = self._ghosts(
            request_id,
            {i: target for i, (_, target) in enumerate(outputs) if isinstance(target, list)},
        )
        try:
            built = []
            for index, (value, target) in enumerate(outputs):
                if isinstance(target, Withdrawal):
                    built.append(
                        Output(type=OUTPUT_TYPE_WITHDRAWAL_SUBMIT, amount=value, withdrawal=target)
                    )
                    continue
                ghost = ghosts[index]
                built.append(
                    Output(
                        type=OUTPUT_TYPE_SCRIPT,
                        amount=value,
                        keys=tuple(bytes.fromhex(str(k)) for k in ghost["keys"]),
                        mask=bytes.fromhex(str(ghost["mask"])),
                        script=threshold_script(1),
                    )
                )
            tx = Transaction(
                asset=bytes.fromhex(str(chosen[0]["kernel_asset_id"])),
                inputs=tuple(
                    Input(
                        hash=bytes.fromhex(str(r["transaction_hash"])), index=int(r["output_index"])
                    )
                    for r in chosen
                ),
                outputs=tuple(built),
                extra=memo.encode(),
                references=references,
            )
            if {str(r["kernel_asset_id"]) for r in chosen} != {tx.asset.hex()}:
                raise CustodyUnavailable("mixin listed outputs of several kernel assets")
            encode_transaction(tx)  # refuse now what could not be encoded later
        except (KernelEncodingError, KeyError, ValueError, TypeError) as exc:
            raise CustodyUnavailable(f"cannot build the transaction: {exc}") from exc
        return tx

    def _send_transfer(
        self, *, request_id: str, asset_id: str, amount: Decimal, opponent_id: str, memo: str
    ) -> CustodyTransaction:
        if amount <= 0:
            raise CustodyInvalidRequest("a transfer amount must be positive")
        if len(memo.encode()) > MAX_EXTRA:
            raise CustodyInvalidRequest(f"a memo holds at most {MAX_EXTRA} bytes (kernel limit)")
        chosen, change = self._select(asset_id, amount)
        outputs: list[tuple[Decimal, list[str] | Withdrawal]] = [(amount, [opponent_id])]
        if change:
            outputs.append((change, [self._user_id]))
        tx = self._build(request_id=request_id, chosen=chosen, outputs=outputs, memo=memo)
        raw = encode_transaction(tx).hex()
        answer = self._http.request(
            "POST", "/safe/transaction/requests", body=[{"request_id": request_id, "raw": raw}]
        )
        row = dict(answer[0])
        if row.get("raw_transaction") not in (None, raw):
            # The request id already holds another transaction (a racing attempt): its
            # content decides, never ours.
            return self.transfer(
                request_id=request_id,
                asset_id=asset_id,
                amount=amount,
                opponent_id=opponent_id,
                memo=memo,
            )
        return self._sign_and_submit(
            request_id=request_id,
            raw=raw,
            views=list(row["views"]),
            amount=amount,
            input_keys=_output_keys(chosen),
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

    def _sign_and_submit(
        self,
        *,
        request_id: str,
        raw: str,
        views: list[Any],
        amount: Decimal,
        input_keys: list[tuple[bytes, ...] | None] | None = None,
    ) -> CustodyTransaction:
        signed = self._sign(request_id=request_id, raw=raw, views=views, input_keys=input_keys)
        answer = self._http.request(
            "POST", "/safe/transactions", body=[{"request_id": request_id, "raw": signed}]
        )
        result = replace(self._custody_transaction(dict(answer[0]), request_id), amount=amount)
        log.info("mixin_transfer_submitted", request_id=request_id, status=result.status.value)
        return result

    def withdraw(
        self,
        *,
        request_id: str,
        asset_id: str,
        amount: Decimal,
        destination: str,
        tag: str | None = None,
    ) -> CustodyTransaction:
        if self._spend_seed is None:
            return self._existing_or_unsupported(
                request_id=request_id, asset_id=asset_id, amount=amount, what="withdrawal"
            )
        target = Withdrawal(address=destination, tag=tag or "")
        row = self._transaction_row(request_id)
        if row is not None:
            existing = self._custody_transaction(row, request_id)
            self._check_same_withdrawal(
                row,
                existing,
                request_id=request_id,
                target=target,
                asset_id=asset_id,
                amount=amount,
            )
            if row.get("state") == "unspent" and row.get("raw_transaction") and row.get("views"):
                # Requested by an earlier attempt that never signed: finish it (and its fee).
                return self._finish_withdrawal(request_id=request_id, row=row, amount=amount)
            return replace(existing, amount=amount)
        return self._send_withdrawal(
            request_id=request_id, asset_id=asset_id, amount=amount, target=target
        )

    def _check_same_withdrawal(
        self,
        row: dict[str, Any],
        existing: CustodyTransaction,
        *,
        request_id: str,
        target: Withdrawal,
        asset_id: str,
        amount: Decimal,
    ) -> None:
        """The stored raw decides: same asset, one withdrawal output of this amount to here."""
        conflict = RequestIdConflict(f"request {request_id} was used for a different send")
        if existing.asset_id is not None and existing.asset_id != asset_id:
            raise conflict
        raw = row.get("raw_transaction")
        if not raw:
            return
        try:
            tx = decode_transaction(bytes.fromhex(str(raw)))
        except (KernelEncodingError, ValueError) as exc:
            raise CustodyUnavailable(f"request {request_id} holds an unreadable raw") from exc
        outs = [o for o in tx.outputs if o.withdrawal is not None]
        if len(outs) != 1 or outs[0].withdrawal != target or outs[0].amount != amount:
            raise conflict

    def _send_withdrawal(
        self, *, request_id: str, asset_id: str, amount: Decimal, target: Withdrawal
    ) -> CustodyTransaction:
        if amount <= 0:
            raise CustodyInvalidRequest("a withdrawal amount must be positive")
        fee = self.withdrawal_fee(asset_id=asset_id, destination=target.address)
        fee_user: list[str] = [MIXIN_FEE_USER_ID]
        bot: list[str] = [self._user_id]
        # (request id, unsigned raw, the outputs it spends)
        requests: list[tuple[str, str, list[dict[str, Any]]]] = []
        if fee.asset_id == asset_id:
            # One transaction: withdrawal, fee to Mixin's fee receiver, change (Go SDK).
            chosen, change = self._select(asset_id, amount + fee.amount)
            outputs: list[tuple[Decimal, list[str] | Withdrawal]] = [(amount, target)]
            if fee.amount > 0:
                outputs.append((fee.amount, fee_user))
            if change:
                outputs.append((change, bot))
            main = self._build(request_id=request_id, chosen=chosen, outputs=outputs, memo="")
            requests.append((request_id, encode_transaction(main).hex(), chosen))
        else:
            # Both selections before anything is posted: a short fee asset refuses here.
            chosen, change = self._select(asset_id, amount)
            fee_chosen, fee_change = self._select(fee.asset_id, fee.amount)
            outputs = [(amount, target)] + ([(change, bot)] if change else [])
            main = self._build(request_id=request_id, chosen=chosen, outputs=outputs, memo="")
            fee_id = fee_request_id(request_id)
            fee_outputs: list[tuple[Decimal, list[str] | Withdrawal]] = [(fee.amount, fee_user)]
            if fee_change:
                fee_outputs.append((fee_change, bot))
            fee_tx = self._build(
                request_id=fee_id,
                chosen=fee_chosen,
                outputs=fee_outputs,
                memo="",
                references=(transaction_hash(main),),
            )
            requests.append((request_id, encode_transaction(main).hex(), chosen))
            requests.append((fee_id, encode_transaction(fee_tx).hex(), fee_chosen))
        answer = self._http.request(
            "POST",
            "/safe/transaction/requests",
            body=[{"request_id": rid, "raw": raw} for rid, raw, _ in requests],
        )
        rows = {str(r.get("request_id")): dict(r) for r in answer or []}
        if any(rid not in rows for rid, _, _ in requests):
            raise CustodyUnavailable(f"mixin did not answer every request of {request_id}")
        if any(rows[rid].get("raw_transaction") not in (None, raw) for rid, raw, _ in requests):
            # A racing attempt holds these ids with another raw: resume that one instead.
            return self.withdraw(
                request_id=request_id,
                asset_id=asset_id,
                amount=amount,
                destination=target.address,
                tag=target.tag or None,
            )
        signed = [
            (
                rid,
                self._sign(
                    request_id=rid,
                    raw=raw,
                    views=list(rows[rid]["views"]),
                    input_keys=_output_keys(spent),
                ),
            )
            for rid, raw, spent in requests
        ]
        return self._submit_withdrawal(request_id=request_id, signed=signed, amount=amount)

    def _finish_withdrawal(
        self, *, request_id: str, row: dict[str, Any], amount: Decimal
    ) -> CustodyTransaction:
        """Sign and submit a requested withdrawal and, when it has one, its fee transaction.

        Both were requested in one call, so a fee request exists exactly when the withdrawal
        pays its fee in another asset; only an unsigned ("unspent") one is signed again.
        """
        parts = [row]
        fee_row = self._transaction_row(fee_request_id(request_id))
        if (
            fee_row is not None
            and fee_row.get("state") == "unspent"
            and fee_row.get("raw_transaction")
            and fee_row.get("views")
        ):
            parts.append(fee_row)
        signed = [
            (
                str(part["request_id"]),
                self._sign(
                    request_id=str(part["request_id"]),
                    raw=str(part["raw_transaction"]),
                    views=list(part["views"]),
                ),
            )
            for part in parts
        ]
        return self._submit_withdrawal(request_id=request_id, signed=signed, amount=amount)

    def _submit_withdrawal(
        self, *, request_id: str, signed: list[tuple[str, str]], amount: Decimal
    ) -> CustodyTransaction:
        answer = self._http.request(
            "POST",
            "/safe/transactions",
            body=[{"request_id": rid, "raw": raw} for rid, raw in signed],
        )
        main = next((dict(r) for r in answer or [] if str(r.get("request_id")) == request_id), None)
        if main is None:
            raise CustodyUnavailable(f"mixin did not answer the submit of {request_id}")
        result = replace(self._custody_transaction(main, request_id), amount=amount)
        log.info(
            "mixin_withdrawal_submitted",
            request_id=request_id,
            transactions=len(signed),
            status=result.status.value,
        )
        return result

    # ------------------------------------------------------------------ reads

    def withdrawal_fee(self, *, asset_id: str, destination: str) -> WithdrawalFee:
        data = self._http.request(
            "GET", f"/safe/assets/{asset_id}/fees", params={"destination": destination}
        )
        fees = [row for row in data or [] if row.get("amount") not in (None, "")]
        if not fees:
            raise CustodyRejected(f"mixin lists no withdrawal fee for {asset_id}")
        # Prefer the fee paid in the asset itself; otherwise the first (the chain's asset).
        chosen = next((row for row in fees if row.get("asset_id") == asset_id), fees[0])
        return WithdrawalFee(
            asset_id=str(chosen["asset_id"]), amount=_decimal(chosen["amount"], "fee")
        )

    def wallet_balance(self, *, asset_id: str) -> Decimal:
        return sum(
            (_decimal(row["amount"], "output amount") for row in self._unspent_outputs(asset_id)),
            Decimal(0),
        )

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

    def asset(self, *, asset_id: str) -> AssetInfo:
        data = self._http.request("GET", f"/safe/assets/{asset_id}")
        return AssetInfo(
            asset_id=str(data["asset_id"]),
            symbol=str(data.get("symbol") or ""),
            chain_id=str(data.get("chain_id") or ""),
            precision=int(data.get("precision") or 8),
            price_usd=_decimal(data.get("price_usd") or "0", "price"),
            name=str(data.get("name") or ""),
        )

    def deposit_address(self, *, asset_id: str) -> CustodyDepositAddress:
        """The bot's own (members = [bot], threshold 1) deposit entry on the asset's chain.

        Mixin answers the same entry for the same members, threshold and chain every time, so
        this is safe to call again; every entry must carry a valid Safe signature.
        """
        chain_id = self.asset(asset_id=asset_id).chain_id
        if not chain_id:
            raise CustodyUnavailable(f"mixin sent no chain id for asset {asset_id}")
        data = self._http.request(
            "POST",
            "/safe/deposit/entries",
            body={"members": [self._user_id], "threshold": 1, "chain_id": chain_id},
        )
        entries = [row for row in data or [] if isinstance(row, dict)]
        if not entries:
            raise CustodyUnavailable(f"mixin listed no deposit entry for chain {chain_id}")
        for entry in entries:
            self._verify_entry(entry, chain_id=chain_id)
        # Some chains list several entries (e.g. an older address format); use the primary.
        chosen = next((e for e in entries if e.get("is_primary")), entries[0])
        return CustodyDepositAddress(
            asset_id=asset_id,
            destination=str(chosen["destination"]),
            tag=str(chosen.get("tag") or "") or None,
        )

    def _verify_entry(self, entry: dict[str, Any], *, chain_id: str) -> None:
        reason = self._entry_problem(entry, chain_id=chain_id)
        if reason:
            log.error("mixin_deposit_entry_unverified", chain_id=chain_id, reason=reason)
            raise DepositAddressUnverified(
                f"mixin deposit entry for chain {chain_id} refused: {reason}"
            )

    def _entry_problem(self, entry: dict[str, Any], *, chain_id: str) -> str:
        destination = entry.get("destination")
        if not isinstance(destination, str) or not destination:
            return "no destination"
        if entry.get("chain_id") not in (None, "", chain_id):
            return "other chain"
        members = entry.get("members")
        if members is not None and sorted(map(str, members)) != [self._user_id]:
            return "other members"
        if entry.get("threshold") not in (None, 1):
            return "other threshold"
        try:
            signature = bytes.fromhex(str(entry.get("signature") or ""))
        except ValueError:
            return "signature not hex"
        message = deposit_entry_message(destination, str(entry.get("tag") or "") or None)
        for key in self._entry_keys:
            try:
                key.verify(signature, message)
            except InvalidSignature:
                continue
            return ""
        return "bad signature"
