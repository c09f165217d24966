"""Tasks of the fake custody (demo and tests only: production never installs this app)."""

from __future__ import annotations

from celery import shared_task

from standins.custody.chain import fake_chain_relay


@shared_task(
    name="fake_chain_relay_task",
    time_limit=60,
    soft_time_limit=50,
    acks_late=True,
    ignore_result=True,
)
def fake_chain_relay_task() -> None:
    """Beat (demo only): carry coins between the fake custody and the paper venue."""
    fake_chain_relay()
