"""Reads of the paper venue's wallet history."""

from __future__ import annotations

from datetime import datetime

from exchanges.paper.models import PaperDeposit, PaperWithdrawal
from exchanges.venues.base import TransferStatus, VenueTransfer


def deposit_transfer(d: PaperDeposit) -> VenueTransfer:
    return VenueTransfer(
        id=f"dep-{d.pk}",
        asset=d.asset,
        amount=d.amount,
        status=TransferStatus.OK,
        timestamp=d.created_at,
        network=d.network or None,
        address=d.address or None,
        txid=d.txid,
    )


def withdrawal_transfer(w: PaperWithdrawal) -> VenueTransfer:
    return VenueTransfer(
        id=f"wd-{w.pk}",
        asset=w.asset,
        amount=w.amount,
        status=TransferStatus(w.status),
        timestamp=w.created_at,
        network=w.network or None,
        address=w.address,
        tag=w.tag or None,
        txid=w.txid,
        fee=w.fee,
        client_id=w.client_id,
    )


def paper_deposit_list(
    *, venue: str, account: str, asset: str | None = None, since: datetime | None = None
) -> list[VenueTransfer]:
    qs = PaperDeposit.objects.filter(venue=venue, account=account).order_by("created_at", "pk")
    if asset:
        qs = qs.filter(asset=asset)
    if since:
        qs = qs.filter(created_at__gte=since)
    return [deposit_transfer(d) for d in qs]


def paper_withdrawal_list(
    *, venue: str, account: str, asset: str | None = None, since: datetime | None = None
) -> list[VenueTransfer]:
    qs = PaperWithdrawal.objects.filter(venue=venue, account=account).order_by("created_at", "pk")
    if asset:
        qs = qs.filter(asset=asset)
    if since:
        qs = qs.filter(created_at__gte=since)
    return [withdrawal_transfer(w) for w in qs]
