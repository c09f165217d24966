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
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from nacl import bindings as sodium

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse, LoopbackServer
from orders.custody.base import format_timestamp, parse_timestamp
from orders.custody.mixin.auth import verify_token
from orders.custody.mixin.client import deposit_entry_message, members_hash
from standins.mixin.common import (
    MIXIN_ERRORS,
    EmulatedOutput,
    _Fault,
    _random_point,
    _random_scalar,
    kernel_asset,
    mixin_error,
)
from standins.mixin.sends import SafeSendsMixin

__all__ = ["EmulatedOutput", "MixinSafeEmulator", "kernel_asset", "mixin_error"]

_ENTRY_NAMESPACE = uuid.UUID("0b6f3c1e-27d4-4a59-8c1b-5e9a2d7f4c60")


class MixinSafeEmulator(SafeSendsMixin, LoopbackServer):
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
        # chain -> how many more deposit-entry calls answer 10104 "address generating".
        self.generating_chains: dict[str, int] = {}
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
            self.generating_chains.clear()
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
                    return mixin_error(fault.code, fault.description or None)
                if fault.status in MIXIN_ERRORS:  # 500, or a 429 from the front proxy
                    return LoopbackResponse(
                        fault.status,
                        {
                            "error": {
                                "status": fault.status,
                                "code": fault.status,
                                "description": MIXIN_ERRORS[fault.status][1],
                            }
                        },
                    )
                # Not Mixin's API (a proxy or load balancer in front): no envelope.
                return LoopbackResponse(fault.status, {"error": "injected"})
            if not self._authorized(request):
                return mixin_error(401)
            response: LoopbackResponse = handler(request)
            return response

        return run

    def dispatch(self, request: LoopbackRequest) -> LoopbackResponse:
        response = super().dispatch(request)
        if response.status == 404 and "path" in (response.body or {}):
            return mixin_error(404)  # an unknown endpoint: Mixin's 404 on HTTP 202
        return response

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
        with self.lock:
            if self.generating_chains.get(chain_id, 0) > 0:
                # Mixin makes a chain's address on first request: 10104 until it exists.
                self.generating_chains[chain_id] -= 1
                return mixin_error(10104)
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
