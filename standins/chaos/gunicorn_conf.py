"""gunicorn settings of the chaos run's web process: tasks it sends go to the run's queue."""

from __future__ import annotations

import os
from typing import Any


def post_fork(server: Any, worker: Any) -> None:
    from mrmarket.celery import app

    app.conf.task_default_queue = os.environ.get("CHAOS_QUEUE", "chaos")
