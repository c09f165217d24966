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
from decimal import ROUND_DOWN, Decimal

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from exchanges.models import AssetNetwork
from exchanges.venues.base import OrderNotFound, OrderSide, VenueGateway, VenueOrder, VenueTrade
from ledger.services import fill_settle
from mrmarket.exceptions import DomainError, ValidationFailed
from strategy import venues
from strategy.dispatch import account_sync_taken, intents_enqueue
from strategy.enums import (
    INTENT_ACTIVE,
    IntentKind,
    IntentStatus,
    SessionKind,
    SessionState,
    TrackedStatus,
)
from strategy.executor import (
    tracked_not_found,
    tracked_order_record,
    tracked_status,
    tracked_update,
)
from strategy.live import balances_cache_key, balances_closed_cache_key, closed_order_count
from strategy.models import Fill, OrderIntent, StrategySession, TrackedOrder, TradeCursor
from strategy.pmm.parse import pmm_params
from strategy.pmm.state import fill_applied, fill_changes_state
from strategy.quoting.diff import orders_to_hang
from strategy.quoting.ids import is_ours
from strategy.quoting.types import LiveOrder

log = structlog.get_logger(__name__)
QUOTE_PRECISION = Decimal("0.00000001")  # VenueTrade has no cost: price x amount, truncated


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


def _fee_asset(session: StrategySession, fill_currency: str, symbol: str) -> str | None:
    base, _, quote = symbol.partition("/")
    if not fill_currency:
        return None
    if fill_currency == base:
        return session.base_asset_id
    if fill_currency == quote:
        return session.quote_asset_id
    network = AssetNetwork.objects.filter(
        exchange_id=session.exchange_id, currency=fill_currency
    ).first()
    return str(network.asset_id) if network else None


def fill_record(*, tracked: TrackedOrder, trade: VenueTrade) -> bool:
    """Store one trade once and settle it; False when it was stored before."""
    with transaction.atomic():
        locked = TrackedOrder.objects.select_for_update().get(pk=tracked.pk)
        session = StrategySession.objects.get(pk=locked.session_id)
        quote_amount = (trade.price * trade.amount).quantize(QUOTE_PRECISION, rounding=ROUND_DOWN)
        try:
            with transaction.atomic():
                fill = Fill.objects.create(
                    exchange_id=locked.exchange_id,
                    account_index=locked.account_index,
                    trade_id=trade.id,
                    tracked_order=locked,
                    session=session,
                    order_id=session.order_id,
                    symbol=locked.symbol,
                    side=trade.side,
                    price=trade.price,
                    amount=trade.amount,
                    quote_amount=quote_amount,
                    fee=trade.fee_cost,
                    fee_currency=trade.fee_currency,
                    fee_asset_id=_fee_asset(session, trade.fee_currency, locked.symbol) or "",
                    taker_or_maker=trade.taker_or_maker,
                    executed_at=trade.timestamp,
                )
        except IntegrityError:
            return False  # stored before: (venue, trade id) is unique
        _settle(fill, session)
        was_complete = locked.filled >= locked.amount
        locked.filled = min(locked.amount, locked.filled + trade.amount)
        locked.venue_filled = max(locked.venue_filled, locked.filled)
        locked.save(update_fields=["filled", "venue_filled", "updated_at"])
        completes = not was_complete and locked.filled >= locked.amount
        _session_fill(session, locked, trade, completes=completes)
        if locked.filled >= locked.amount:
            _hang_partner(locked)
    log.info(
        "strategy_fill_recorded",
        venue=tracked.exchange_id,
        trade_id=trade.id,
        client_order_id=tracked.client_order_id,
        side=str(trade.side),
        amount=str(trade.amount),
    )
    return True


