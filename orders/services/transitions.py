"""The one way an order changes state (DESIGN §2).

`order_transition` locks the order row, checks the transition is allowed from the current
state, applies it, writes the `OrderEvent` in the same transaction, and schedules the next
step of the new state on commit. A repeated call whose transition has already happened is
a no-op that returns the order as it is (retries and duplicate deliveries are normal); a
transition that is not allowed from the current state raises `IllegalTransition` (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from mrmarket.exceptions import NotFound
from mrmarket.logging import current_trace_id
from mrmarket.models import User
from orders.exceptions import IllegalTransition
from orders.models import MarketMakingOrder, OrderEvent
from orders.services.payments import payment_state_follow
from orders.steps import deadline_for, next_step_for, schedule_step

log = structlog.get_logger(__name__)


# The verb of a transition in a 409 message: "Cannot resume an order in state exit_complete."
_VERBS = {
    "paused": "pause",
    "resumed": "resume",
    "stopped": "stop",
    "exit_requested": "exit",
    "failed": "fail",
    "refunded": "refund",
    "started": "start",
}


@dataclass(frozen=True)
class TransitionResult:
    order: MarketMakingOrder
    changed: bool
    event: OrderEvent | None


def _targets(order: MarketMakingOrder, name: str) -> set[str]:
    meta = getattr(getattr(type(order), name), "_django_fsm", None)
    if meta is None:
        raise ValueError(f"{name} is not a transition of MarketMakingOrder")
    return {t.target for t in meta.transitions.values()}


def order_lock(*, order_id: UUID | str) -> MarketMakingOrder:
    try:
        order: MarketMakingOrder = MarketMakingOrder.objects.select_for_update().get(pk=order_id)
        return order
    except MarketMakingOrder.DoesNotExist as exc:
        raise NotFound(f"Order {order_id} not found.") from exc


def order_transition(
    *,
    order: MarketMakingOrder,
    name: str,
    trigger: str,
    actor: User | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    task_id: str = "",
    now: datetime | None = None,
) -> TransitionResult:
    """Apply transition `name` to an order the caller has locked (see `order_lock`).

    Must run inside the caller's transaction so the caller's other writes (ledger entries,
    custody intents) commit or roll back with the state change.
    """
    assert transaction.get_connection().in_atomic_block, "order_transition needs a transaction"
    targets = _targets(order, name)
    if order.state in targets and len(targets) == 1:
        return TransitionResult(order=order, changed=False, event=None)
    method = getattr(order, name)
    if not can_proceed(method):
        raise IllegalTransition(
            f"Cannot {_VERBS.get(name, name.replace('_', ' '))} an order in state {order.state}.",
            payload={"state": order.state, "transition": name},
        )
    now = now or timezone.now()
    from_state = order.state
    method()
    order.state_changed_at = now
    order.deadline_at = deadline_for(order.state, now)
    order.next_step_at = next_step_for(order.state, now, order.deadline_at)
    order.step_attempts = 0
    if reason and order.state == "failed":
        order.failure_reason = reason
    order.save()
    payment_state_follow(order=order, transition_name=name)
    event = OrderEvent.objects.create(
        order=order,
        from_state=from_state,
        to_state=order.state,
        trigger=trigger,
        task_id=task_id,
        trace_id=current_trace_id() or "",
        actor=actor,
        reason=reason,
        payload=payload or {},
    )
    log.info(
        "order_transitioned",
        order_id=str(order.pk),
        from_state=from_state,
        to_state=order.state,
        trigger=trigger,
    )
    order_id, state = order.pk, order.state
    transaction.on_commit(lambda: schedule_step(order_id=order_id, state=state))
    return TransitionResult(order=order, changed=True, event=event)
