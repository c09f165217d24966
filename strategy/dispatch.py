"""The runtime's outbound messages, sent by task name, with at most one waiting per thing.

`strategy.tasks` sits on top of the runtime (its tasks call the tick, the runs, the
executor and the tracker), so the runtime cannot import it back. What the runtime needs
from the queue is only "send this message": it looks the task up in the Celery app's
registry by its name. `StrategyConfig.ready()` imports `strategy.tasks`, so the names are
registered in every process (web, worker, beat, management commands); the task objects
are the same ones tests replace `delay`/`apply_async` on.

Messages that re-drive or poll must not pile up when the workers fall behind (decision
0610, the soak): every execute message leaves a marker in the cache ("a message for this
intent is on its way", with the time it was sent) that the executor clears when it takes
it, and the sweeper re-drives only intents without one, or whose message the queue has
moved past (lost with a killed worker); a venue account has at most one sync waiting (the periodic fan-out
and on-demand requests alike). A lost marker only costs a duplicate message, which every
task is safe to run; a marker outlives a lost message by at most its timeout.
"""

from __future__ import annotations

import time
from typing import Any

from celery import Task
from django.conf import settings
from django.core.cache import cache

from mrmarket.celery import app

INTENT_EXECUTE = "order_intent_execute_task"
ACCOUNT_SYNC = "venue_account_sync_task"
INTENT_QUEUED_KEY = "strategy:intent-queued:{intent_id}"
SYNC_QUEUED_KEY = "strategy:sync-queued:{exchange_id}:{account_index}"


def _task(name: str) -> Task[Any, Any]:
    return app.tasks[name]


def _intent_key(intent_id: int) -> str:
    return INTENT_QUEUED_KEY.format(intent_id=int(intent_id))


def _sync_key(exchange_id: str, account_index: int) -> str:
    return SYNC_QUEUED_KEY.format(exchange_id=exchange_id, account_index=int(account_index))


def intents_enqueue(*, intent_ids: list[int], countdown: float | None = None) -> None:
    """One execute message per intent; `countdown` delays them (gate and backoff retries).
    Each leaves its marker (the time it was sent, written after the send) for at most
    STRATEGY_INTENT_REDRIVE_SECONDS after it is due."""
    task = _task(INTENT_EXECUTE)
    for intent_id in intent_ids:
        if countdown:
            task.apply_async(args=(intent_id,), countdown=countdown)
        else:
            task.delay(intent_id)
        marker = (countdown or 0) + settings.STRATEGY_INTENT_REDRIVE_SECONDS
        cache.set(_intent_key(intent_id), time.time(), timeout=max(int(marker + 0.999), 1))


def intents_redrive(*, intent_ids: list[int]) -> list[int]:
    """The sweeper's re-drive: enqueue only the intents with no message on its way, so a
    backlog never gets a second copy of every overdue intent each sweep. A message is on
    its way while its marker lives and the queue has not moved past it: the oldest message
    still waiting was sent before it (FIFO). A marker older than the oldest waiting message
    (or with nothing waiting) is a message that was taken and lost. Returns the ids sent."""
    if not intent_ids:
        return []
    queued = cache.get_many([_intent_key(i) for i in intent_ids])
    oldest = oldest_waiting_sent_at()
    lost = []
    for intent_id in intent_ids:
        sent_at = queued.get(_intent_key(intent_id))
        waiting = sent_at is not None and oldest is not None and float(sent_at) >= oldest
        if not waiting:
            lost.append(intent_id)
    intents_enqueue(intent_ids=lost)
    return lost


def oldest_waiting_sent_at() -> float | None:
    """When the oldest message still waiting in the execute messages' queue was sent (epoch
    seconds), None when nothing waits (or the broker cannot say)."""
    # deferred: mrmarket.health loads models (AppRegistryNotReady at import), and this
    # module imports before Django's apps are ready; no cycle.
    from mrmarket.health import broker_status

    queue = broker_status()["queues"].get(
        getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery"), {}
    )
    age = queue.get("oldestAgeSeconds")
    return None if age is None else time.time() - float(age)


def intent_message_taken(intent_id: int) -> None:
    """The execute task started: the intent has no message waiting any more."""
    cache.delete(_intent_key(intent_id))


def account_sync_request(*, exchange_id: str, account_index: int) -> bool:
    """Poll one venue account (trades, open orders, balances) soon, unless a sync of it is
    already waiting (it will see everything this one would). True if a message was sent."""
    timeout = max(settings.STRATEGY_SYNC_WAITING_SECONDS, 1)
    if not cache.add(_sync_key(exchange_id, account_index), 1, timeout=timeout):
        return False
    _task(ACCOUNT_SYNC).delay(exchange_id, account_index)
    return True


def account_sync_taken(*, exchange_id: str, account_index: int) -> None:
    """The sync task started: a new request for the account sends a new message."""
    cache.delete(_sync_key(exchange_id, account_index))