def _session_fill(
    session: StrategySession, order: TrackedOrder, trade: VenueTrade, *, completes: bool
) -> None:
    """The session's side of a newly stored fill, under the session row lock (the lock a
    run holds from reading the row's state to writing it back, so neither loses the other's
    update): a complete fill of a non-hanging order starts the filled-order delay
    (`last_fill_at`: Hummingbot's `c_did_complete_buy_order`; a partial fill never stops
    quoting); for pure market making the stored engine state follows the fill
    (`strategy.pmm.state.fill_applied`: ping-pong counts and last own trade price on a
    complete fill, the inventory cost basis on every fill). The row is locked only when
    something changes."""
    delay = order.filled >= order.amount and not order.hanging
    params = None
    if session.kind == SessionKind.PURE_MARKET_MAKING:
        try:
            params = pmm_params(session.params)
        except ValidationFailed:
            params = None  # the run stops such a session; the fill itself is kept
    moves_state = params is not None and fill_changes_state(
        params, completes=completes, hanging=order.hanging
    )
    if not delay and not moves_state:
        return
    row = (
        StrategySession.objects.select_for_update()
        .filter(pk=session.pk)
        .values_list("last_fill_at", "engine_state")
        .get()
    )
    last_fill_at, engine_state = row
    fields: dict[str, object] = {}
    if delay and (last_fill_at is None or trade.timestamp > last_fill_at):
        fields["last_fill_at"] = trade.timestamp
    if moves_state and params is not None:
        after = fill_applied(
            params,
            engine_state,
            side=OrderSide(trade.side),
            amount=trade.amount,
            price=trade.price,
            order_price=order.price,
            completes=completes,
            hanging=order.hanging,
            symbol=order.symbol,
            fee=trade.fee_cost,
            fee_currency=trade.fee_currency,
            now=trade.timestamp,
        )
        if after != engine_state:
            fields["engine_state"] = after
    if fields:
        StrategySession.objects.filter(pk=session.pk).update(**fields)


def _settle(fill: Fill, session: StrategySession) -> None:
    """Settle in the ledger (order sessions only); a ledger refusal is kept on the fill."""
    if session.order_id is None or fill.ledger_key:
        return
    if fill.fee != 0 and not fill.fee_asset_id:  # a fee or a rebate (negative) needs its asset
        error = f"fee currency {fill.fee_currency!r} maps to no asset of {session.exchange_id}"
        Fill.objects.filter(pk=fill.pk).update(settle_error=error)
        log.error(
            "strategy_fill_fee_unmapped", trade_id=fill.trade_id, fee_currency=fill.fee_currency
        )
        return
    key = f"fill:{fill.exchange_id}:{fill.trade_id}"
    try:
        with transaction.atomic():
            fill_settle(
                idempotency_key=key,
                order_id=session.order_id,
                venue=fill.exchange_id,
                venue_account=str(fill.account_index),
                trade_id=fill.trade_id,
                side=fill.side,
                base_asset=session.base_asset_id,
                quote_asset=session.quote_asset_id,
                base_amount=fill.amount,
                quote_amount=fill.quote_amount,
                fee_asset=fill.fee_asset_id or None,
                fee_amount=fill.fee,
            )
    except DomainError as exc:
        Fill.objects.filter(pk=fill.pk).update(settle_error=str(exc)[:1000])
        log.error("strategy_fill_settle_failed", trade_id=fill.trade_id, error=str(exc)[:200])
        return
    Fill.objects.filter(pk=fill.pk).update(ledger_key=key, settle_error="")
    fill.ledger_key = key


def fills_settle_pending(limit: int = 500) -> int:
    """Retry settling fills a ledger refusal or an unmapped fee currency left unsettled."""
    done = 0
    for fill in Fill.objects.filter(ledger_key="", order__isnull=False).select_related("session")[
        :limit
    ]:
        with transaction.atomic():
            if not fill.fee_asset_id:
                asset = _fee_asset(fill.session, fill.fee_currency, fill.symbol)
                if asset:
                    Fill.objects.filter(pk=fill.pk).update(fee_asset_id=asset)
                    fill.fee_asset_id = asset
            _settle(fill, fill.session)
            done += bool(fill.ledger_key)
    return done


def _hang_partner(filled: TrackedOrder) -> None:
    """Hummingbot's hanging orders: the other side of a fully filled level keeps resting."""
    others = TrackedOrder.objects.filter(
        session_id=filled.session_id, status=TrackedStatus.OPEN
    ).exclude(pk=filled.pk)
    live = [
        LiveOrder(
            client_order_id=o.client_order_id,
            side=OrderSide(o.side),
            level=o.level,
            price=o.price,
            amount=o.amount - o.filled,
            created_at=o.created_at,
            hanging=o.hanging,
        )
        for o in others
    ]
    me = LiveOrder(
        client_order_id=filled.client_order_id,
        side=OrderSide(filled.side),
        level=filled.level,
        price=filled.price,
        amount=filled.amount,
        created_at=filled.created_at,
        hanging=filled.hanging,
    )
    ids = orders_to_hang(live=live, filled=me)
    if ids:
        TrackedOrder.objects.filter(session_id=filled.session_id, client_order_id__in=ids).update(
            hanging=True
        )


# ---------------------------------------------------------------------------- open orders


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
