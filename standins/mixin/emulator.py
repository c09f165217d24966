"""Loopback emulator of the Mixin Safe API endpoints the custody client uses.

It checks every request as Mixin does: `Authorization: Bearer <jwt>` signed with EdDSA by
the registered session key, `uid`/`sid` of the registered bot, not expired, and `sig` equal
to sha256(METHOD + URI-with-query + body) of the request it actually received; a failure is
Mixin's 401 error body on HTTP 202. Snapshots page ASC by `offset` = created_at, inclusive
(the conservative reading: the client must cope with repeats). Faults can be injected:
an error body on 202 for the next N calls, an HTTP status, or a delay (for timeouts).

Sends (`POST /safe/keys`, `/safe/transaction/requests`, `/safe/transactions`) are verified
as far as a loopback can: the raw decodes (and re-encodes identically) with the kernel codec,
every input is an unspent output of the bot, all in one asset, outputs sum to the inputs,
every script output uses keys this emulator issued, request ids are unique (a repeat with the
same raw answers the first request; another raw is 10002), the signed raw is the requested
raw plus signatures, and each input's Ed25519 signature verifies against the one-time key the
emulator derived for that output (key = view·G + the bot's spend public key, the view being
what the request answered). Change outputs to the bot become new unspent outputs.
Withdrawals: a request or submit call may carry several transactions and is applied all or
nothing; a transaction with a withdrawal output must pay the fee listed for its asset to
Mixin's fee receiver (`MIXIN_FEE_USER_ID`, known by the keys /safe/keys issued for it),
either in itself (fee in the asset) or by exactly one transaction of the same call whose
references hold its hash; every reference must name a known transaction. Submitted
withdrawal outputs and fee payments are recorded in `withdrawals` / `fee_payments`.

Deposit entries are deterministic per (chain, members, threshold), as Mixin answers the same
entry on every call, and signed like Mixin's (Ed25519 over sha3-256 of `destination[:tag]`)
but with the emulator's own key, `entry_public_key`, which tests hand to the client.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from nacl import bindings as sodium

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse, LoopbackServer
from orders.custody.base import format_timestamp, parse_timestamp
from orders.custody.mixin.auth import verify_token
from orders.custody.mixin.client import MIXIN_FEE_USER_ID, deposit_entry_message, members_hash
from orders.custody.mixin.kernel import (
    OUTPUT_TYPE_SCRIPT,
    KernelEncodingError,
    decode_transaction,
    encode_transaction,
    kernel_asset_id,
    transaction_hash,
)

# Namespace of the emulator's deterministic entry ids.
_ENTRY_NAMESPACE = uuid.UUID("0b6f3c1e-27d4-4a59-8c1b-5e9a2d7f4c60")


def mixin_error(code: int, description: str) -> LoopbackResponse:
    return LoopbackResponse(
        202, {"error": {"status": 202, "code": code, "description": description}}
    )


@dataclass
class _Fault:
    calls: int
    status: int = 202
    code: int | None = None
    description: str = ""
    delay: float = 0.0


def _random_scalar() -> bytes:
    return bytes(sodium.crypto_core_ed25519_scalar_reduce(uuid.uuid4().bytes * 4))


def _random_point() -> bytes:
    return bytes(sodium.crypto_scalarmult_ed25519_base_noclamp(_random_scalar()))


def kernel_asset(asset_id: str) -> str:
    """The kernel asset hash of an asset id, as the kernel derives it: SHA3-256 of the id
    (MixinNetwork/mixin `crypto.Sha256Hash` is `sha3.Sum256`; common/asset.go)."""
    return kernel_asset_id(asset_id).hex()


@dataclass
class EmulatedOutput:
    sequence: int
    asset: str
    amount: Decimal
    output_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    transaction_hash: str = field(default_factory=lambda: uuid.uuid4().hex * 2)
    output_index: int = 0
    keys: tuple[str, ...] = ()
    mask: str = ""
    view: bytes = b""  # the scalar x with key = x·G + spend public key
    state: str = "unspent"


class MixinSafeEmulator(LoopbackServer):
    def __init__(
        self,
        *,
        user_id: str,
        session_id: str,
        public_key: Ed25519PublicKey,
        spend_public_key: bytes | None = None,
    ) -> None:
        super().__init__()
        self.user_id = user_id
        # The bot's spend public key; without it outputs carry keys nobody can sign for.
        self.spend_public_key = spend_public_key
        self.bot_keys: dict[str, bytes] = {}  # issued one-time key of the bot -> its view
        self.issued_keys: set[str] = set()  # every key /safe/keys handed out
        self.key_receivers: dict[str, str] = {}  # issued key -> the user it was issued for
        # Submitted withdrawal outputs and fee payments, for tests to count.
        self.withdrawals: list[dict[str, Any]] = []
        self.fee_payments: list[dict[str, Any]] = []
        self.requests_by_id: dict[str, dict[str, Any]] = {}
        self.fail_submits = 0  # answer HTTP 500 to this many `POST /safe/transactions`
        # What a request row's `amount` means is not documented: without the change back to
        # the sender (False) or everything the transaction outputs (True). Tests try both.
        self.request_amount_includes_change = False
        # Outputs (by id) `GET /safe/outputs` leaves out, as a lagging or paged listing may.
        self.unlisted_outputs: set[str] = set()
        self.tamper_submit = False  # flip a bit of the last signature before verifying
        self.session_id = session_id
        self.public_key = public_key
        self.snapshots: list[dict[str, Any]] = []
        self.assets: dict[str, dict[str, Any]] = {}
        self.fees: dict[str, list[dict[str, str]]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.outputs: list[EmulatedOutput] = []
        self._faults: list[_Fault] = []
        # Deposit entries: signed with this key instead of the Safe network's.
        self.entry_key = Ed25519PrivateKey.generate()
        self.entry_public_key = self.entry_key.public_key()
        self.tag_chains: set[str] = set()  # chains with one shared address and a per-wallet tag
        self.secondary_entry_chains: set[str] = set()  # also list a non-primary entry, first
        self.entry_overrides: dict[str, Any] = {}  # applied after signing (tampering tests)
        self.add_route("GET", "/safe/snapshots", self._guard(self._snapshots))
        self.add_route("GET", "/safe/assets/{asset_id}/fees", self._guard(self._fees))
        self.add_route("GET", "/safe/assets/{asset_id}", self._guard(self._asset))
        self.add_route("GET", "/safe/transactions/{request_id}", self._guard(self._transaction))
        self.add_route("GET", "/safe/outputs", self._guard(self._outputs))
        self.add_route("POST", "/safe/deposit/entries", self._guard(self._deposit_entries))
        self.add_route("POST", "/safe/keys", self._guard(self._keys))
        self.add_route("POST", "/safe/transaction/requests", self._guard(self._tx_requests))
        self.add_route("POST", "/safe/transactions", self._guard(self._tx_submit))

    # ------------------------------------------------------------------ test controls

    def reset(self) -> None:
        """Forget all state, faults and recorded requests (one server can serve many tests)."""
        with self.lock:
            self.snapshots.clear()
            self.assets.clear()
            self.fees.clear()
            self.transactions.clear()
            self.outputs.clear()
            self._faults.clear()
            self.tag_chains.clear()
            self.secondary_entry_chains.clear()
            self.entry_overrides.clear()
            self.requests.clear()
            self.bot_keys.clear()
            self.issued_keys.clear()
            self.key_receivers.clear()
            self.withdrawals.clear()
            self.fee_payments.clear()
            self.requests_by_id.clear()
            self.fail_submits = 0
            self.tamper_submit = False
            self.request_amount_includes_change = False
            self.unlisted_outputs.clear()

    def add_snapshot(
        self,
        *,
        asset_id: str,
        amount: str,
        created_at: datetime | str,
        opponent_id: str = "",
        memo_hex: str = "",
        snapshot_id: str | None = None,
        request_id: str | None = None,
        deposit_hash: str | None = None,
    ) -> dict[str, Any]:
        """One snapshot; `deposit_hash` makes it a chain deposit (Mixin's `deposit` view)."""
        stamp = created_at if isinstance(created_at, str) else format_timestamp(created_at)
        row = {
            "type": "snapshot",
            "snapshot_id": snapshot_id or str(uuid.uuid4()),
            "user_id": self.user_id,
            "opponent_id": opponent_id,
            "asset_id": asset_id,
            "amount": amount,
            "memo": memo_hex,
            "transaction_hash": uuid.uuid4().hex * 2,
            "created_at": stamp,
            "request_id": request_id,
            "trace_id": request_id,
            "deposit": (
                {"deposit_hash": deposit_hash, "deposit_index": 0, "sender": ""}
                if deposit_hash
                else None
            ),
        }
        with self.lock:
            self.snapshots.append(row)
        return row

    def add_asset(
        self, *, asset_id: str, symbol: str, chain_id: str, precision: int = 8, price_usd: str = "1"
    ) -> None:
        self.assets[asset_id] = {
            "type": "safe_asset",
            "asset_id": asset_id,
            "chain_id": chain_id,
            "symbol": symbol,
            "name": symbol,
            "precision": precision,
            "price_usd": price_usd,
        }

    def _bot_key(self) -> tuple[str, bytes]:
        """A fresh one-time key of the bot: view·G + spend public key."""
        view = _random_scalar()
        if self.spend_public_key is None:
            return _random_point().hex(), view
        point = sodium.crypto_core_ed25519_add(
            sodium.crypto_scalarmult_ed25519_base_noclamp(view), self.spend_public_key
        )
        return bytes(point).hex(), view

    def add_output(self, *, asset: str, amount: str) -> EmulatedOutput:
        key, view = self._bot_key()
        with self.lock:
            out = EmulatedOutput(
                sequence=len(self.outputs) + 1,
                asset=asset,
                amount=Decimal(amount),
                keys=(key,),
                mask=_random_point().hex(),
                view=view,
            )
            self.outputs.append(out)
        return out

    def fail_next(
        self,
        *,
        calls: int = 1,
        status: int = 202,
        code: int | None = None,
        description: str = "",
        delay: float = 0.0,
    ) -> None:
        """The next `calls` requests answer with this fault instead (after `delay` seconds)."""
        with self.lock:
            self._faults.append(_Fault(calls, status, code, description, delay))

    # ------------------------------------------------------------------ plumbing

    def _guard(self, handler: Any) -> Any:
        def run(request: LoopbackRequest) -> LoopbackResponse:
            fault = self._take_fault()
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.code is not None:
                    return mixin_error(fault.code, fault.description or "injected")
                return LoopbackResponse(fault.status, {"error": "injected"})
            if not self._authorized(request):
                return mixin_error(401, "Unauthorized, maybe invalid token.")
            return handler(request)

        return run

    def _take_fault(self) -> _Fault | None:
        with self.lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.calls -= 1
            if fault.calls <= 0:
                self._faults.pop(0)
            return fault

    def _authorized(self, request: LoopbackRequest) -> bool:
        auth = request.header("authorization")
        if not auth.startswith("Bearer "):
            return False
        uri = request.path + (f"?{request.raw_query}" if request.raw_query else "")
        try:
            claims = verify_token(
                auth.removeprefix("Bearer ").strip(),
                public_key=self.public_key,
                method=request.method,
                uri=uri,
                body=request.body,
            )
        except jwt.InvalidTokenError:
            return False
        return claims.get("uid") == self.user_id and claims.get("sid") == self.session_id

    # ------------------------------------------------------------------ endpoints

    def _snapshots(self, request: LoopbackRequest) -> LoopbackResponse:
        limit = min(int(request.query.get("limit") or 100), 500)
        order = (request.query.get("order") or "DESC").upper()
        offset = request.query.get("offset")
        asset = request.query.get("asset")
        opponent = request.query.get("opponent")
        with self.lock:
            rows = list(self.snapshots)
        rows = [r for r in rows if (not asset or r["asset_id"] == asset)]
        rows = [r for r in rows if (not opponent or r["opponent_id"] == opponent)]
        key = lambda r: (parse_timestamp(r["created_at"]), r["snapshot_id"])  # noqa: E731
        rows.sort(key=key, reverse=order != "ASC")
        if offset:
            start = parse_timestamp(offset)
            if order == "ASC":
                rows = [r for r in rows if parse_timestamp(r["created_at"]) >= start]
            else:
                rows = [r for r in rows if parse_timestamp(r["created_at"]) <= start]
        return LoopbackResponse(200, {"data": rows[:limit]})

    def _asset(self, request: LoopbackRequest) -> LoopbackResponse:
        asset = self.assets.get(request.params["asset_id"])
        if asset is None:
            return mixin_error(404, "The endpoint is not found.")
        return LoopbackResponse(200, {"data": asset})

    def _fees(self, request: LoopbackRequest) -> LoopbackResponse:
        asset_id = request.params["asset_id"]
        if asset_id not in self.assets:
            return mixin_error(404, "The endpoint is not found.")
        if not request.query.get("destination"):
            return mixin_error(10002, "The request data has invalid field.")
        return LoopbackResponse(200, {"data": self.fees.get(asset_id, [])})

    def _transaction(self, request: LoopbackRequest) -> LoopbackResponse:
        tx = self.transactions.get(request.params["request_id"])
        if tx is None:
            return mixin_error(404, "The endpoint is not found.")
        return LoopbackResponse(200, {"data": tx})

    def _outputs(self, request: LoopbackRequest) -> LoopbackResponse:
        if request.query.get("members") != members_hash([self.user_id]):
            return LoopbackResponse(200, {"data": []})
        limit = min(int(request.query.get("limit") or 500), 500)
        offset = int(request.query.get("offset") or 0)
        asset = request.query.get("asset")
        with self.lock:
            rows = [
                o
                for o in self.outputs
                if o.sequence >= offset
                and o.output_id not in self.unlisted_outputs
                and (not asset or o.asset == asset)
                and o.state == (request.query.get("state") or o.state)
            ]
        now = format_timestamp(datetime.now(UTC))
        data = [
            {
                "type": "kernel_output",
                "output_id": o.output_id,
                "sequence": o.sequence,
                # As Mixin answers: `asset` is the kernel asset hash (bot-api-nodejs-client
                # buildSafeTransaction takes it as the transaction's asset), `asset_id` the id.
                "asset": kernel_asset(o.asset),
                "asset_id": o.asset,
                "kernel_asset_id": kernel_asset(o.asset),
                "transaction_hash": o.transaction_hash,
                "output_index": o.output_index,
                "keys": list(o.keys),
                "mask": o.mask,
                "receivers": [self.user_id],
                "receivers_threshold": 1,
                "amount": str(o.amount),
                "state": o.state,
                "created_at": now,
            }
            for o in rows[:limit]
        ]
        return LoopbackResponse(200, {"data": data})

    def _deposit_entries(self, request: LoopbackRequest) -> LoopbackResponse:
        try:
            body = request.json()
        except ValueError:
            return mixin_error(10002, "The request data has invalid field.")
        members = body.get("members") if isinstance(body, dict) else None
        threshold = body.get("threshold") if isinstance(body, dict) else None
        chain_id = body.get("chain_id") if isinstance(body, dict) else None
        with self.lock:
            chains = {a["chain_id"] for a in self.assets.values()}
        if (
            not isinstance(members, list)
            or not members
            or not all(isinstance(m, str) and m for m in members)
            or not isinstance(threshold, int)
            or not 1 <= threshold <= len(members)
            or not isinstance(chain_id, str)
            or chain_id not in chains
        ):
            return mixin_error(10002, "The request data has invalid field.")
        group = sorted(members)
        seed = hashlib.sha256(f"{chain_id}|{','.join(group)}|{threshold}".encode()).hexdigest()
        if chain_id in self.tag_chains:
            # Memo chains (EOS, XRP, TON...): one account for everyone, told apart by the tag.
            shared = hashlib.sha256(chain_id.encode()).hexdigest()
            destination, tag = f"emu{shared[:40]}", str(int(seed[:12], 16))
        else:
            destination, tag = f"emu{seed[:40]}", ""
        entries = [self._entry(chain_id, group, threshold, destination, tag, primary=True)]
        if chain_id in self.secondary_entry_chains:
            legacy = self._entry(
                chain_id, group, threshold, f"emulegacy{seed[40:64]}", "", primary=False
            )
            entries.insert(0, legacy)
        for entry in entries:
            entry.update(self.entry_overrides)
        return LoopbackResponse(200, {"data": entries})

    def _entry(
        self,
        chain_id: str,
        members: list[str],
        threshold: int,
        destination: str,
        tag: str,
        *,
        primary: bool,
    ) -> dict[str, Any]:
        signature = self.entry_key.sign(deposit_entry_message(destination, tag or None))
        return {
            "type": "deposit_entry",
            "entry_id": str(uuid.uuid5(_ENTRY_NAMESPACE, destination + ":" + tag)),
            "chain_id": chain_id,
            "members": members,
            "threshold": threshold,
            "destination": destination,
            "tag": tag,
            "signature": signature.hex(),
            "is_primary": primary,
        }

    # ------------------------------------------------------------------ sends

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
                return LoopbackResponse(500, {"error": "injected"})
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
