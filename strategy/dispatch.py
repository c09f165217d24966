"""The runtime's outbound messages, sent by task name.

`strategy.tasks` sits on top of the runtime (its tasks call the tick, the runs, the
executor and the tracker), so the runtime cannot import it back. What the runtime needs
from the queue is only "send this message": it looks the task up in the Celery app's
registry by its name. `StrategyConfig.ready()` imports `strategy.tasks`, so the names are
registered in every process (web, worker, beat, management commands); the task objects
are the same ones tests replace `delay`/`apply_async` on.
"""

from __future__ import annotations

from typing import Any

from celery import Task

from mrmarket.celery import app

INTENT_EXECUTE = "order_intent_execute_task"
ACCOUNT_SYNC = "venue_account_sync_task"


def _task(name: str) -> Task[Any, Any]:
    return app.tasks[name]


def intents_enqueue(*, intent_ids: list[int], countdown: float | None = None) -> None:
    """One execute message per intent; `countdown` delays them (gate and backoff retries)."""
    task = _task(INTENT_EXECUTE)
    for intent_id in intent_ids:
        if countdown:
            task.apply_async(args=(intent_id,), countdown=countdown)
        else:
            task.delay(intent_id)


def account_sync_request(*, exchange_id: str, account_index: int) -> None:
    """Poll one venue account (trades, open orders, balances) soon."""
    _task(ACCOUNT_SYNC).delay(exchange_id, account_index)
