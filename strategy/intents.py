"""Intent writes: cancels (one active per order, the unique constraint's rule), places
written in bulk for a generation, and the executor kicked after commit.

Runs inside the caller's transaction; nothing is sent for a transaction that rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from exchanges.venues.base import OrderSide
from strategy import venues
from strategy.dispatch import intents_enqueue
from strategy.enums import INTENT_ACTIVE, IntentKind, IntentStatus
from strategy.live import live_of
from strategy.models import OrderIntent, StrategySession
from strategy.quoting.ids import client_order_id
from strategy.quoting.types import DesiredQuote

ARBITRAGE_REASON = "arbitrage"  # intent.reason of arbitrage legs (takers, not post-only)


def _new_status() -> str:
    return IntentStatus.DRY_RUN if settings.STRATEGY_DRY_RUN else IntentStatus.PENDING


def cancel_intent_create(
    session: StrategySession | None,
    *,
    exchange_id: str,
    account_index: int,
    symbol: str,
    cid: str,
    side: str,
    reason: str,
    now: datetime,
) -> OrderIntent | None:
    """A cancel intent for one order, unless one is already active (unique constraint)."""
    if OrderIntent.objects.filter(
        exchange_id=exchange_id,
        account_index=account_index,
        client_order_id=cid,
        kind=IntentKind.CANCEL,
        status__in=INTENT_ACTIVE,
    ).exists():
        return None
    return OrderIntent.objects.create(
        session=session,
        kind=IntentKind.CANCEL,
        exchange_id=exchange_id,
        account_index=account_index,
        symbol=symbol,
        client_order_id=cid,
        side=side,
        reason=reason,
        status=_new_status(),
        next_attempt_at=now,
    )


@dataclass(frozen=True)
class CancelRow:
    """One order to cancel, as `cancel_intents_bulk` writes it."""

    session_id: int | None
    exchange_id: str
    account_index: int
    symbol: str
    client_order_id: str
    side: str
    reason: str


def cancel_intents_bulk(rows: Sequence[CancelRow], *, now: datetime) -> list[int]:
    """Cancel intents for many orders in one insert; an order that already has an active
    cancel keeps it (the partial unique constraint: conflicts are skipped). Returns the ids
    of the active cancels of these orders (new, or a peer's), to enqueue on commit."""
    if not rows:
        return []
    status = _new_status()
    OrderIntent.objects.bulk_create(
        [
            OrderIntent(
                session_id=r.session_id,
                kind=IntentKind.CANCEL,
                exchange_id=r.exchange_id,
                account_index=r.account_index,
                symbol=r.symbol,
                client_order_id=r.client_order_id,
                side=r.side,
                reason=r.reason,
                status=status,
                next_attempt_at=now,
            )
            for r in rows
        ],
        ignore_conflicts=True,
    )
    if status == IntentStatus.DRY_RUN:
        return []
    return list(
        OrderIntent.objects.filter(
            kind=IntentKind.CANCEL,
            status__in=INTENT_ACTIVE,
            exchange_id__in={r.exchange_id for r in rows},
            client_order_id__in=[r.client_order_id for r in rows],
        ).values_list("pk", flat=True)
    )


def place_withdraw(intent: OrderIntent, *, why: str) -> bool:
    """A place not sent yet is withdrawn; one already being sent is not (it is cancelled
    once it rests). True if it was withdrawn."""
    return bool(
        OrderIntent.objects.filter(pk=intent.pk, status=IntentStatus.PENDING).update(
            status=IntentStatus.CANCELED, last_error=why
        )
    )


def session_cancel_all(*, session: StrategySession, reason: str) -> list[int]:
    """Inside a transaction: cancel intents for every live order of the session; places not
    sent yet are withdrawn at once. Returns the new intents' ids (to enqueue on commit)."""
    now = venues.now()
    view = live_of(session)
    ids = []
    for order in view.tracked:
        if order.client_order_id in view.cancelling:
            continue
        intent = cancel_intent_create(
            session,
            exchange_id=order.exchange_id,
            account_index=order.account_index,
            symbol=order.symbol,
            cid=order.client_order_id,
            side=order.side,
            reason=reason,
            now=now,
        )
        if intent is not None:
            ids.append(intent.pk)
    for place in view.places:
        place_withdraw(place, why=f"superseded: {reason}")
    return ids


def places_write(
    session: StrategySession, quotes: Sequence[DesiredQuote], *, generation: int, now: datetime
) -> list[OrderIntent]:
    """The place intents of one generation of the session's quotes, in one insert."""
    created = OrderIntent.objects.bulk_create(
        [
            OrderIntent(
                session=session,
                kind=IntentKind.PLACE,
                exchange_id=session.exchange_id,
                account_index=session.account_index,
                symbol=session.symbol,
                client_order_id=client_order_id(
                    session_id=session.pk,
                    generation=generation,
                    side=q.side,
                    level=q.level,
                    kind="h" if q.hanging else "q",
                ),
                side=q.side,
                level=q.level,
                hanging=q.hanging,
                price=q.price,
                amount=q.amount,
                generation=generation,
                status=_new_status(),
                next_attempt_at=now,
            )
            for q in quotes
        ]
    )
    if created and not all(i.pk for i in created):  # backends without RETURNING
        by_cid = dict(
            OrderIntent.objects.filter(
                session=session, generation=generation, kind=IntentKind.PLACE
            ).values_list("client_order_id", "pk")
        )
        for intent in created:
            intent.pk = by_cid[intent.client_order_id]
    return created


def leg_place_create(
    session: StrategySession,
    *,
    exchange_id: str,
    account_index: int,
    side: OrderSide,
    level: int,
    price: Decimal,
    amount: Decimal,
    generation: int,
    now: datetime,
) -> OrderIntent:
    """One arbitrage leg (a taker limit order on either venue)."""
    return OrderIntent.objects.create(
        session=session,
        kind=IntentKind.PLACE,
        exchange_id=exchange_id,
        account_index=account_index,
        symbol=session.symbol,
        client_order_id=client_order_id(
            session_id=session.pk, generation=generation, side=side, level=level, kind="a"
        ),
        side=side,
        level=level,
        price=price,
        amount=amount,
        generation=generation,
        reason=ARBITRAGE_REASON,
        status=_new_status(),
        next_attempt_at=now,
    )


def enqueue_on_commit(ids: list[int]) -> None:
    """Send the intents to the executor once the transaction commits (dry runs: never)."""
    if not ids or settings.STRATEGY_DRY_RUN:
        return
    transaction.on_commit(lambda: intents_enqueue(intent_ids=ids))
