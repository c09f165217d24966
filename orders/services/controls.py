"""The user's and operator's controls: pause, resume, stop, exit, and the operator's fail.

Idempotent: a control whose effect already holds answers with the order as it is (pausing a
paused order is fine); a control that is not allowed from the current state is a 409 naming
the state. Each runs in one transaction with the strategy seam call, so the session and the
order state change together; the session's cancels go out after commit.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.db import transaction

from mrmarket.audit import audit_record
from mrmarket.models import User
from orders.enums import OrderState
from orders.models import MarketMakingOrder
from orders.services import seams
from orders.services.transitions import order_lock, order_transition

S = OrderState
_EXITING = {S.EXIT_REQUESTED, S.EXIT_WITHDRAWING, S.EXIT_REFUNDING, S.EXIT_COMPLETE}


def _control(
    *,
    order_id: UUID | str,
    name: str,
    trigger: str,
    actor: User | None,
    reason: str,
    already: set[OrderState] | set[str],
    seam: Callable[[MarketMakingOrder], None] | None,
    audit: bool = False,
) -> MarketMakingOrder:
    with transaction.atomic():
        order = order_lock(order_id=order_id)
        if order.state in already:
            return order
        result = order_transition(
            order=order, name=name, trigger=trigger, actor=actor, reason=reason
        )
        if result.changed and seam is not None:
            seam(order)
        if audit:
            audit_record(
                action=f"order.{name}",
                actor=actor,
                target_type="order",
                target_id=str(order.pk),
                reason=reason,
            )
    return order


def order_pause(*, order_id: UUID | str, actor: User | None, reason: str = "") -> MarketMakingOrder:
    return _control(
        order_id=order_id,
        name="paused",
        trigger="order.paused",
        actor=actor,
        reason=reason,
        already={S.PAUSED},
        seam=lambda o: seams.session_pause(order=o),
        audit=bool(actor and actor.is_staff),
    )


def order_resume(
    *, order_id: UUID | str, actor: User | None, reason: str = ""
) -> MarketMakingOrder:
    return _control(
        order_id=order_id,
        name="resumed",
        trigger="order.resumed",
        actor=actor,
        reason=reason,
        already={S.RUNNING},
        seam=lambda o: seams.session_resume(order=o),
        audit=bool(actor and actor.is_staff),
    )


def order_stop(*, order_id: UUID | str, actor: User | None, reason: str = "") -> MarketMakingOrder:
    return _control(
        order_id=order_id,
        name="stopped",
        trigger="order.stopped",
        actor=actor,
        reason=reason,
        already={S.STOPPED},
        seam=lambda o: seams.session_stop(order=o),
        audit=bool(actor and actor.is_staff),
    )


def order_exit(*, order_id: UUID | str, actor: User | None, reason: str = "") -> MarketMakingOrder:
    """Ask for the money back: trading stops, the venue balance returns, the user is refunded."""
    return _control(
        order_id=order_id,
        name="exit_requested",
        trigger="order.exit_requested",
        actor=actor,
        reason=reason,
        already=_EXITING,
        seam=lambda o: seams.session_stop(order=o),
        audit=bool(actor and actor.is_staff),
    )


def order_fail(*, order_id: UUID | str, actor: User, reason: str) -> MarketMakingOrder:
    """Operator: fail an order stuck before trading; its money is returned (the failed step)."""
    return _control(
        order_id=order_id,
        name="failed",
        trigger="order.failed_by_operator",
        actor=actor,
        reason=reason,
        already={S.FAILED, S.REFUNDED},
        seam=None,
        audit=True,
    )
