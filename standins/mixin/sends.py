"""The sending half of the Mixin Safe stand-in: ghost keys, transaction requests, submits.

What it checks is listed in `emulator.py`'s docstring; every rule is the kernel's or the
Safe API's as far as a loopback can know them.
"""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PublicKey,
)

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse
from orders.custody.mixin.client import MIXIN_FEE_USER_ID
from orders.custody.mixin.kernel import (
    OUTPUT_TYPE_SCRIPT,
    KernelEncodingError,
    decode_transaction,
    encode_transaction,
    transaction_hash,
)
from standins.mixin.common import (
    EmulatedOutput,
    _random_point,
    kernel_asset,
    mixin_error,
)


class SafeSendsMixin:
    """Mixed into `MixinSafeEmulator`, which owns the state declared here."""

    lock: threading.RLock
    user_id: str
    bot_keys: dict[str, bytes]
    issued_keys: set[str]
    key_receivers: dict[str, str]
    requests_by_id: dict[str, dict[str, Any]]
    transactions: dict[str, dict[str, Any]]
    outputs: list[EmulatedOutput]
    fees: dict[str, list[dict[str, str]]]
    fail_submits: int
    tamper_submit: bool
    request_amount_includes_change: bool
    withdrawals: list[dict[str, Any]]
    fee_payments: list[dict[str, Any]]

    def _bot_key(self) -> tuple[str, bytes]:
        raise NotImplementedError

    def _keys(self, request: LoopbackRequest) -> LoopbackResponse:
        try:
            body = request.json()
        except ValueError:
            return mixin_error(10002, "The request data has invalid field.")
        if not isinstance(body, list) or not body:
            return mixin_error(10002, "The request data has invalid field.")
        answer = []
        for item in body:
            receivers = item.get("receivers") if isinstance(item, dict) else None
            if not isinstance(receivers, list) or not receivers or not item.get("hint"):
                return mixin_error(10002, "The request data has invalid field.")
            keys = []
            for receiver in receivers:
                if receiver == self.user_id:
                    key, view = self._bot_key()
                    with self.lock:
                        self.bot_keys[key] = view
                else:
                    key = _random_point().hex()
                keys.append(key)
            with self.lock:
                self.issued_keys.update(keys)
                self.key_receivers.update(zip(keys, map(str, receivers), strict=True))
            answer.append({"type": "ghost_key", "mask": _random_point().hex(), "keys": keys})
        return LoopbackResponse(200, {"data": answer})

    def _find_output(self, tx_hash: str, index: int) -> EmulatedOutput | None:
        return next(
            (o for o in self.outputs if o.transaction_hash == tx_hash and o.output_index == index),
            None,
        )

    @staticmethod
    def _batch(request: LoopbackRequest, *, signed: bool) -> list[tuple[str, bytes, Any]] | None:
        """(request id, raw, decoded) per item, or None if any item is malformed."""
        try:
            body = request.json()
            items = []
            for item in body:
                request_id, raw = str(item["request_id"]), bytes.fromhex(item["raw"])
                items.append((request_id, raw, decode_transaction(raw)))
        except (ValueError, KeyError, TypeError, KernelEncodingError):
            return None
        if not items or len({i[0] for i in items}) != len(items):
            return None
        if not signed and any(
            encode_transaction(tx) != raw or tx.signatures for _, raw, tx in items
        ):
            return None
        return items

    def _tx_requests(self, request: LoopbackRequest) -> LoopbackResponse:
        items = self._batch(request, signed=False)
        if items is None:
            return mixin_error(10002, "The request data has invalid field.")
        with self.lock:
            known = [self.requests_by_id.get(rid) for rid, _, _ in items]
            found = [k for k in known if k is not None]
            if len(found) == len(items):
                # A repeat answers the first requests, if it carries the same raws.
                if any(
                    k["raw_transaction"] != raw.hex()
                    for k, (_, raw, _) in zip(found, items, strict=True)
                ):
                    return mixin_error(10002, "The request data has invalid field.")
                return LoopbackResponse(200, {"data": found})
            if any(k is not None for k in known):
                return mixin_error(10002, "The request data has invalid field.")
            # An input a stored, unsubmitted request of another id already spends is locked
            # (bot-api-go-client's monitor retries "inputs locked by"): 10105, retryable.
            if any(self._locked_elsewhere(tx, rid) for rid, _, tx in items):
                return mixin_error(10105)
            # All or nothing: every transaction of the batch is checked before any is stored.
            problem = next((p for _, _, tx in items if (p := self._check_request(tx))), "")
            problem = problem or self._check_fees([tx for _, _, tx in items])
            if problem:
                return mixin_error(10002, problem)
            rows = []
            for request_id, raw, tx in items:
                spent = [self._find_output(i.hash.hex(), i.index) for i in tx.inputs]
                withdrawn = [o for o in tx.outputs if o.withdrawal is not None]
                paid = withdrawn or [
                    o
                    for o in tx.outputs
                    if self.request_amount_includes_change
                    or not (o.keys and all(k.hex() in self.bot_keys for k in o.keys))
                ]
                row = {
                    "type": "transaction_request",
                    "request_id": request_id,
                    "transaction_hash": transaction_hash(tx).hex(),
                    "asset_id": spent[0].asset if spent[0] else "",
                    "amount": str(sum((o.amount for o in paid), Decimal(0))),
                    "raw_transaction": raw.hex(),
                    "views": [o.view.hex() for o in spent if o is not None],
                    "state": "unspent",
                }
                self.requests_by_id[request_id] = row
                self.transactions[request_id] = row
                rows.append(row)
        return LoopbackResponse(200, {"data": rows})

    def _pays_fee(self, tx: Any) -> Decimal:
        """What a transaction pays Mixin's fee receiver (outputs all of whose keys are its)."""
        return sum(
            (
                o.amount
                for o in tx.outputs
                if o.keys
                and all(self.key_receivers.get(k.hex()) == MIXIN_FEE_USER_ID for k in o.keys)
            ),
            Decimal(0),
        )

    def _asset_of(self, tx: Any) -> str:
        out = self._find_output(tx.inputs[0].hash.hex(), tx.inputs[0].index)
        return out.asset if out is not None else ""

    def _check_fees(self, txs: list[Any]) -> str:
        """Every withdrawal pays a listed fee: in its own transaction when the fee is in its
        asset, else by a transaction of the batch that references its hash; every reference
        names a withdrawal of the batch or one already requested."""
        by_hash = {transaction_hash(tx): tx for tx in txs}
        requested = {bytes.fromhex(r["transaction_hash"]) for r in self.requests_by_id.values()}
        for tx in txs:
            for ref in tx.references:
                if ref not in by_hash and ref not in requested:
                    return "reference to an unknown transaction"
                if not self._pays_fee(tx):
                    return "a referencing transaction must pay the fee receiver"
            if not any(o.withdrawal is not None for o in tx.outputs):
                continue
            asset = self._asset_of(tx)
            listed = {f["asset_id"]: Decimal(f["amount"]) for f in self.fees.get(asset, [])}
            own = self._pays_fee(tx)
            if own:
                if listed.get(asset) != own:
                    return "withdrawal fee in the asset differs from the listed fee"
                continue
            payers = [t for t in txs if transaction_hash(tx) in t.references]
            if len(payers) != 1 or listed.get(self._asset_of(payers[0])) != self._pays_fee(
                payers[0]
            ):
                return "withdrawal fee is not paid by a referencing fee transaction"
        return ""

    def _locked_elsewhere(self, tx: Any, request_id: str) -> bool:
        """Whether an input of `tx` is an input of another request not yet submitted."""
        wanted = {(i.hash.hex(), i.index) for i in tx.inputs}
        for rid, row in self.requests_by_id.items():
            if rid == request_id or row["state"] != "unspent":
                continue
            other = decode_transaction(bytes.fromhex(row["raw_transaction"]))
            if wanted & {(i.hash.hex(), i.index) for i in other.inputs}:
                return True
        return False

    def _check_request(self, tx: Any) -> str:
        """Why Mixin would refuse this unsigned transaction ('' if it would not)."""
        spent = [self._find_output(i.hash.hex(), i.index) for i in tx.inputs]
        if not spent or any(o is None or o.state != "unspent" for o in spent):
            return "input is not an unspent output of the bot"
        if len({(i.hash, i.index) for i in tx.inputs}) != len(tx.inputs):
            return "input spent twice"
        assets = {o.asset for o in spent if o is not None}
        if len(assets) != 1 or tx.asset.hex() != kernel_asset(next(iter(assets))):
            return "inputs and transaction disagree on the asset"
        total_in = sum((o.amount for o in spent if o is not None), Decimal(0))
        if sum((o.amount for o in tx.outputs), Decimal(0)) != total_in:
            return "outputs do not sum to the inputs"
        for out in tx.outputs:
            if out.type == OUTPUT_TYPE_SCRIPT and (
                not out.keys or any(k.hex() not in self.issued_keys for k in out.keys)
            ):
                return "output key was not issued by /safe/keys"
        return ""

    def _tx_submit(self, request: LoopbackRequest) -> LoopbackResponse:
        with self.lock:
            if self.fail_submits:
                self.fail_submits -= 1
                return mixin_error(500)
        items = self._batch(request, signed=True)
        if items is None:
            return mixin_error(10002, "The request data has invalid field.")
        if self.tamper_submit:
            request_id, raw, _ = items[-1]
            raw = raw[:-1] + bytes([raw[-1] ^ 1])
            items[-1] = (request_id, raw, decode_transaction(raw))
        with self.lock:
            rows = []
            pending = []
            for request_id, _, tx in items:
                known = self.requests_by_id.get(request_id)
                if known is None:
                    return mixin_error(404, "The endpoint is not found.")
                rows.append(known)
                if known["state"] == "spent":
                    continue
                if encode_transaction(tx, signed=False).hex() != known["raw_transaction"]:
                    return mixin_error(10002, "signed raw differs from the requested raw")
                problem = self._check_request(tx) or self._check_signatures(tx)
                if problem:
                    return mixin_error(10002, problem)
                pending.append((request_id, tx, known))
            # All or nothing: a withdrawal and its fee transaction are accepted together.
            for request_id, tx, known in pending:
                self._apply(request_id, tx)
                known["state"] = "spent"
                known["snapshot_id"] = str(uuid.uuid4())
        return LoopbackResponse(200, {"data": rows})

    def _apply(self, request_id: str, tx: Any) -> None:
        asset = self._asset_of(tx)
        for item_in in tx.inputs:
            out = self._find_output(item_in.hash.hex(), item_in.index)
            assert out is not None
            out.state = "spent"
        tx_hash = transaction_hash(tx).hex()
        fee = self._pays_fee(tx)
        if fee:
            self.fee_payments.append(
                {
                    "request_id": request_id,
                    "asset": asset,
                    "amount": fee,
                    "references": [r.hex() for r in tx.references],
                }
            )
        for index, out_new in enumerate(tx.outputs):
            if out_new.withdrawal is not None:
                self.withdrawals.append(
                    {
                        "request_id": request_id,
                        "asset": asset,
                        "amount": out_new.amount,
                        "destination": out_new.withdrawal.address,
                        "tag": out_new.withdrawal.tag,
                        "transaction_hash": tx_hash,
                    }
                )
                continue
            keys = [k.hex() for k in out_new.keys]
            if keys and all(k in self.bot_keys for k in keys):
                self.outputs.append(
                    EmulatedOutput(
                        sequence=len(self.outputs) + 1,
                        asset=asset,
                        amount=out_new.amount,
                        transaction_hash=tx_hash,
                        output_index=index,
                        keys=tuple(keys),
                        mask=out_new.mask.hex(),
                        view=self.bot_keys[keys[0]],
                    )
                )

    def _check_signatures(self, tx: Any) -> str:
        if len(tx.signatures) != len(tx.inputs):
            return "one signature map per input is required"
        message = transaction_hash(tx)
        for item_in, sig_map in zip(tx.inputs, tx.signatures, strict=True):
            out = self._find_output(item_in.hash.hex(), item_in.index)
            if out is None or len(sig_map) != 1:
                return "bad signature map"
            ((index, signature),) = sig_map.items()
            if index >= len(out.keys):
                return "signature index out of range"
            try:
                Ed25519PublicKey.from_public_bytes(bytes.fromhex(out.keys[index])).verify(
                    signature, message
                )
            except InvalidSignature:
                return "input signature does not verify"
        return ""
