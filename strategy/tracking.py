"""Tracking: what our orders really did on the venue.

Per venue account (`venue_account_sync`, beat every STRATEGY_SYNC_SECONDS, and on session
start as the reconciliation), per market the account trades:

- **Own trades** since the account's `TradeCursor`: each becomes one `Fill` (unique
  venue + trade id) and, for an order's session, one ledger entry
  (`ledger.services.fill_settle`, key `fill:<venue>:<trade id>`) in the same transaction
  that stores it and advances the tracked order's `filled`. Replays are no-ops. A trade of
  an order we are still recording (its place intent in flight) holds the cursor back.
- **Open orders**: a tracked order missing from the venue's open list is looked up by
  client id: closed/cancelled → recorded; not found → counted, lost at the third miss. An
  open order carrying our client-id prefix that we track under no intent is an orphan and is
  cancelled; one whose place intent never got recorded (a worker died after sending) is
  adopted — tracked and its intent closed — which is how a restart reconciles.
- **Balances**: free balances per currency are cached for sessions without an order.

Fee assets: the venue's fee currency is mapped to the pair's base or quote asset id when it
is the market's base or quote currency, else through `exchanges.AssetNetwork` (the venue's
currency code of a registered asset, e.g. BNB). An unmapped fee currency leaves the fill
stored but unsettled (`settle_error`), logged as an error; the sweeper settles it once the
operator registers the asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from exchanges.venues.base import OrderNotFound, VenueGateway, VenueOrder, VenueTrade
from strategy import venues
from strategy.dispatch import account_sync_taken, intents_enqueue
from strategy.enums import (
    INTENT_ACTIVE,
    IntentKind,
    IntentStatus,
    SessionState,
    TrackedStatus,
)
from strategy.executor import (
    tracked_not_found,
    tracked_order_record,
    tracked_status,
    tracked_update,
)
from strategy.fills import fill_record, fills_settle_pending
from strategy.live import balances_cache_key, balances_closed_cache_key, closed_order_count
from strategy.models import OrderIntent, StrategySession, TrackedOrder, TradeCursor
from strategy.quoting.ids import is_ours

log = structlog.get_logger(__name__)


@dataclass
class SyncResult:
    fills: int = 0
    closed: int = 0
    adopted: int = 0
    orphans_cancelled: int = 0


def venue_accounts_active() -> list[tuple[str, int]]:
    """Venue accounts with a live session, a live order or an intent in flight."""
    accounts: set[tuple[str, int]] = set()
    for ex, idx, ex_b, idx_b in StrategySession.objects.exclude(
        state=SessionState.STOPPED
    ).values_list("exchange_id", "account_index", "exchange_b_id", "account_b_index"):
        accounts.add((ex, idx))
        if ex_b:
            accounts.add((ex_b, idx_b))
    accounts |= set(
        TrackedOrder.objects.filter(status=TrackedStatus.OPEN)
        .values_list("exchange_id", "account_index")
        .distinct()
    )
    accounts |= set(
        OrderIntent.objects.filter(status__in=INTENT_ACTIVE)
        .values_list("exchange_id", "account_index")
        .distinct()
    )
    return sorted(accounts)


def _symbols(exchange_id: str, account_index: int) -> list[str]:
    symbols = set(
        StrategySession.objects.exclude(state=SessionState.STOPPED)
        .filter(
            Q(exchange_id=exchange_id, account_index=account_index)
            | Q(exchange_b_id=exchange_id, account_b_index=account_index)
        )
        .values_list("symbol", flat=True)
    )
    for model, cond in (
        (TrackedOrder, Q(status=TrackedStatus.OPEN) | Q(filled__lt=F("venue_filled"))),
        (OrderIntent, Q(status__in=INTENT_ACTIVE)),
    ):
        symbols |= set(
            model.objects.filter(cond, exchange_id=exchange_id, account_index=account_index)
            .values_list("symbol", flat=True)
            .distinct()
        )
    return sorted(symbols)


def venue_account_sync(*, exchange_id: str, account_index: int) -> SyncResult:
    # This sync is under way: a request from now on sends a new one (strategy.dispatch).
    account_sync_taken(exchange_id=exchange_id, account_index=account_index)
    result = SyncResult()
    gw = venues.gateway_get(exchange_id=exchange_id, account_index=account_index)
    for symbol in _symbols(exchange_id, account_index):
        _trades_sync(gw, exchange_id, account_index, symbol, result)
        _orders_sync(gw, exchange_id, account_index, symbol, result)
    fills_settle_pending()
    # Balances last, stamped with how many of the account's orders were closed when they were
    # asked for: an arbitrage run plans only while that count is unchanged, i.e. with balances
    # that already reflect every closed leg (strategy.arbitrage.run._arbitrage_balances).
    try:
        closed = closed_order_count(exchange_id=exchange_id, account_index=account_index)
        free = {asset: str(b.free) for asset, b in gw.fetch_balances().items()}
        cache.set(balances_cache_key(exchange_id, account_index), free, timeout=300)
        cache.set(balances_closed_cache_key(exchange_id, account_index), closed, timeout=300)
    except Exception as exc:  # noqa: BLE001 - balances are advisory; trades/orders still sync
        log.warning("strategy_balances_failed", venue=exchange_id, error=str(exc)[:200])
    return result


# ---------------------------------------------------------------------------- trades


def _trades_sync(
    gw: VenueGateway, exchange_id: str, account_index: int, symbol: str, result: SyncResult
) -> None:
    cursor, _ = TradeCursor.objects.get_or_create(
        exchange_id=exchange_id, account_index=account_index, symbol=symbol
    )
    trades = sorted(gw.fetch_my_trades(symbol, since=cursor.since), key=lambda t: t.timestamp)
    newest: datetime | None = cursor.since
    held: datetime | None = None
    for trade in trades:
        tracked = _tracked_for(gw, exchange_id, account_index, trade, result)
        if tracked is None:
            if (
                trade.client_order_id
                and is_ours(trade.client_order_id)
                and OrderIntent.objects.filter(
                    exchange_id=exchange_id,
                    account_index=account_index,
                    client_order_id=trade.client_order_id,
                    kind=IntentKind.PLACE,
                ).exists()
            ):
                held = trade.timestamp if held is None else min(held, trade.timestamp)
            continue
        if fill_record(tracked=tracked, trade=trade):
            result.fills += 1
        newest = trade.timestamp if newest is None else max(newest, trade.timestamp)
    target = newest if held is None else min(held, newest or held)
    if target is not None and (cursor.since is None or target > cursor.since):
        TradeCursor.objects.filter(pk=cursor.pk).update(since=target)


def _tracked_for(
    gw: VenueGateway, exchange_id: str, account_index: int, trade: VenueTrade, result: SyncResult
) -> TrackedOrder | None:
    qs = TrackedOrder.objects.filter(exchange_id=exchange_id, account_index=account_index)
    tracked = None
    if trade.client_order_id:
        tracked = qs.filter(client_order_id=trade.client_order_id).first()
    if tracked is None and trade.order_id:
        tracked = qs.filter(venue_order_id=trade.order_id).first()
    if tracked is None and trade.client_order_id:
        tracked = _adopt(
            gw, exchange_id, account_index, trade.symbol, trade.client_order_id, result
        )
    return tracked


def _adopt(
    gw: VenueGateway,
    exchange_id: str,
    account_index: int,
    symbol: str,
    cid: str,
    result: SyncResult,
) -> TrackedOrder | None:
    """The venue has an order of one of our place intents that was never recorded (the
    sending worker died): track it now and close the intent."""
    intent = OrderIntent.objects.filter(
        exchange_id=exchange_id,
        account_index=account_index,
        client_order_id=cid,
        kind=IntentKind.PLACE,
    ).first()
    if intent is None or intent.session_id is None:
        return None
    if intent.status == IntentStatus.SENDING:
        stale = venues.now() - _sending_timeout()
        if intent.sending_since is not None and intent.sending_since > stale:
            return None  # its executor may be recording it right now
    try:
        order = gw.fetch_order(symbol=symbol, client_order_id=cid)
    except OrderNotFound:
        return None
    with transaction.atomic():
        tracked = tracked_order_record(intent=intent, order=order, now=venues.now())
        if tracked is None:
            return TrackedOrder.objects.filter(
                exchange_id=exchange_id, account_index=account_index, client_order_id=cid
            ).first()
        OrderIntent.objects.filter(pk=intent.pk).exclude(status=IntentStatus.SENT).update(
            status=IntentStatus.SENT, venue_order_id=order.id, last_error="adopted by the tracker"
        )
    result.adopted += 1
    log.warning(
        "strategy_order_adopted", venue=exchange_id, client_order_id=cid, intent_id=intent.pk
    )
    return tracked


def _sending_timeout() -> timedelta:
    return timedelta(seconds=settings.STRATEGY_INTENT_SENDING_TIMEOUT_SECONDS)


def _unchanged(tracked: TrackedOrder, seen: VenueOrder) -> bool:
    """The venue shows the order open, filled as far as we know and found: nothing to write."""
    return (
        tracked_status(seen.status) == TrackedStatus.OPEN
        and seen.filled == tracked.venue_filled
        and tracked.not_found_count == 0
    )


def _orders_sync(
    gw: VenueGateway, exchange_id: str, account_index: int, symbol: str, result: SyncResult
) -> None:
    open_orders = {o.client_order_id: o for o in gw.fetch_open_orders(symbol) if o.client_order_id}
    tracked = list(
        TrackedOrder.objects.filter(
            exchange_id=exchange_id,
            account_index=account_index,
            symbol=symbol,
            status=TrackedStatus.OPEN,
        )
    )
    known = {t.client_order_id for t in tracked}
    for order in tracked:
        seen = open_orders.get(order.client_order_id)
        if seen is not None:
            if _unchanged(order, seen):
                continue  # no write: most syncs see every resting order as it was
            tracked_update(
                exchange_id=exchange_id,
                account_index=account_index,
                client_order_id=order.client_order_id,
                order=seen,
            )
            continue
        try:
            found = gw.fetch_order(symbol=symbol, client_order_id=order.client_order_id)
        except OrderNotFound:
            tracked_not_found(
                exchange_id=exchange_id,
                account_index=account_index,
                client_order_id=order.client_order_id,
            )
            continue
        tracked_update(
            exchange_id=exchange_id,
            account_index=account_index,
            client_order_id=order.client_order_id,
            order=found,
        )
        result.closed += found.status != "open"
    for cid, venue_order in open_orders.items():
        if cid in known or not is_ours(cid):
            continue
        if _adopt(gw, exchange_id, account_index, symbol, cid, result) is not None:
            continue
        if OrderIntent.objects.filter(
            exchange_id=exchange_id,
            account_index=account_index,
            client_order_id=cid,
            kind=IntentKind.PLACE,
        ).exists():
            continue  # an intent being sent right now: not an orphan
        intent, created = _orphan_cancel(
            exchange_id, account_index, symbol, cid, str(venue_order.side)
        )
        if created:
            result.orphans_cancelled += 1
            intents_enqueue(intent_ids=[intent.pk])


def _orphan_cancel(
    exchange_id: str, account_index: int, symbol: str, cid: str, side: str
) -> tuple[OrderIntent, bool]:
    """Our prefix, no session owns it: cancel it (an order left by a lost database, a copy
    of the deployment, or a bug — never leave an order we cannot account for resting)."""
    existing = OrderIntent.objects.filter(
        exchange_id=exchange_id,
        account_index=account_index,
        client_order_id=cid,
        kind=IntentKind.CANCEL,
        status__in=INTENT_ACTIVE,
    ).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            intent = OrderIntent.objects.create(
                session=None,
                kind=IntentKind.CANCEL,
                exchange_id=exchange_id,
                account_index=account_index,
                symbol=symbol,
                client_order_id=cid,
                side=side,
                reason="orphan",
                next_attempt_at=venues.now(),
            )
    except IntegrityError:
        return OrderIntent.objects.get(
            exchange_id=exchange_id,
            account_index=account_index,
            client_order_id=cid,
            kind=IntentKind.CANCEL,
            status__in=INTENT_ACTIVE,
        ), False
    log.warning("strategy_orphan_cancel", venue=exchange_id, client_order_id=cid)
    return intent, True
