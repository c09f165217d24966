"""Benchmark of the embedded broker: publish then consume N messages through one transport.

`--transport atomic` is ours (mrmarket.broker), `--transport kombu` is kombu's own filesystem
transport, `--transport sqlalchemy` kombu's SQLAlchemy transport on a SQLite file (the
alternative decision 0610 weighed; needs SQLAlchemy, which is not a dependency: put it on
PYTHONPATH for the measurement). Messages go to a scratch folder; figures are printed with
the load average, since this machine is shared.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from kombu import Connection

TRANSPORTS = {
    "atomic": "mrmarket.broker:Transport",
    "kombu": "kombu.transport.filesystem:Transport",
    "sqlalchemy": "",  # kombu's sqla+sqlite:// transport, by URL
}


class Command(BaseCommand):
    help = "Publish then consume N messages through the embedded broker; print rates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--transport", choices=sorted(TRANSPORTS), default="atomic")
        parser.add_argument("--messages", type=int, default=2000)
        parser.add_argument("--size", type=int, default=1024, help="body bytes")

    def handle(self, *args: Any, transport: str, messages: int, size: int, **opts: Any) -> None:
        with tempfile.TemporaryDirectory() as root:
            folder = Path(root)
            (folder / "queue").mkdir()
            options = {
                "data_folder_in": str(folder / "queue"),
                "data_folder_out": str(folder / "queue"),
                "processing_folder": str(folder / "processing"),
                "rejected_folder": str(folder / "rejected"),
                "control_folder": str(folder / "control"),
                "polling_interval": 0.01,
            }
            body = {"blob": "x" * size}
            if transport == "sqlalchemy":
                # (its transport options go to SQLAlchemy's create_engine; a full queue
                # never waits for the polling interval)
                connection = Connection(f"sqla+sqlite:///{folder / 'broker.sqlite3'}")
            else:
                connection = Connection(
                    "filesystem://", transport=TRANSPORTS[transport], transport_options=options
                )
            with connection as conn:
                queue = conn.SimpleQueue("bench")
                start = time.perf_counter()
                for _ in range(messages):
                    queue.put(body)
                published = time.perf_counter() - start
                start = time.perf_counter()
                got = 0
                while got < messages:
                    try:
                        queue.get(timeout=1).ack()
                    except Empty:
                        break
                    got += 1
                consumed = time.perf_counter() - start
                queue.close()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        self.stdout.write(
            f"broker_bench {transport}: {messages} messages of {size} B; publish "
            f"{messages / published:,.0f}/s, consume {got / consumed:,.0f}/s "
            f"({got} consumed); load average {load}"
        )
