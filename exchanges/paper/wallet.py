"""The paper venue's wallet: one account for deposits, orders and withdrawals (so internal
transfers move nothing), deposits credited by `paper_deposit_credit`, fee-less withdrawals
idempotent by client id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from exchanges.paper.models import PaperBalance
from exchanges.paper.selectors import paper_deposit_list, paper_withdrawal_list
from exchanges.paper.services import paper_deposit_address, paper_withdraw
from exchanges.venues.base import (
    Balance,
    DepositAddress,
    InternalTransfer,
    InvalidOrder,
    TransferStatus,
    VenueTransfer,
)


class PaperWalletMixin:
    venue: str
    account: str

    def needs_internal_transfer(self) -> bool:
        return False

    def fetch_balances(self, *, wallet: str | None = None) -> dict[str, Balance]:
        """One account serves deposits, orders and withdrawals: every wallet is the same."""
        return {
            b.asset: Balance(asset=b.asset, free=b.free, used=b.used, total=b.free + b.used)
            for b in PaperBalance.objects.filter(venue=self.venue, account=self.account).order_by(
                "asset"
            )
        }

    def transfer_internal(
        self, *, asset: str, amount: Decimal, from_wallet: str, to_wallet: str, client_id: str
    ) -> InternalTransfer:
        """Nothing to move between wallets of one account."""
        if amount <= 0:
            raise InvalidOrder(f"transfer amount must be positive, got {amount}", venue=self.venue)
        return InternalTransfer(
            "", client_id, asset, amount, from_wallet, to_wallet, TransferStatus.OK
        )

    def fetch_deposit_address(self, asset: str, *, network: str | None = None) -> DepositAddress:
        return paper_deposit_address(
            venue=self.venue, account=self.account, asset=asset, network=network
        )

    def fetch_deposits(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]:
        return paper_deposit_list(venue=self.venue, account=self.account, asset=asset, since=since)

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
        """Paper withdrawals have no fee: `amount` leaves and arrives."""
        return paper_withdraw(
            venue=self.venue,
            account=self.account,
            asset=asset,
            amount=amount,
            address=address,
            client_id=client_id,
            network=network,
            tag=tag,
        )

    def fetch_withdrawals(
        self, asset: str | None = None, *, since: datetime | None = None
    ) -> list[VenueTransfer]:
        return paper_withdrawal_list(
            venue=self.venue, account=self.account, asset=asset, since=since
        )
