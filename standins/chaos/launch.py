"""`python -m standins.chaos.launch worker|beat [celery options]`: a Celery process of the
service with the chaos faults installed (the plan lives in Redis at `REDIS_URL`)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mrmarket.settings")
    import django

    django.setup()
    from mrmarket.celery import app
    from standins.chaos.faults import install

    install(os.environ["REDIS_URL"])
    # The run's own queue, so a shared Redis database carries nobody else's tasks to us.
    app.conf.task_default_queue = os.environ.get("CHAOS_QUEUE", "chaos")
    app.start(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
