"""Thin Celery tasks of the project package."""

from __future__ import annotations

from celery import shared_task

from mrmarket.health import BEAT
from mrmarket.services import heartbeat_beat


@shared_task(
    name="system_heartbeat_task",
    acks_late=True,
    ignore_result=True,
    time_limit=30,
    soft_time_limit=25,
)
def system_heartbeat_task() -> None:
    """Beat's proof of life, read by /health/system-status. Running it twice just counts twice."""
    heartbeat_beat(name=BEAT)
