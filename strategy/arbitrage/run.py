"""Arbitrage: two venues. Leftovers of the previous legs are cancelled, a profitable
opportunity (VWAP, net of fees, within both budgets) becomes two limit orders at the worst
level touched. Budgets come from the venue accounts' free balances (operator sessions)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from exchanges.venues.base import OrderSide
from strategy import marketdata, risk, venues
from strategy.dispatch import account_sync_request
from strategy.intents import enqueue_on_commit, leg_place_create, session_cancel_all
from strategy.live import (
    balances_closed_cache_key,
    closed_order_count,
    live_of,
    venue_balances_cached,
)
from strategy.models import StrategySession
from strategy.params import ArbitrageParams
from strategy.quoting.arbitrage import ArbitragePlan, find_arbitrage
from strategy.sessions.lease import lateness_ms, lease_admit, lease_lock, lease_release
from strategy.sessions.locks import pair_lock
from strategy.sessions.outcome import RunOutcome

ZERO = Decimal(0)


def arbitrage_run(session: StrategySession, started: datetime) -> RunOutcome:
    """One claimed arbitrage session in its own transaction."""
    refused = lease_admit(session, session.pk, started)
    if refused is not None:
        return refused
    lateness = lateness_ms(session, started)
    params = ArbitrageParams.from_dto(session.params)
    snap_a = marketdata.snapshot_get(
        exchange_id=session.exchange_id, symbol=session.symbol, tick=session.claimed_tick
    )
    snap_b = marketdata.snapshot_get(
        exchange_id=session.exchange_b_id, symbol=session.symbol, tick=session.claimed_tick
    )
    if snap_a is None or snap_b is None:
        lease_release(session, next_run_at=None, error="market data unavailable this tick")
        return RunOutcome(session_id=session.pk, ran=False, reason="no_market_data")
    with transaction.atomic():
        now = venues.now()
        locked = lease_lock(session, now)
        if locked is None:
            return RunOutcome(session_id=session.pk, ran=False, reason="lease_lost")
        session = locked
        pair_lock(session.exchange_id, session.symbol)
        cancel_ids = session_cancel_all(session=session, reason="arbitrage_leftover")
        view = live_of(session)
        halts = risk.active_halts()
        halt = risk.halt_for(
            halts, exchange_id=session.exchange_id, symbol=session.symbol, session_id=session.pk
        ) or risk.halt_for(
            halts, exchange_id=session.exchange_b_id, symbol=session.symbol, session_id=session.pk
        )
        place_ids: list[int] = []
        generation = session.generation
        balances = (
            _arbitrage_balances(session)
            if not view.tracked and not view.places and halt is None
            else None
        )
        if balances is not None:
            bal_a, bal_b = balances
            ma, mb = snap_a.market, snap_b.market
            plan = find_arbitrage(
                book_a=snap_a.book,
                book_b=snap_b.book,
                market_a=ma,
                market_b=mb,
                fee_a=params.fee_a if params.fee_a is not None else ma.taker_fee,
                fee_b=params.fee_b if params.fee_b is not None else mb.taker_fee,
                order_amount=params.amount_to_trade,
                min_profitability=params.min_profitability,
                budget_a_base=bal_a.get(ma.base, ZERO),
                budget_a_quote=bal_a.get(ma.quote, ZERO),
                budget_b_base=bal_b.get(mb.base, ZERO),
                budget_b_quote=bal_b.get(mb.quote, ZERO),
            )
            if plan is not None:
                generation += 1
                for level, (exchange_id, account_index, side, price, amount) in enumerate(
                    _arbitrage_legs(session, plan)
                ):
                    intent = leg_place_create(
                        session,
                        exchange_id=exchange_id,
                        account_index=account_index,
                        side=OrderSide(side),
                        level=level,
                        price=price,
                        amount=amount,
                        generation=generation,
                        now=now,
                    )
                    place_ids.append(intent.pk)
        StrategySession.objects.filter(pk=session.pk).update(
            lease_until=None,
            lease_token="",
            next_run_at=now + timedelta(seconds=max(settings.STRATEGY_TICK_MS / 1000, 1)),
            last_run_at=now,
            run_count=session.run_count + 1,
            generation=generation,
            last_error=f"halted: {halt.reason}" if halt else "",
        )
        enqueue_on_commit(cancel_ids + place_ids)
    return RunOutcome(
        session_id=session.pk,
        ran=True,
        lateness_ms=lateness,
        places=len(place_ids),
        cancels=len(cancel_ids),
        intent_ids=cancel_ids + place_ids,
    )


def _arbitrage_balances(
    session: StrategySession,
) -> tuple[dict[str, Decimal], dict[str, Decimal]] | None:
    """Both accounts' free balances, if both were read after every one of the accounts'
    orders that is closed now was closed; else None, and a sync of both accounts is queued.

    Planning with balances from before the previous round trip would size a leg the venue can
    no longer fill: it fails while the other leg fills alone (an unhedged position). A sync
    stamps the balances with the account's closed-order count when it read them, so any leg
    closed since (by the sync or by the executor) makes them stale. Missing balances mean
    "not read yet", never zero.
    """
    accounts = [
        (session.exchange_id, session.account_index),
        (session.exchange_b_id, session.account_b_index),
    ]
    found: list[dict[str, Decimal]] = []
    for exchange_id, account_index in accounts:
        free = venue_balances_cached(exchange_id=exchange_id, account_index=account_index)
        stamp = cache.get(balances_closed_cache_key(exchange_id, account_index))
        current = closed_order_count(exchange_id=exchange_id, account_index=account_index)
        if free is None or stamp != current:
            for exchange, index in accounts:
                transaction.on_commit(
                    lambda e=exchange, i=index: account_sync_request(  # type: ignore[misc]  # mypy cannot type a lambda with default arguments (they bind the loop values)
                        exchange_id=e, account_index=i
                    )
                )
            return None
        found.append(free)
    return found[0], found[1]


def _arbitrage_legs(
    session: StrategySession, plan: ArbitragePlan
) -> list[tuple[str, int, str, Decimal, Decimal]]:
    accounts = {
        "a": (session.exchange_id, session.account_index),
        "b": (session.exchange_b_id, session.account_b_index),
    }
    return [
        (*accounts[leg.venue], leg.side, leg.limit_price, leg.amount)
        for leg in (plan.buy, plan.sell)
    ]
