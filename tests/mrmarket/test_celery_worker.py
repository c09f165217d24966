"""A task through a real Celery worker on Redis (the broker of production and CI)."""

from __future__ import annotations

import time
import uuid

import pytest

from mrmarket.celery import app
from mrmarket.models import Heartbeat
from mrmarket.tasks import system_heartbeat_task


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_heartbeat_task_runs_through_a_real_worker_on_redis() -> None:
    from celery.contrib.testing.worker import start_worker

    assert app.conf.broker_url.startswith("redis://")
    queue = f"test-{uuid.uuid4().hex[:8]}"  # a private queue: no other worker can take it
    with start_worker(
        app,
        pool="threads",
        concurrency=1,
        queues=[queue],
        perform_ping_check=False,
        shutdown_timeout=10,
    ):
        system_heartbeat_task.apply_async(queue=queue, headers={"trace_id": "ci-trace"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not Heartbeat.objects.filter(name="beat").exists():
            time.sleep(0.1)
    beat = Heartbeat.objects.get(name="beat")
    assert beat.count == 1


def test_celery_app_is_json_only_and_acks_late() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert "system-heartbeat" in app.conf.beat_schedule
