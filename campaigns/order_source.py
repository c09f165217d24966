"""The orders as the campaigns app reads them: an explicit seam the orders app fills.

Campaigns sit below orders in the dependency map (`docs/architecture.md`, `.importlinter`):
a participation is keyed by an order, yet the campaigns app never imports the orders app.
It asks an `OrderSource` for the few facts it needs (venue, pair, owner, whether the order
still trades), and the orders app registers its source when Django is ready
(`orders/apps.py`). Nothing here is a signal: the campaigns code calls the source directly,
and a missing registration fails loudly instead of joining nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OrderFacts:
    """One order, as far as campaigns are concerned."""

    order_id: uuid.UUID
    user_id: uuid.UUID
    # The venue's ccxt id (e.g. "binance") and the pair's symbol ("BTC/USDT").
    exchange_id: str
    symbol: str
    state: str
    state_changed_at: datetime
    # Trading or about to (its fills count for the campaigns it joined).
    participating: bool
    # Running or paused: the participations task joins campaigns for it.
    joinable: bool


class OrderSource(Protocol):
    def orders_joinable(self) -> list[OrderFacts]:
        """The orders the participations task joins campaigns for, oldest first."""
        ...

    def orders_get(self, order_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, OrderFacts]:
        """The facts of these orders (unknown ids are absent)."""
        ...


_source: OrderSource | None = None


def order_source_register(source: OrderSource) -> None:
    """Called once by the orders app when Django is ready (and by tests that replace it)."""
    global _source  # noqa: PLW0603 - the one registration point of this seam
    _source = source


def order_source() -> OrderSource:
    if _source is None:
        raise RuntimeError(
            "no order source registered: the orders app registers one in OrdersConfig.ready"
        )
    return _source


def order_facts(order_id: uuid.UUID | str) -> OrderFacts | None:
    """The facts of one order, or None when there is no such order."""
    oid = order_id if isinstance(order_id, uuid.UUID) else uuid.UUID(str(order_id))
    return order_source().orders_get([oid]).get(oid)
