"""The blockchain between the two demo stand-ins: fake custody and the paper venue.

In production a custody withdrawal to an exchange's deposit address lands there by itself,
and so does an exchange withdrawal to custody's deposit address. With the fake custody and
the paper venue nothing carries the coins, so this relay does, from the transfers the order
lifecycle persisted: a custody withdrawal confirmed to a paper venue becomes a paper deposit
(by its transaction hash), and a paper withdrawal to custody becomes an on-chain deposit in
the fake wallet. Both ends are idempotent by transaction hash, so relaying twice is harmless.
It does nothing unless `CUSTODY_BACKEND` is `fake`.
"""

from __future__ import annotations

import structlog
from django.conf import settings

from exchanges.enums import ExchangeKind
from exchanges.paper.services import paper_deposit_credit
from orders.enums import TransferPurpose, TransferStatus
from orders.models import CustodyTransfer
from orders.services.moves import venue_gateway_for, venue_route
from standins.custody.gateway import fake_custody_deposit_receive

log = structlog.get_logger(__name__)


def fake_chain_relay() -> int:
    """Deliver every confirmed move between fake custody and a paper venue; returns how many."""
    if settings.CUSTODY_BACKEND != "fake":
        return 0
    delivered = 0
    confirmed = CustodyTransfer.objects.filter(
        status=TransferStatus.CONFIRMED,
        venue_account__exchange__kind=ExchangeKind.PAPER,
        purpose__in=[TransferPurpose.WITHDRAW_TO_VENUE, TransferPurpose.VENUE_TO_CUSTODY],
    ).select_related("order", "venue_account__exchange")
    for transfer in confirmed:
        if not transfer.transaction_hash or transfer.order is None:
            continue
        if transfer.purpose == TransferPurpose.WITHDRAW_TO_VENUE:
            route = venue_route(order=transfer.order, asset_id=transfer.asset_id)
            paper_deposit_credit(
                venue=route.exchange_id,
                account=venue_gateway_for(transfer.order).account,
                asset=route.currency,
                amount=transfer.amount,
                txid=transfer.transaction_hash,
                network=route.network,
                address=transfer.destination,
            )
        else:
            fake_custody_deposit_receive(
                asset_id=transfer.asset_id,
                amount=transfer.amount,
                transaction_hash=transfer.transaction_hash,
            )
        delivered += 1
    if delivered:
        log.info("fake_chain_relayed", count=delivered)
    return delivered
