"""strategy: reads — live order counts for the order lifecycle, budgets and commitments for
session runs, and the JSON-ready views the APIs render (intents, history rows, execution
report, the lifecycle bundle's strategy parts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, Q, QuerySet

from exchanges.venues.base import OrderSide
from ledger.selectors import order_balances
from mrmarket.money import money_str
from strategy.enums import INTENT_ACTIVE, IntentKind, IntentStatus, SessionState, TrackedStatus
from strategy.models import Fill, OrderIntent, StrategySession, TrackedOrder

ZERO = Decimal(0)


_money = money_str


def as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# ---------------------------------------------------------------------------- the seam


def session_live_order_count(*, order_id: uuid.UUID | str) -> int:
    """Orders of the order's session live on the venue, or with a place/cancel in flight.

    0 when the order never had a session. The exit waits for 0 before it withdraws.
    """
    session = StrategySession.objects.filter(order_id=as_uuid(order_id)).only("pk").first()
    if session is None:
        return 0
    live = TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN).count()
    in_flight = OrderIntent.objects.filter(session=session, status__in=INTENT_ACTIVE).count()
    return live + in_flight


# ---------------------------------------------------------------------------- commitments


@dataclass(frozen=True)
class Commitments:
    """What a session's orders lock on the venue: base for sells, quote for buys."""

    base: Decimal
    quote: Decimal


def _cost(side: str, price: Decimal, amount: Decimal, fee: Decimal) -> tuple[Decimal, Decimal]:
    if side == OrderSide.BUY:
        return ZERO, price * amount * (1 + max(fee, ZERO))
    return amount, ZERO


def commitments_of(
    *,
    tracked: list[TrackedOrder],
    places: list[OrderIntent],
    maker_fee: Decimal = ZERO,
    hanging_only: bool = False,
) -> Commitments:
    """Pure: what these rows lock. `tracked` may hold open orders and closed ones with
    unsettled venue fills; `places` are place intents in flight."""
    base = quote = ZERO
    for order in tracked:
        if order.status == TrackedStatus.OPEN:
            if hanging_only and not order.hanging:
                continue
            b, q = _cost(order.side, order.price, order.amount - order.filled, maker_fee)
        elif not hanging_only and order.venue_filled > order.filled:
            b, q = _cost(order.side, order.price, order.venue_filled - order.filled, ZERO)
        else:
            continue
        base, quote = base + b, quote + q
    if not hanging_only:
        for intent in places:
            if intent.price is None or intent.amount is None:
                continue
            b, q = _cost(intent.side, intent.price, intent.amount, maker_fee)
            base, quote = base + b, quote + q
    return Commitments(base=base, quote=quote)


def tracked_for_budget(*, session: StrategySession) -> list[TrackedOrder]:
    """The session's open orders and its closed ones with venue fills not settled yet."""
    return list(
        TrackedOrder.objects.filter(session=session).filter(
            Q(status=TrackedStatus.OPEN) | Q(venue_filled__gt=F("filled"))
        )
    )


def session_commitments(
    *, session: StrategySession, maker_fee: Decimal = ZERO, hanging_only: bool = False
) -> Commitments:
    """Locked by the session's live orders (remaining), its places in flight, and fills the
    venue reported that are not settled in the ledger yet."""
    places = list(
        OrderIntent.objects.filter(session=session, kind=IntentKind.PLACE, status__in=INTENT_ACTIVE)
    )
    return commitments_of(
        tracked=tracked_for_budget(session=session),
        places=places,
        maker_fee=maker_fee,
        hanging_only=hanging_only,
    )


def order_budget_available(*, session: StrategySession) -> tuple[Decimal, Decimal]:
    """(base, quote) the session's order holds in the ledger (available)."""
    assert session.order_id is not None
    balances = order_balances(order_id=session.order_id)
    base = balances.get(session.base_asset_id)
    quote = balances.get(session.quote_asset_id)
    return (base.available if base else ZERO, quote.available if quote else ZERO)


# ---------------------------------------------------------------------------- listings


def session_list(*, running_only: bool = False) -> QuerySet[StrategySession]:
    qs = StrategySession.objects.all().order_by("id")
    if running_only:
        qs = qs.filter(state=SessionState.RUNNING)
    return qs


def session_payload(session: StrategySession) -> dict[str, Any]:
    return {
        "id": session.pk,
        "strategyKey": session.strategy_key,
        "strategyType": session.kind,
        "userId": str(session.owner_id) if session.owner_id else None,
        "clientId": session.client_id or (str(session.order_id) if session.order_id else ""),
        "orderId": str(session.order_id) if session.order_id else None,
        "exchangeName": session.exchange_id,
        "exchangeBName": session.exchange_b_id or None,
        "pair": session.symbol,
        "status": session.state,
        "parameters": session.params,
        "nextRunAt": _iso(session.next_run_at),
        "lastRunAt": _iso(session.last_run_at),
        "lastFillAt": _iso(session.last_fill_at),
        "runCount": session.run_count,
        "lastError": session.last_error,
        "createdAt": _iso(session.created_at),
    }


