"""Fills: each own trade of a tracked order stored once (`Fill`, unique venue + trade id),
settled in the ledger for an order's session (`ledger.services.fill_settle`, key
`fill:<venue>:<trade id>`) in the same transaction, the tracked order's `filled` advanced,
the session's filled-order delay and engine state moved, and a fully filled order's
partner flagged hanging. Called by the account sync (`strategy.tracking`); the sweeper
settles what an unmapped fee currency or a ledger refusal left unsettled.

Fee assets: the venue's fee currency is mapped to the pair's base or quote asset id when it
is the market's base or quote currency, else through `exchanges.AssetNetwork`.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

import structlog
from django.db import IntegrityError, transaction

from exchanges.models import AssetNetwork
from exchanges.venues.base import OrderSide, VenueTrade
from ledger.services import fill_settle
from mrmarket.exceptions import DomainError, ValidationFailed
from strategy.enums import (
    SessionKind,
    TrackedStatus,
)
from strategy.live import live_order
from strategy.models import Fill, StrategySession, TrackedOrder
from strategy.pmm.parse import pmm_params
from strategy.pmm.state import fill_applied, fill_changes_state
from strategy.quoting.diff import orders_to_hang

log = structlog.get_logger(__name__)
QUOTE_PRECISION = Decimal("0.00000001")  # VenueTrade has no cost: price x amount, truncated


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
    live = [live_order(o) for o in others]
    me = live_order(filled, amount=filled.amount)
    ids = orders_to_hang(live=live, filled=me)
    if ids:
        TrackedOrder.objects.filter(session_id=filled.session_id, client_order_id__in=ids).update(
            hanging=True
        )
