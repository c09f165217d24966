"""Thin, id-only, replay-safe Celery tasks of the order lifecycle."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task

from mrmarket.services import heartbeat_outcome
from orders.custody.base import CustodyError
from orders.services import intake, lifecycle, transfers
from orders.services.reconcile import custody_reconcile
from orders.steps import step_sender_register, step_task_id

# The heartbeat of custody reachability (orders/health.py reads it).
CUSTODY_HEARTBEAT = "custody"


def _token(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@shared_task(
    name="order_step_task", time_limit=120, soft_time_limit=100, acks_late=True, ignore_result=True
)
def order_step_task(order_id: str, token: str | None = None) -> None:
    """Run the due step of one order (a no-op if another worker holds it or it is not due).
    `token`: the queue lease the sweeper queued it with (the step may claim that lease)."""
    lifecycle.order_step(order_id=order_id, token=_token(token))


def _order_step_send(order_id: str, task_id: str) -> None:
    order_step_task.apply_async(args=(order_id,), task_id=task_id)


step_sender_register(_order_step_send)


@shared_task(
    name="custody_transfer_advance_task",
    time_limit=120,
    soft_time_limit=100,
    acks_late=True,
    ignore_result=True,
)
def custody_transfer_advance_task(transfer_id: int, token: str | None = None) -> None:
    """Advance one custody transfer (a no-op unless it is due or holds `token`'s lease)."""
    transfers.transfer_advance(transfer_id=transfer_id, token=_token(token))


@shared_task(
    name="payment_snapshot_process_task",
    time_limit=60,
    soft_time_limit=50,
    acks_late=True,
    ignore_result=True,
)
def payment_snapshot_process_task(snapshot_pk: int) -> None:
    intake.payment_snapshot_process(snapshot_pk=snapshot_pk)


@shared_task(
    name="custody_snapshots_poll_task",
    time_limit=120,
    soft_time_limit=100,
    acks_late=True,
    ignore_result=True,
)
def custody_snapshots_poll_task() -> None:
    """Beat: fetch new snapshots and process each (stored once; processing is idempotent)."""
    try:
        stored = intake.custody_snapshots_poll()
    except CustodyError as exc:
        heartbeat_outcome(name=CUSTODY_HEARTBEAT, ok=False, error=f"{type(exc).__name__}: {exc}")
        raise
    heartbeat_outcome(name=CUSTODY_HEARTBEAT, ok=True)
    for pk in stored:
        payment_snapshot_process_task.delay(pk)


@shared_task(
    name="orders_sweep_task",
    time_limit=120,
    soft_time_limit=100,
    acks_late=True,
    ignore_result=True,
)
def orders_sweep_task() -> None:
    """Beat: queue what is due and not queued already: unprocessed snapshots, order steps
    (a lost message, a poll, a timeout) and custody transfers. Each row is claimed for a
    queue lease first, so a backlog is queued once and a lost message again after its lease."""
    for pk in intake.snapshots_queue_due():
        payment_snapshot_process_task.delay(pk)
    for order_id, state, attempts, token in lifecycle.orders_queue_due():
        order_step_task.apply_async(
            args=(order_id, token), task_id=step_task_id(order_id, state, attempts)
        )
    for transfer_id, token in transfers.transfers_queue_due():
        custody_transfer_advance_task.apply_async(
            args=(transfer_id, token), task_id=f"transfer:{transfer_id}:{token}"
        )


@shared_task(
    name="custody_reconcile_task",
    time_limit=300,
    soft_time_limit=270,
    acks_late=True,
    ignore_result=True,
)
def custody_reconcile_task() -> None:
    """Beat: compare the ledger's custody accounts with the wallet and the venues."""
    custody_reconcile(source="periodic")
