"""The executor: sends one intent through the venue gateway, exactly once on the venue.

1. Claim: a conditional UPDATE moves the intent to `sending` (attempts + 1) and commits
   BEFORE any request leaves, so a worker killed mid-send leaves a `sending` row behind
   that the sweeper re-drives once STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS have passed.
2. Gates (`strategy.gates`): global, per venue, per session in-flight limits; a full gate
   puts the intent back (not an attempt) and re-queues it shortly.
3. Kill switches are read fresh: a halted place is withdrawn (`canceled`), cancels always go.
4. Uncertain outcomes: a place whose earlier attempt may have reached the venue (any
   attempt after the first), or that ended in a timeout, a network error or
   `DuplicateClientOrderId`, is first looked up with `fetch_order(client_order_id=...)`;
   found → recorded, never re-sent; not found → sent again with the same client order id
   (the venue's own duplicate check is the last line of defence).
5. Retries: retryable errors only, with exponential backoff (1, 2, 4 ... s, capped at 60 s),
   at most STRATEGY_INTENT_MAX_ATTEMPTS attempts; final errors fail the intent at once.
   Each intent is independent: a failed intent never blocks any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from exchanges.venues.base import (
    DuplicateClientOrderId,
    FinalVenueError,
    OrderNotFound,
    OrderSide,
    OrderStatus,
    RateLimited,
    RetryableVenueError,
    VenueError,
    VenueGateway,
    VenueNetworkError,
    VenueOrder,
    VenueTimeout,
)
from strategy import gates, risk, venues
from strategy.dispatch import intent_message_taken, intents_enqueue, intents_redrive
from strategy.enums import INTENT_ACTIVE, IntentKind, IntentStatus, SessionState, TrackedStatus
from strategy.intents import ARBITRAGE_REASON, session_cancel_all
from strategy.models import OrderIntent, StrategySession, TrackedOrder
from strategy.selectors import intents_due

log = structlog.get_logger(__name__)

GATE_RETRY_SECONDS = 0.5
UNCERTAIN = (VenueTimeout, VenueNetworkError, DuplicateClientOrderId)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), 60))


@dataclass(frozen=True)
class Claim:
    intent: OrderIntent
    uncertain: bool  # an earlier attempt may have reached the venue


def _claim(intent_id: int, now: datetime) -> Claim | str:
    intent = OrderIntent.objects.filter(pk=intent_id).first()
    if intent is None:
        return "missing"
    stale = now - timedelta(seconds=settings.STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS)
    if intent.status == IntentStatus.PENDING:
        if intent.next_attempt_at > now:
            return "not_due"
        cond = Q(status=IntentStatus.PENDING, next_attempt_at__lte=now)
    elif intent.status == IntentStatus.SENDING:
        if intent.sending_since is not None and intent.sending_since >= stale:
            return "in_flight"  # another executor is on it right now
        cond = Q(status=IntentStatus.SENDING, sending_since=intent.sending_since)
    else:
        return str(intent.status)
    if not gates.acquire(
        intent_id=intent.pk, exchange_id=intent.exchange_id, session_id=intent.session_id
    ):
        return "gated"
    uncertain = intent.status == IntentStatus.SENDING or intent.attempts > 0
    claimed = OrderIntent.objects.filter(Q(pk=intent.pk) & cond).update(
        status=IntentStatus.SENDING, sending_since=now, attempts=F("attempts") + 1
    )
    if not claimed:
        gates.release(
            intent_id=intent.pk, exchange_id=intent.exchange_id, session_id=intent.session_id
        )
        return "raced"
    intent.refresh_from_db()
    return Claim(intent=intent, uncertain=uncertain)


def order_intent_execute(*, intent_id: int) -> str:
    """Act on one intent; returns what happened (for logs and tests). Safe to run twice.
    Its message is taken: the sweeper may re-drive the intent from now on."""
    intent_message_taken(intent_id)
    now = venues.now()
    claim = _claim(intent_id, now)
    if isinstance(claim, str):
        if claim == "gated":
            intents_enqueue(intent_ids=[intent_id], countdown=GATE_RETRY_SECONDS)
        return claim
    intent = claim.intent
    try:
        if intent.kind == IntentKind.CANCEL:
            return _cancel(intent)
        return _place(intent, uncertain=claim.uncertain)
    finally:
        gates.release(
            intent_id=intent.pk, exchange_id=intent.exchange_id, session_id=intent.session_id
        )


def _finish(intent: OrderIntent, status: str, *, error: str = "", venue_order_id: str = "") -> None:
    fields: dict[str, object] = {"status": status, "last_error": error[:1000]}
    if venue_order_id:
        fields["venue_order_id"] = venue_order_id
    OrderIntent.objects.filter(pk=intent.pk, status=IntentStatus.SENDING).update(**fields)


def _retry_or_fail(intent: OrderIntent, exc: VenueError) -> str:
    error = f"{type(exc).__name__}: {exc}"
    if intent.attempts >= settings.STRATEGY_INTENT_MAX_ATTEMPTS:
        _finish(intent, IntentStatus.FAILED, error=f"retries exhausted: {error}")
        log.warning("strategy_intent_failed", intent_id=intent.pk, error=error[:200], final=False)
        return "failed"
    delay = _backoff(intent.attempts)
    if isinstance(exc, RateLimited) and exc.retry_after:
        delay = max(delay, timedelta(seconds=exc.retry_after))
    OrderIntent.objects.filter(pk=intent.pk, status=IntentStatus.SENDING).update(
        status=IntentStatus.PENDING, next_attempt_at=venues.now() + delay, last_error=error[:1000]
    )
    intents_enqueue(intent_ids=[intent.pk], countdown=delay.total_seconds())
    log.info(
        "strategy_intent_retry", intent_id=intent.pk, attempts=intent.attempts, error=error[:200]
    )
    return "retry"


def _gateway(intent: OrderIntent) -> VenueGateway:
    return venues.gateway_get(exchange_id=intent.exchange_id, account_index=intent.account_index)


def _lookup(gw: VenueGateway, intent: OrderIntent) -> VenueOrder | None:
    try:
        return gw.fetch_order(symbol=intent.symbol, client_order_id=intent.client_order_id)
    except OrderNotFound:
        return None


def _place(intent: OrderIntent, *, uncertain: bool) -> str:
    halt = risk.halt_for(
        risk.active_halts(),
        exchange_id=intent.exchange_id,
        symbol=intent.symbol,
        session_id=intent.session_id,
    )
    try:
        gw = _gateway(intent)
        if uncertain:
            # An earlier attempt may have landed: ask before sending anything.
            found = _lookup(gw, intent)
            if found is not None:
                return _record_placed(intent, found, how="found")
        if halt is not None:
            _finish(
                intent,
                IntentStatus.CANCELED,
                error=f"halted ({halt.scope}:{halt.key or '*'}): {halt.reason}",
            )
            return "halted"
        session = (
            StrategySession.objects.filter(pk=intent.session_id).only("state").first()
            if intent.session_id is not None
            else None
        )
        if session is not None and session.state != SessionState.RUNNING:
            _finish(intent, IntentStatus.CANCELED, error=f"session {session.state}")
            return "superseded"
        assert intent.price is not None and intent.amount is not None
        try:
            order = gw.place_limit_order(
                symbol=intent.symbol,
                side=OrderSide(intent.side),
                price=intent.price,
                amount=intent.amount,
                client_order_id=intent.client_order_id,
                # A quote that would take is a stale book: the venue rejects it. Arbitrage legs take.
                post_only=intent.reason != ARBITRAGE_REASON,
            )
        except UNCERTAIN as exc:
            found = _lookup(gw, intent)
            if found is not None:
                return _record_placed(intent, found, how="resolved")
            if isinstance(exc, DuplicateClientOrderId):
                # The venue knows the id yet cannot show it (yet): look again later.
                return _retry_or_fail(intent, VenueNetworkError(str(exc), venue=intent.exchange_id))
            return _retry_or_fail(intent, exc)
        return _record_placed(intent, order, how="placed")
    except RetryableVenueError as exc:
        return _retry_or_fail(intent, exc)
    except FinalVenueError as exc:
        _finish(intent, IntentStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        log.warning("strategy_intent_failed", intent_id=intent.pk, error=str(exc)[:200], final=True)
        return "failed"


_TRACKED_STATUS = {
    OrderStatus.OPEN: TrackedStatus.OPEN,
    OrderStatus.CLOSED: TrackedStatus.CLOSED,
    OrderStatus.CANCELED: TrackedStatus.CANCELED,
    OrderStatus.REJECTED: TrackedStatus.CANCELED,
    OrderStatus.EXPIRED: TrackedStatus.CANCELED,
}


def tracked_order_record(
    *, intent: OrderIntent, order: VenueOrder, now: datetime
) -> TrackedOrder | None:
    """The one writer of a tracked-order row: a place intent's order as the venue reported
    it (the executor after sending, the tracker adopting an order a dead worker sent).
    Unique per (venue, account, client order id): None when that row exists already."""
    status = tracked_status(order.status)
    assert intent.session_id is not None  # places always belong to a session
    try:
        with transaction.atomic():
            return TrackedOrder.objects.create(
                session_id=intent.session_id,
                intent=intent,
                exchange_id=intent.exchange_id,
                account_index=intent.account_index,
                symbol=intent.symbol,
                client_order_id=intent.client_order_id,
                venue_order_id=order.id,
                side=intent.side,
                level=intent.level,
                hanging=intent.hanging,
                price=order.price,
                amount=order.amount,
                venue_filled=order.filled,
                status=status,
                created_at=order.created_at or now,
                closed_at=None if status == TrackedStatus.OPEN else now,
            )
    except IntegrityError:
        return None


def tracked_status(status: OrderStatus) -> str:
    return _TRACKED_STATUS[status]


def _record_placed(intent: OrderIntent, order: VenueOrder, *, how: str) -> str:
    """The venue has the order: track it and close the intent, in one transaction. If the
    session stopped placing meanwhile, cancel it at once."""
    cancel_ids: list[int] = []
    assert intent.session_id is not None  # places always belong to a session
    with transaction.atomic():
        now = venues.now()
        # None: the tracker recorded it first (reconciliation): same order, nothing to add.
        tracked_order_record(intent=intent, order=order, now=now)
        _finish(intent, IntentStatus.SENT, venue_order_id=order.id)
        session = StrategySession.objects.select_for_update().filter(pk=intent.session_id).first()
        if session is not None and session.state != SessionState.RUNNING:
            cancel_ids = session_cancel_all(session=session, reason=f"session {session.state}")
    if cancel_ids:
        transaction.on_commit(lambda: intents_enqueue(intent_ids=cancel_ids))
    log.info(
        "strategy_order_placed",
        intent_id=intent.pk,
        client_order_id=intent.client_order_id,
        venue=intent.exchange_id,
        order_id=order.id,
        how=how,
    )
    return how


def _cancel(intent: OrderIntent) -> str:
    try:
        gw = _gateway(intent)
        try:
            order = gw.cancel_order(symbol=intent.symbol, client_order_id=intent.client_order_id)
        except OrderNotFound:
            # Not open any more (filled or cancelled before us), or never there: ask.
            found = _lookup(gw, intent)
            if found is not None and found.status == OrderStatus.OPEN:
                return _retry_or_fail(intent, VenueNetworkError("cancel not applied yet"))
            if found is None:
                _tracked_not_found(intent)
                _finish(intent, IntentStatus.DONE, error="order not found on the venue")
                return "not_found"
            order = found
        except UNCERTAIN as exc:
            found = _lookup(gw, intent)
            if found is None or found.status == OrderStatus.OPEN:
                return _retry_or_fail(intent, exc)
            order = found
    except RetryableVenueError as exc:
        return _retry_or_fail(intent, exc)
    except FinalVenueError as exc:
        _finish(intent, IntentStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        log.warning("strategy_intent_failed", intent_id=intent.pk, error=str(exc)[:200], final=True)
        return "failed"
    with transaction.atomic():
        tracked_update(
            exchange_id=intent.exchange_id,
            account_index=intent.account_index,
            client_order_id=intent.client_order_id,
            order=order,
        )
        _finish(intent, IntentStatus.DONE, venue_order_id=order.id)
        if intent.session_id is not None:
            # Places this session held back for the budget may go now, not a refresh later.
            StrategySession.objects.filter(
                pk=intent.session_id, state=SessionState.RUNNING, deferred_places=True
            ).update(next_run_at=venues.now(), deferred_places=False)
    log.info(
        "strategy_order_cancelled", intent_id=intent.pk, client_order_id=intent.client_order_id
    )
    return "cancelled"


def tracked_update(
    *, exchange_id: str, account_index: int, client_order_id: str, order: VenueOrder
) -> None:
    """Apply what the venue says about one of our tracked orders (status, venue fill)."""
    status = tracked_status(order.status)
    fields: dict[str, object] = {"venue_filled": order.filled, "not_found_count": 0}
    if status != TrackedStatus.OPEN:
        fields.update(status=status, closed_at=venues.now())
    TrackedOrder.objects.filter(
        exchange_id=exchange_id,
        account_index=account_index,
        client_order_id=client_order_id,
        status=TrackedStatus.OPEN,
    ).update(**fields)


LOST_AFTER = 3  # "an order not found three times is lost" (DESIGN §5)


def _tracked_not_found(intent: OrderIntent) -> None:
    tracked_not_found(
        exchange_id=intent.exchange_id,
        account_index=intent.account_index,
        client_order_id=intent.client_order_id,
    )


def tracked_not_found(*, exchange_id: str, account_index: int, client_order_id: str) -> None:
    qs = TrackedOrder.objects.filter(
        exchange_id=exchange_id,
        account_index=account_index,
        client_order_id=client_order_id,
        status=TrackedStatus.OPEN,
    )
    qs.update(not_found_count=F("not_found_count") + 1)
    lost = qs.filter(not_found_count__gte=LOST_AFTER).update(
        status=TrackedStatus.LOST, closed_at=venues.now()
    )
    if lost:
        log.error("strategy_order_lost", venue=exchange_id, client_order_id=client_order_id)


def intents_sweep() -> int:
    """Re-queue intents a lost message or a dead worker left behind. Returns how many.

    Only intents with no execute message on its way (`intents_redrive`): when the workers
    are behind, an overdue intent is still waiting in the queue, and a copy of it every
    sweep would grow the backlog that made it overdue (the soak, decision 0610)."""
    now = venues.now()
    # Fresh intents are enqueued on commit; only those overdue by a few seconds are swept.
    ids = intents_due(
        now=now - timedelta(seconds=2),
        stale_before=now - timedelta(seconds=settings.STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS),
    )
    return len(intents_redrive(intent_ids=ids))


__all__ = ["INTENT_ACTIVE", "intents_sweep", "order_intent_execute"]
