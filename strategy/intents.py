"""Intent writes: cancels (one active per order, the unique constraint's rule), places
written in bulk for a generation, and the executor kicked after commit.

Runs inside the caller's transaction; nothing is sent for a transaction that rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from exchanges.venues.base import OrderSide
from mrmarket.pg import array_literal, server_cursor
from strategy import venues
from strategy.dispatch import intents_enqueue
from strategy.enums import INTENT_ACTIVE, IntentKind, IntentStatus
from strategy.live import live_of
from strategy.models import OrderIntent, StrategySession
from strategy.quoting.ids import client_order_id, configured_prefix
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


def cancel_intents_bulk(rows: Sequence[CancelRow], *, now: datetime) -> dict[str, int]:
    """Cancel intents for many orders in one insert; an order that already has an active
    cancel keeps it (the partial unique constraint: conflicts are skipped). Returns the
    active cancel of each order (new, or a peer's) by client id, to enqueue on commit."""
    if not rows:
        return {}
    status = _new_status()
    objs = [
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
    ]
    if status == IntentStatus.DRY_RUN:  # recorded only: no active cancel to conflict with
        return {i.client_order_id: i.pk for i in OrderIntent.objects.bulk_create(objs)}
    OrderIntent.objects.bulk_create(objs, ignore_conflicts=True)
    found = OrderIntent.objects.filter(
        kind=IntentKind.CANCEL,
        status__in=INTENT_ACTIVE,
        exchange_id__in={r.exchange_id for r in rows},
        client_order_id__in=[r.client_order_id for r in rows],
    ).values_list("client_order_id", "pk")
    return dict(found)


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


@dataclass(frozen=True, slots=True)
class PlaceRow:
    """One place intent to insert (`places_insert`): a plain row, no model instance."""

    session_id: int
    exchange_id: str
    account_index: int
    symbol: str
    client_order_id: str
    side: str
    level: int
    hanging: bool
    price: Decimal
    amount: Decimal
    generation: int
    status: str
    next_attempt_at: datetime


def place_rows(
    session: StrategySession, quotes: Sequence[DesiredQuote], *, generation: int, now: datetime
) -> list[PlaceRow]:
    """The place intents of one generation of the session's quotes, not written yet."""
    status = _new_status()
    prefix = configured_prefix()
    return [
        PlaceRow(
            session_id=session.pk,
            exchange_id=session.exchange_id,
            account_index=session.account_index,
            symbol=session.symbol,
            client_order_id=client_order_id(
                session_id=session.pk,
                generation=generation,
                side=q.side,
                level=q.level,
                kind="h" if q.hanging else "q",
                prefix=prefix,
            ),
            side=OrderSide(q.side).value,
            level=q.level,
            hanging=q.hanging,
            price=q.price,
            amount=q.amount,
            generation=generation,
            status=status,
            next_attempt_at=now,
        )
        for q in quotes
    ]


# (column, PostgreSQL array type) of a place row, in `PlaceRow` order.
_PLACE_COLUMNS = (
    ("session_id", "bigint"),
    ("exchange_id", "varchar"),
    ("account_index", "smallint"),
    ("symbol", "varchar"),
    ("client_order_id", "varchar"),
    ("side", "varchar"),
    ("level", "smallint"),
    ("hanging", "boolean"),
    ("price", "numeric"),
    ("amount", "numeric"),
    ("generation", "bigint"),
    ("status", "varchar"),
    ("next_attempt_at", "timestamptz"),
)


def places_insert(rows: Sequence[PlaceRow]) -> list[int]:
    """Insert place intents in one statement; their ids, in order. On PostgreSQL one
    `INSERT ... SELECT FROM unnest(<one array per column>)`: no model instances and no
    per-field preparation (the largest part of a run's CPU in the tick profile)."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = OrderIntent.objects.bulk_create(
            [OrderIntent(kind=IntentKind.PLACE, **_fields(r)) for r in rows]
        )
        if all(i.pk for i in created):
            return [i.pk for i in created]
        by_cid = dict(
            OrderIntent.objects.filter(
                kind=IntentKind.PLACE, client_order_id__in=[r.client_order_id for r in rows]
            ).values_list("client_order_id", "pk")
        )
        return [by_cid[r.client_order_id] for r in rows]
    columns = [name for name, _ in _PLACE_COLUMNS]
    arrays = [array_literal([getattr(r, name) for r in rows]) for name in columns]
    at = timezone.now()  # as auto_now_add / auto_now would stamp them
    with server_cursor() as cursor:
        cursor.execute(_PLACES_INSERT, [IntentKind.PLACE.value, at, at, *arrays])
        return [r[0] for r in cursor.fetchall()]


def _places_insert_sql() -> str:
    columns = [name for name, _ in _PLACE_COLUMNS]
    unnest = ", ".join(f"%s::{kind}[]" for _, kind in _PLACE_COLUMNS)
    named = ", ".join(columns)
    return (
        f"INSERT INTO {OrderIntent._meta.db_table} ({named}, kind, reason, attempts, "  # noqa: S608
        "last_error, venue_order_id, created_at, updated_at) "
        f"SELECT {named}, %s, '', 0, '', '', %s, %s FROM unnest({unnest}) "
        f"WITH ORDINALITY AS v({named}, ord) ORDER BY ord RETURNING id"
    )


# Constant text: psycopg converts it once and prepares it after a few calls.
_PLACES_INSERT = _places_insert_sql()


def _fields(row: PlaceRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name, _ in _PLACE_COLUMNS}


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
