"""A real Celery worker on Redis (the broker of production and CI): tasks and its heartbeat."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from celery import shared_task

from mrmarket import health
from mrmarket.celery import app
from mrmarket.models import Heartbeat
from mrmarket.services import heartbeat_beat


@shared_task(name="heartbeat_roundtrip_task", ignore_result=True)
def heartbeat_roundtrip_task() -> None:
    heartbeat_beat(name="tests-roundtrip")


def _wait_for(predicate, bound: float = 20.0) -> bool:
    deadline = time.monotonic() + bound  # a bound on waiting, not an assertion on speed
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_runs_tasks_and_writes_its_own_heartbeat() -> None:
    from celery.contrib.testing.worker import start_worker

    assert app.conf.broker_url.startswith("redis://")
    queue = f"test-{uuid.uuid4().hex[:8]}"  # a private queue: no other worker can take it
    hostname = f"test-{queue}@localhost"
    with start_worker(
        app,
        pool="threads",
        concurrency=1,
        queues=[queue],
        hostname=hostname,
        perform_ping_check=False,
        shutdown_timeout=10,
    ):
        heartbeat_roundtrip_task.apply_async(queue=queue, headers={"trace_id": "ci-trace"})
        assert _wait_for(lambda: Heartbeat.objects.filter(name="tests-roundtrip").exists())
        row = Heartbeat.objects.get(name=health.WORKER_PREFIX + hostname)
        assert row.payload["stopped"] is False
    # a clean shutdown says so: the worker is "stopped", not "silent"
    row = Heartbeat.objects.get(name=health.WORKER_PREFIX + hostname)
    assert row.payload["stopped"] is True


@pytest.mark.redis
def test_redis_queue_age_is_read_from_the_published_at_header(settings) -> None:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    if client.llen("celery"):
        pytest.skip("the shared celery queue is not empty on this Redis")
    published = time.time() - 60
    client.lpush("celery", json.dumps({"headers": {"published_at": published}, "body": ""}))
    try:
        status = health.broker_status(now_ns=int((published + 50) * 1e9))
    finally:
        client.delete("celery")
    assert status["queues"]["celery"]["waiting"] == 1
    assert 49.9 < status["queues"]["celery"]["oldestAgeSeconds"] < 50.1


def test_every_published_task_carries_its_publication_time(sent_tasks) -> None:
    from celery import signals

    headers: dict = {}
    signals.before_task_publish.send(sender="x", headers=headers)
    assert isinstance(headers["published_at"], float)


def test_celery_app_is_json_only_and_acks_late() -> None:
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.beat_scheduler == "mrmarket.heartbeats:Scheduler"
    assert "mrmarket.heartbeats:WorkerHeartbeat" in app.steps["worker"]
