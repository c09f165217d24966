"""The runtime's two doors to the outside: the clock and the venue gateways.

Every strategy module reads time and builds gateways through these functions (called as
`venues.now()`, never imported by name), so a test or a replay can drive the whole runtime
on a simulated clock against a paper venue with the same clock.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from exchanges.services import venue_gateway_get
from exchanges.venues.base import VenueGateway


def now() -> datetime:
    return timezone.now()


def gateway_get(*, exchange_id: str, account_index: int = 0) -> VenueGateway:
    return venue_gateway_get(exchange_id=exchange_id, account_index=account_index)
