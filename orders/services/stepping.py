"""What every step of the order lifecycle shares: polling again later, the deadline, and a
transition that re-checks the state the step saw under the order's lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import MarketMakingOrder
from orders.services.transitions import order_lock, order_transition


class StepFailure(Exception):
    """The step cannot succeed for this order (not a passing outage): fail the order."""


def poll_later(order: MarketMakingOrder, *, seconds: int | None = None) -> None:
    """Look again in a while (the lease is replaced by the poll time)."""
    delay = settings.ORDER_STEP_POLL_SECONDS if seconds is None else seconds
    when = timezone.now() + timedelta(seconds=delay)
    MarketMakingOrder.objects.filter(pk=order.pk, state=order.state).update(next_step_at=when)


def past_deadline(order: MarketMakingOrder) -> bool:
    return order.deadline_at is not None and timezone.now() >= order.deadline_at


def step_transition(
    order_id: UUID,
    name: str,
    trigger: str,
    *,
    expect: str,
    reason: str = "",
    payload: dict[str, object] | None = None,
    extra: Callable[[MarketMakingOrder], None] | None = None,
) -> bool:
    """Lock, re-check the state the step saw, run `extra` (ledger, intents), transition."""
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.state != expect:
            return False
        if extra is not None:
            extra(order)
        order_transition(order=order, name=name, trigger=trigger, reason=reason, payload=payload)
    return True
