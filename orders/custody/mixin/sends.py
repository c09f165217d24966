"""Transfers (refunds) of the Mixin Safe client; see `client.py`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import structlog

from orders.custody.base import (
    CustodyInvalidRequest,
    CustodySendUnsupported,
    CustodyTransaction,
    CustodyUnavailable,
    InsufficientBalance,
    RequestIdConflict,
)
from orders.custody.mixin.common import (
    _HINT_NAMESPACE,
    MAX_INPUTS,
    SafeBase,
    _amount_conflicts,
    _decimal,
    _output_keys,
)
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
    threshold_script,
)

log = structlog.get_logger(__name__)

log = structlog.get_logger(__name__)


class SafeTransfers(SafeBase):
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
