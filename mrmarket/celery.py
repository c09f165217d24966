"""The Celery app: Django-integrated, JSON only, acks_late, time limits (DESIGN §4).

Tasks take ids only, are named `<entity>_<verb>_task` and are safe to run twice; dedupe
lives in the database. A trace id travels in the task headers and is bound to logs, and
`published_at` (epoch seconds) lets health read how long the oldest message has waited.
Each worker writes its own heartbeat (`mrmarket.heartbeats.WorkerHeartbeat`); the embedded
broker is `mrmarket.broker` (decision 0610).
"""

from __future__ import annotations

import os
import time
from typing import Any

import structlog
from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mrmarket.settings")

app = Celery("mrmarket")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add("mrmarket.heartbeats:WorkerHeartbeat")


@signals.before_task_publish.connect
def _stamp_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is None:
        return
    headers.setdefault("published_at", time.time())
    trace_id = structlog.contextvars.get_contextvars().get("trace_id")
    if trace_id and "trace_id" not in headers:
        headers["trace_id"] = trace_id


@signals.task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    from mrmarket.logging import clean_trace_id

    request = getattr(task, "request", None)
    trace_id = getattr(request, "trace_id", None) or (
        (getattr(request, "headers", None) or {}).get("trace_id") if request else None
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task_id=task_id, task=getattr(task, "name", None), trace_id=clean_trace_id(trace_id)
    )


@signals.task_postrun.connect
def _clear_task_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()


@signals.setup_logging.connect
def _keep_our_logging(**_: Any) -> None:
    """Celery must not replace the structlog configuration done in settings."""