def intent_payload(intent: OrderIntent) -> dict[str, Any]:
    return {
        "id": intent.pk,
        "type": intent.kind,
        "clientOrderId": intent.client_order_id,
        "exchange": intent.exchange_id,
        "accountIndex": intent.account_index,
        "pair": intent.symbol,
        "side": intent.side,
        "level": intent.level,
        "price": _money(intent.price),
        "qty": _money(intent.amount),
        "status": intent.status,
        "reason": intent.reason,
        "attempts": intent.attempts,
        "lastError": intent.last_error,
        "venueOrderId": intent.venue_order_id or None,
        "createdAt": _iso(intent.created_at),
        "updatedAt": _iso(intent.updated_at),
    }


def intents_by_client(
    *, client_id: str, limit: int, user: Any | None = None
) -> list[dict[str, Any]]:
    """Intents of one session, newest first. `client_id` is the session's client id or, for an
    order's session, the order id. `user` None means an operator (no ownership filter)."""
    cond = Q(client_id=client_id)
    try:
        cond |= Q(order_id=uuid.UUID(client_id))
    except ValueError:
        pass
    sessions = StrategySession.objects.filter(cond)
    if user is not None:
        sessions = sessions.filter(Q(owner=user) | Q(order__user=user))
    return [
        intent_payload(i)
        for i in OrderIntent.objects.filter(session__in=sessions).order_by("-id")[:limit]
    ]


def tracked_payload(order: TrackedOrder) -> dict[str, Any]:
    return {
        "clientOrderId": order.client_order_id,
        "exchangeOrderId": order.venue_order_id or None,
        "exchange": order.exchange_id,
        "pair": order.symbol,
        "side": order.side,
        "price": _money(order.price),
        "qty": _money(order.amount),
        "filled": _money(order.filled),
        "status": order.status,
        "hanging": order.hanging,
        "createdAt": _iso(order.created_at),
        "updatedAt": _iso(order.updated_at),
    }


def fill_payload(fill: Fill) -> dict[str, Any]:
    return {
        "tradeId": fill.trade_id,
        "exchange": fill.exchange_id,
        "pair": fill.symbol,
        "side": fill.side,
        "price": _money(fill.price),
        "qty": _money(fill.amount),
        "quoteQty": _money(fill.quote_amount),
        "fee": _money(fill.fee),
        "feeAsset": fill.fee_currency,
        "liquidity": fill.taker_or_maker,
        "clientOrderId": fill.tracked_order.client_order_id,
        "ledgerKey": fill.ledger_key or None,
        "executedAt": _iso(fill.executed_at),
    }


_HISTORY_STATUS = {
    TrackedStatus.OPEN: "open",
    TrackedStatus.CLOSED: "closed",
    TrackedStatus.CANCELED: "canceled",
    TrackedStatus.LOST: "canceled",
}


def order_history_rows(*, order_id: uuid.UUID | str) -> list[dict[str, Any]]:
    """The order's venue orders, newest first: `{amount, price, side, status, executedAt}`.

    `amount` is what executed (for an open order: what rested so far), `executedAt` the last
    fill's time, else when the order was placed. A lost order shows as canceled.
    """
    orders = (
        TrackedOrder.objects.filter(session__order_id=as_uuid(order_id))
        .prefetch_related("fills")
        .order_by("-created_at", "-id")
    )
    rows = []
    for order in orders:
        fills = list(order.fills.all())
        last = max((f.executed_at for f in fills), default=None)
        rows.append(
            {
                "amount": _money(order.filled if order.filled else order.amount),
                "price": _money(order.price),
                "side": order.side,
                "status": _HISTORY_STATUS[TrackedStatus(order.status)],
                "executedAt": _iso(last or order.created_at),
                "clientOrderId": order.client_order_id,
            }
        )
    return rows


def order_lifecycle_parts(*, order_id: uuid.UUID | str) -> dict[str, Any]:
    """The strategy's parts of an order's lifecycle bundle (CONTRACT.md), JSON-ready."""
    session = StrategySession.objects.filter(order_id=as_uuid(order_id)).first()
    if session is None:
        return {"strategyKey": None, "intents": [], "openOrders": [], "history": [], "trades": []}
    intents = OrderIntent.objects.filter(session=session).order_by("-id")[:500]
    open_orders = TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN)
    trades = Fill.objects.filter(session=session).select_related("tracked_order")
    return {
        "strategyKey": session.strategy_key,
        "intents": [intent_payload(i) for i in intents],
        "openOrders": [tracked_payload(o) for o in open_orders.order_by("id")],
        "history": order_history_rows(order_id=order_id),
        "trades": [fill_payload(f) for f in trades.order_by("executed_at", "id")],
    }


def intents_due(*, now: datetime, stale_before: datetime, limit: int = 1000) -> list[int]:
    """Intents the sweeper re-drives: pending and due, or `sending` past the timeout."""
    qs = OrderIntent.objects.filter(
        Q(status=IntentStatus.PENDING, next_attempt_at__lte=now)
        | Q(status=IntentStatus.SENDING, sending_since__lt=stale_before)
    ).order_by("kind", "id")  # "cancel" sorts before "place": cancels go first
    return list(qs.values_list("pk", flat=True)[:limit])


def order_fills(*, order_id: uuid.UUID | str, since: datetime | None = None) -> list[Fill]:
    """The order's fills (oldest first), optionally those executed at or after `since`;
    what HuFi scoring reads (`side`, `taker_or_maker`, `amount`, `price`, `quote_amount`,
    `executed_at`)."""
    fills = Fill.objects.filter(order_id=as_uuid(order_id))
    if since is not None:
        fills = fills.filter(executed_at__gte=since)
    return list(fills.order_by("executed_at", "id"))
