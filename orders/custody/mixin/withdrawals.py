"""Withdrawals of the Mixin Safe client (decision 0321); see `client.py`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import structlog

from orders.custody.base import (
    CustodyInvalidRequest,
    CustodyRejected,
    CustodyTransaction,
    CustodyUnavailable,
    RequestIdConflict,
    WithdrawalFee,
)
from orders.custody.mixin.common import (
    MIXIN_FEE_USER_ID,
    _decimal,
    _output_keys,
    fee_request_id,
)
from orders.custody.mixin.kernel import (
    KernelEncodingError,
    Withdrawal,
    decode_transaction,
    encode_transaction,
    transaction_hash,
)
from orders.custody.mixin.sends import SafeTransfers

log = structlog.get_logger(__name__)

log = structlog.get_logger(__name__)


class SafeWithdrawals(SafeTransfers):
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
