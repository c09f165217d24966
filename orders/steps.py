"""Timeouts and scheduling of the order lifecycle's steps.

Every non-terminal state has a step (`orders.services.lifecycle.order_step`) that moves the
order on when the outside world allows. A transition schedules the step of the new state on
commit; the beat sweeper re-drives any order whose `next_step_at` has passed (a worker killed
mid-step loses its message, the row remembers). Each state may have a timeout after which
the step fails the order (and the refund starts) or deletes it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings

from orders.enums import OrderState

S = OrderState

# States whose step needs nobody: it runs at once after the transition.
AUTOMATIC_STATES = {
    S.PAYMENT_COMPLETE,
    S.WITHDRAWING,
    S.WITHDRAWAL_CONFIRMED,
    S.DEPOSIT_CONFIRMING,
    S.DEPOSIT_CONFIRMED,
    S.JOINING_CAMPAIGN,
    S.CAMPAIGN_JOINED,
    S.CREATED,
    S.EXIT_REQUESTED,
    S.EXIT_WITHDRAWING,
    S.EXIT_REFUNDING,
    S.FAILED,
}
# States that wait for the user (a payment, a control) but still time out.
WAITING_STATES = {S.PAYMENT_PENDING, S.PAYMENT_INCOMPLETE}


def timeout_for(state: str) -> timedelta | None:
    seconds = {
        S.PAYMENT_PENDING: settings.ORDER_MEMO_TIMEOUT_SECONDS,
        S.PAYMENT_INCOMPLETE: settings.ORDER_PAYMENT_TIMEOUT_SECONDS,
        S.PAYMENT_COMPLETE: settings.ORDER_HOLD_TIMEOUT_SECONDS,
        S.WITHDRAWING: settings.ORDER_WITHDRAWAL_TIMEOUT_SECONDS,
        S.WITHDRAWAL_CONFIRMED: settings.ORDER_DEPOSIT_TIMEOUT_SECONDS,
        S.DEPOSIT_CONFIRMING: settings.ORDER_DEPOSIT_TIMEOUT_SECONDS,
        S.EXIT_REQUESTED: settings.ORDER_EXIT_TIMEOUT_SECONDS,
        S.EXIT_WITHDRAWING: settings.ORDER_EXIT_TIMEOUT_SECONDS,
        S.EXIT_REFUNDING: settings.ORDER_EXIT_TIMEOUT_SECONDS,
        S.FAILED: settings.ORDER_EXIT_TIMEOUT_SECONDS,
    }.get(S(state))
    return timedelta(seconds=seconds) if seconds is not None else None


def deadline_for(state: str, now: datetime) -> datetime | None:
    timeout = timeout_for(state)
    return now + timeout if timeout is not None else None


def next_step_for(state: str, now: datetime, deadline: datetime | None) -> datetime | None:
    """When the sweeper should first look at an order that just entered `state`."""
    if state in AUTOMATIC_STATES:
        return now
    if state in WAITING_STATES:
        return deadline
    return None


def step_task_id(order_id: UUID | str, state: str, attempt: int) -> str:
    """DESIGN §4: a task id derived from the step (`order:<id>:<step>:<attempt>`)."""
    return f"order:{order_id}:{state}:{attempt}"


# Sends the step task: (order id, task id). `orders.tasks` registers it when imported
# (`OrdersConfig.ready` imports it in every process): the tasks call the services, which
# schedule steps, so this module cannot import the tasks module.
StepSender = Callable[[str, str], None]
_step_sender: StepSender | None = None


def step_sender_register(sender: StepSender) -> None:
    global _step_sender  # noqa: PLW0603 - the one registration point of this seam
    _step_sender = sender


def schedule_step(*, order_id: UUID | str, state: str, attempt: int = 0) -> None:
    """Send the step task of `state` (after commit). The sweeper covers a lost message."""
    if state not in AUTOMATIC_STATES:
        return
    if _step_sender is None:
        raise RuntimeError("no step sender: orders.tasks registers it (OrdersConfig.ready)")
    _step_sender(str(order_id), step_task_id(order_id, state, attempt))
