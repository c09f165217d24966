"""Reads of the Mixin Safe client: snapshots, balances, assets, deposit entries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from cryptography.exceptions import InvalidSignature

from orders.custody.base import (
    AssetInfo,
    CustodyDepositAddress,
    CustodyUnavailable,
    DepositAddressUnverified,
    Snapshot,
    SnapshotPage,
    parse_timestamp,
)
from orders.custody.mixin.common import (
    MAX_PAGE,
    SafeBase,
    _decimal,
    deposit_entry_message,
)

log = structlog.get_logger(__name__)

log = structlog.get_logger(__name__)


class SafeReads(SafeBase):
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

    def wallet_balance(self, *, asset_id: str) -> Decimal:
        return sum(
            (_decimal(row["amount"], "output amount") for row in self._unspent_outputs(asset_id)),
            Decimal(0),
        )

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
