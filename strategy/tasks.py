"""Thin, id-only, replay-safe Celery tasks of the strategy runtime."""

from __future__ import annotations

from celery import shared_task

from strategy import decisions, dispatch, executor, marketdata, runner, services, tick, tracking
from strategy.pmm.guard import sessions_guard


@shared_task(
    name="strategy_tick_task", time_limit=30, soft_time_limit=25, acks_late=True, ignore_result=True
)
def strategy_tick_task() -> None:
    """Beat, every STRATEGY_TICK_MS: claim due sessions under a lease and fan them out.
    The batches first (a run reads the slot's snapshot, or the latest one while the slot's
    refresh is still queued: no run waits behind a slot's fetches), then the market-data
    refreshes — the other way round when the runtime is saturated (`tick.messages`).
    Then, here in the tick and not behind the queued runs, the per-tick checks of every
    running session (`sessions_guard`, never fetching: a pair it priced off an older slot,
    or found without a snapshot, gets a refresh message, so the pairs of sessions not due
    keep fresh prices too). Under overload the checks still run on every tick the tick
    runs."""
    result = tick.strategy_tick()
    for message in tick.messages(result):
        if isinstance(message, tick.MarketNeed):
            market_data_refresh_task.delay(message.exchange_id, message.symbol, message.with_last)
        else:
            strategy_sessions_run_task.delay(message)
    guard = sessions_guard(fetch=False)
    for exchange_id, symbol, with_last in tick.refreshes_for_checks(result, guard.stale):
        market_data_refresh_task.delay(exchange_id, symbol, with_last, False)


@shared_task(
    name="market_data_refresh_task",
    time_limit=20,
    soft_time_limit=15,
    acks_late=True,
    ignore_result=True,
)
def market_data_refresh_task(
    exchange_id: str, symbol: str, with_last: bool = False, record: bool = True
) -> None:
    """Fetch and cache (venue, pair) for the current market-data slot; once per slot
    (a second delivery finds the slot cached or its lock taken and does nothing)."""
    marketdata.market_data_refresh(
        exchange_id=str(exchange_id),
        symbol=str(symbol),
        with_last=bool(with_last),
        record=bool(record),
    )


@shared_task(
    name="strategy_guard_task",
    time_limit=30,
    soft_time_limit=25,
    acks_late=True,
    ignore_result=True,
)
def strategy_guard_task(tick: int | None = None) -> None:
    """(The tick runs the checks itself now; this task stays for messages sent by older
    code and for operators.) The cheap checks (minimum spread, max order age, hanging
    distance, price band) of every running session's open orders, once per tick (a second delivery does nothing).
    A message that waited in the queue checks the tick it runs in, at the prices of now:
    under overload the late messages of several ticks collapse into one check instead of
    each running a stale pass (`tick`, sent by older code, is ignored for that reason)."""
    sessions_guard()


@shared_task(
    name="strategy_sessions_run_task",
    time_limit=60,
    soft_time_limit=50,
    acks_late=True,
    ignore_result=True,
)
def strategy_sessions_run_task(session_ids: list[int]) -> None:
    """Run a batch of claimed sessions (each a no-op without its live lease)."""
    runner.sessions_run(session_ids=[int(i) for i in session_ids])


@shared_task(
    name="order_intent_execute_task",
    time_limit=60,
    soft_time_limit=45,
    acks_late=True,
    ignore_result=True,
)
def order_intent_execute_task(intent_id: int) -> None:
    executor.order_intent_execute(intent_id=int(intent_id))


@shared_task(
    name="venue_account_sync_task",
    time_limit=120,
    soft_time_limit=100,
    acks_late=True,
    ignore_result=True,
)
def venue_account_sync_task(exchange_id: str, account_index: int) -> None:
    """Poll one venue account: own trades (fills settle), open orders, balances."""
    tracking.venue_account_sync(exchange_id=exchange_id, account_index=int(account_index))


@shared_task(
    name="venue_accounts_sync_task",
    time_limit=30,
    soft_time_limit=25,
    acks_late=True,
    ignore_result=True,
)
def venue_accounts_sync_task() -> None:
    """Beat: one sync task per venue account with anything live, unless one is waiting."""
    for exchange_id, account_index in tracking.venue_accounts_active():
        dispatch.account_sync_request(exchange_id=exchange_id, account_index=account_index)


@shared_task(
    name="strategy_sweep_task",
    time_limit=60,
    soft_time_limit=50,
    acks_late=True,
    ignore_result=True,
)
def strategy_sweep_task() -> None:
    """Beat: re-queue intents a lost message or dead worker left; settle unsettled fills."""
    services.strategy_sweep()


@shared_task(
    name="strategy_decisions_prune_task",
    time_limit=600,
    soft_time_limit=540,
    acks_late=True,
    ignore_result=True,
)
def strategy_decisions_prune_task() -> None:
    """Beat, hourly: drop decision records past STRATEGY_DECISION_RETENTION_DAYS (idempotent)."""
    decisions.decision_records_prune()
