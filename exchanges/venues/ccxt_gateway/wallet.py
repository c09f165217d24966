"""Balances per wallet, internal transfers, deposits and withdrawals through ccxt.

- Wallets: the profile maps our roles (funding, trading) to ccxt account types; a venue
  with one account for both never transfers (`needs_internal_transfer()` is False).
- Internal transfers and withdrawals are idempotent by our client id, sent in the venue's
  own field (profile); before applying, the gateway asks the venue whether it already has
  one under that id and returns it instead.
- Withdrawal fee: callers pass what leaves the account, fee included; a venue that charges
  the fee on top of the amount it is sent (OKX, Bybit) is sent `amount - fee`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from exchanges.venues.base import (
    Balance,
    DepositAddress,
    InternalTransfer,
    InvalidOrder,
    TransferStatus,
    VenueTransfer,
)
from exchanges.venues.ccxt_gateway import parsing
from exchanges.venues.ccxt_gateway.trading import TradingMixin
from exchanges.venues.profiles import Wallet

log = structlog.get_logger(__name__)


def _rows(response: Any) -> list[Mapping[str, Any]]:
    """The records of an implicit-API answer: OKX `data`, Bybit `result.list`."""
    if isinstance(response, list):
        return response
    if not isinstance(response, Mapping):
        return []
    data = response.get("data")
    if isinstance(data, list):
        return data
    result = response.get("result")
    if isinstance(result, Mapping):
        rows = result.get("list")
        if isinstance(rows, list):
            return rows
    return []


class WalletMixin(TradingMixin):
    def needs_internal_transfer(self) -> bool:
        return self.profile.needs_internal_transfer

    def fetch_balances(self, *, wallet: str | None = None) -> dict[str, Balance]:
        params: dict[str, Any] = {}
        if self.profile.needs_internal_transfer:
            params["type"] = self.profile.wallet(Wallet(wallet or Wallet.TRADING))
        with self._calling("fetch_balances"):
            raw = self.client.fetch_balance(params)
        return parsing.balances(raw)

    # ------------------------------------------------------------------ internal transfers

    def _transfer_id(self, client_id: str) -> str:
        if self.profile.transfer_client_id_format == "uuid":
            return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mrmarket:{self.account}:{client_id}"))
        return client_id

    def _internal_transfer_find(
        self, client_id: str, asset: str, amount: Decimal, from_wallet: str, to_wallet: str
    ) -> InternalTransfer | None:
        lookup = self.profile.transfer_lookup
        if lookup is None:
            return None
        method, param = lookup
        with self._calling("fetch_transfer"):
            rows = _rows(getattr(self.client, method)({param: self._transfer_id(client_id)}))
        if not rows:
            return None
        with self._calling("fetch_transfer"):
            parsed = self.client.parse_transfer(rows[0])
        status = parsed.get("status") or "pending"
        return InternalTransfer(
            id=str(parsed.get("id") or ""),
            client_id=client_id,
            asset=asset,
            amount=parsing.dec(parsed.get("amount")) or amount,
            from_wallet=from_wallet,
            to_wallet=to_wallet,
            status=TransferStatus(status)
            if status in TransferStatus._value2member_map_
            else TransferStatus.PENDING,
        )

    def transfer_internal(
        self, *, asset: str, amount: Decimal, from_wallet: str, to_wallet: str, client_id: str
    ) -> InternalTransfer:
        source = self.profile.wallet(Wallet(from_wallet))
        target = self.profile.wallet(Wallet(to_wallet))
        if amount <= 0:
            raise InvalidOrder(f"transfer amount must be positive, got {amount}", venue=self.venue)
        if source == target:
            # One account for both roles: nothing moves on the venue.
            return InternalTransfer(
                "", client_id, asset, amount, from_wallet, to_wallet, TransferStatus.OK
            )
        existing = self._internal_transfer_find(client_id, asset, amount, from_wallet, to_wallet)
        if existing is not None:
            return existing
        params: dict[str, Any] = {}
        if self.profile.transfer_client_id_param:
            params[self.profile.transfer_client_id_param] = self._transfer_id(client_id)
        with self._calling("transfer_internal"):
            raw = self.client.transfer(asset, str(amount), source, target, params)
        log.info(
            "venue_transfer_applied",
            venue=self.venue,
            account=self.account,
            asset=asset,
            client_id=client_id,
            source=source,
            target=target,
        )
        found = self._internal_transfer_find(client_id, asset, amount, from_wallet, to_wallet)
        if found is not None:
            return found
        status = raw.get("status") or "pending"
        return InternalTransfer(
            id=str(raw.get("id") or ""),
            client_id=client_id,
            asset=asset,
            amount=amount,
            from_wallet=from_wallet,
            to_wallet=to_wallet,
            status=TransferStatus(status)
            if status in TransferStatus._value2member_map_
            else TransferStatus.PENDING,
        )

    # ------------------------------------------------------------------ deposits, withdrawals

    def fetch_deposit_address(self, asset: str, *, network: str | None = None) -> DepositAddress:
        params = {"network": network} if network else {}
        with self._calling("fetch_deposit_address"):
            raw = self.client.fetch_deposit_address(asset, params)
        return DepositAddress(
            asset=asset,
            network=raw.get("network") or network,
            address=raw["address"],
            tag=raw.get("tag") or None,
        )

    def _transfer(self, r: Mapping[str, Any]) -> VenueTransfer:
        return parsing.transfer(r, self.profile.withdraw_client_id_field)

    def fetch_deposits(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]:
        since_ms = int(since.timestamp() * 1000) if since else None
        with self._calling("fetch_deposits"):
            rows = self.client.fetch_deposits(asset, since_ms)
        return [self._transfer(r) for r in rows]

    def fetch_withdrawals(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]:
        since_ms = int(since.timestamp() * 1000) if since else None
        with self._calling("fetch_withdrawals"):
            rows = self.client.fetch_withdrawals(asset, since_ms)
        return [self._transfer(r) for r in rows]

    def _withdrawal_by_client_id(self, asset: str, client_id: str) -> VenueTransfer | None:
        if not self.profile.withdraw_client_id_field:
            return None
        flt = self.profile.withdraw_history_filter
        params = {flt: client_id} if flt else {}
        with self._calling("fetch_withdrawals"):
            rows = self.client.fetch_withdrawals(asset, None, None, params)
        for r in rows:
            transfer = self._transfer(r)
            if transfer.client_id == client_id:
                return transfer
        return None

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
        """Idempotent by `client_id` (see the module docstring)."""
        existing = self._withdrawal_by_client_id(asset, client_id)
        if existing is not None:
            return existing
        send = amount if self.profile.withdraw_fee_inside else amount - fee
        if send <= 0:
            raise InvalidOrder(
                f"withdrawal of {amount} does not cover the fee {fee}", venue=self.venue
            )
        params: dict[str, Any] = dict(self.profile.withdraw_params)
        if self.profile.withdraw_client_id_param:
            params[self.profile.withdraw_client_id_param] = client_id
        if network:
            params["network"] = network
        if tag:
            params["tag"] = tag  # ccxt's unified place for a memo/destination tag
        with self._calling("withdraw"):
            raw = self.client.withdraw(asset, str(send), address, params=params)
        log.info(
            "venue_withdraw_applied",
            venue=self.venue,
            account=self.account,
            asset=asset,
            client_id=client_id,
        )
        found = self._withdrawal_by_client_id(asset, client_id)
        if found is None and raw.get("id") and self.profile.withdraw_id_filter:
            found = self._withdrawal_by_id(asset, str(raw["id"]))
        if found is not None:
            return found
        return self._transfer({**raw, "currency": asset, "amount": str(send)})

    def _withdrawal_by_id(self, asset: str, withdrawal_id: str) -> VenueTransfer | None:
        flt = self.profile.withdraw_id_filter
        assert flt is not None
        with self._calling("fetch_withdrawals"):
            rows = self.client.fetch_withdrawals(asset, None, None, {flt: withdrawal_id})
        return next((self._transfer(r) for r in rows if str(r.get("id")) == withdrawal_id), None)
