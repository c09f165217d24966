"""Thin, id-only, replay-safe Celery tasks of the order lifecycle."""

from __future__ import annotations

from celery import shared_task

from mrmarket.services import heartbeat_outcome
from orders.custody.base import CustodyError
from orders.services import intake, lifecycle
from orders.steps import step_task_id

# The heartbeat of custody reachability (orders/health.py reads it).
CUSTODY_HEARTBEAT = "custody"


@shared_task(
    name="order_step_task", time_limit=120, soft_time_limit=100, acks_late=True, ignore_result=True
)
def order_step_task(order_id: str) -> None:
    """Run the due step of one order (a no-op if another worker holds it or it is not due)."""
    lifecycle.order_step(order_id=order_id)


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
    """Beat: re-drive what a lost message or a crash left behind, and every due poll/timeout."""
    for pk in intake.snapshots_due():
        payment_snapshot_process_task.delay(pk)
    for order_id, state, attempts in lifecycle.orders_due():
        order_step_task.apply_async(
            args=(order_id,), task_id=step_task_id(order_id, state, attempts)
        )


@shared_task(
    name="fake_chain_relay_task",
    time_limit=60,
    soft_time_limit=50,
    acks_late=True,
    ignore_result=True,
)
def fake_chain_relay_task() -> None:
    """Beat (demo only): carry coins between the fake custody and the paper venue."""
    from orders.custody.fake_chain import fake_chain_relay

    fake_chain_relay()


@shared_task(
    name="custody_reconcile_task",
    time_limit=300,
    soft_time_limit=270,
    acks_late=True,
    ignore_result=True,
)
def custody_reconcile_task() -> None:
    """Beat: compare the ledger's custody accounts with the wallet and the venues."""
    from orders.services.reconcile import custody_reconcile

    custody_reconcile()
