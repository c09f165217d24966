"""Heartbeats written by beat and by each worker themselves, read by `/health/system-status`.

- Beat: `Scheduler` is django-celery-beat's database scheduler whose `tick()` (beat's own
  loop) writes the `beat` heartbeat every BEAT_HEARTBEAT_SECONDS. A dead worker cannot make
  beat look dead any more (the heartbeat used to be a task that a worker had to run). Its
  entries keep the schedule's `expires` (see `ExpiringModelEntry`).
- Worker: `WorkerHeartbeat` is a worker bootstep; the worker's own timer writes
  `worker:<hostname>` every WORKER_HEARTBEAT_SECONDS with its pid, the tasks it accepted and
  the tasks running. A clean shutdown marks the row `stopped`; a killed worker just goes
  silent, and health reports it after two periods.

A failed heartbeat write is logged and retried at the next period: it never stops beat or
the worker (the staleness it causes is what health should then report).
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

import structlog
from celery import bootsteps
from celery.worker import state as worker_state
from django.conf import settings
from django.db import DatabaseError, connection
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry

from mrmarket.health import BEAT, WORKER_PREFIX
from mrmarket.services import heartbeat_beat

log = structlog.get_logger(__name__)


class ExpiringModelEntry(ModelEntry):  # type: ignore[misc]  # django-celery-beat ships no type hints
    """A schedule entry that keeps `options.expires` (seconds) from CELERY_BEAT_SCHEDULE.

    django-celery-beat stores only `expire_seconds` and silently drops Celery's own
    `expires`, so without this a worker that fell behind ran every stale tick and sync it
    had missed, one after the other, and fell further behind."""

    @classmethod
    def _unpack_options(
        cls, expires: float | None = None, expire_seconds: float | None = None, **options: Any
    ) -> dict[str, Any]:
        seconds = expire_seconds if expire_seconds is not None else expires
        unpacked: dict[str, Any] = super()._unpack_options(
            expire_seconds=None if seconds is None else max(int(round(seconds)), 1), **options
        )
        return unpacked


class Scheduler(DatabaseScheduler):  # type: ignore[misc]  # django-celery-beat ships no type hints
    """The database scheduler, plus beat's own heartbeat from its scheduling loop."""

    Entry = ExpiringModelEntry
    _last_heartbeat: float | None = None
    clock = staticmethod(time.monotonic)  # injectable in tests

    def tick(self, *args: Any, **kwargs: Any) -> float:
        period = float(settings.BEAT_HEARTBEAT_SECONDS)
        now = self.clock()
        if self._last_heartbeat is None or now - self._last_heartbeat >= period:
            self._last_heartbeat = now
            _write(BEAT, {"pid": os.getpid()})
        delay: float = super().tick(*args, **kwargs)
        # Sleep no longer than the next heartbeat is due.
        return min(delay, max(self._last_heartbeat + period - self.clock(), 0.0))


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Worker step: the worker's timer writes `worker:<hostname>` every period."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        self.beat(worker)
        self.tref = worker.timer.call_repeatedly(
            float(settings.WORKER_HEARTBEAT_SECONDS), self.beat, (worker,), priority=10
        )

    def stop(self, worker: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
            self.beat(worker, stopped=True)

    def terminate(self, worker: Any) -> None:  # a cold shutdown is a clean stop too
        self.stop(worker)

    def beat(self, worker: Any, stopped: bool = False, at: datetime | None = None) -> None:
        _write(
            WORKER_PREFIX + worker.hostname,
            {
                "pid": os.getpid(),
                "processed": sum(worker_state.total_count.values()),
                "active": len(worker_state.active_requests),
                "stopped": stopped,
            },
            at=at,
        )


def _write(name: str, payload: dict[str, Any], at: datetime | None = None) -> None:
    try:
        heartbeat_beat(name=name, payload=payload, at=at)
    except DatabaseError as exc:
        log.warning("heartbeat_write_failed", heartbeat=name, error=str(exc)[:200])
    finally:
        # Timer threads and beat hold no connection between beats (SQLite: one writer).
        if not connection.in_atomic_block:
            connection.close()
