"""Acceptance of issue 11 with real processes: a real Celery worker, a real beat and the tick
(run by a real worker from beat's schedule), on the embedded broker, each killed with
SIGKILL. `/health/system-status` is 503 naming the part two heartbeat periods after its
last beat (and not before one period), and the restarted process clears the issue.

The spawned processes share this test's PostgreSQL database (committed rows: transaction
tests) and a private filesystem broker, cache and var dir; heartbeats every second. The
status is evaluated at instants derived from the heartbeat rows the processes wrote, so the
verdicts do not depend on how busy the machine is; waits are bounded, never asserted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from mrmarket import health
from mrmarket.models import Heartbeat
from mrmarket.services import heartbeat_beat

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PERIOD = 1  # seconds: the heartbeat period of the spawned processes and of the status
CELERY = str(Path(sys.executable).parent / "celery")
ROOT = Path(__file__).resolve().parents[2]
WORKER = "acceptance@localhost"
TICK = "strategy_tick"


def _database_url() -> str:
    db = django_settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def spawn(tmp_path: Path, settings: Any) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `celery -A mrmarket <args>` on this test's database and a private broker."""
    settings.WORKER_HEARTBEAT_SECONDS = PERIOD
    settings.BEAT_HEARTBEAT_SECONDS = PERIOD
    settings.VAR_DIR = tmp_path / "status"  # no make run status file: no `processes` part
    (tmp_path / "status" / "queue").mkdir(parents=True)
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "status" / "queue")
    }
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
        "MRMARKET_VAR_DIR": str(tmp_path / "var"),
        "WORKER_HEARTBEAT_SECONDS": str(PERIOD),
        "BEAT_HEARTBEAT_SECONDS": str(PERIOD),
        "LOG_LEVEL": "WARNING",
    }
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 - our own celery entry point
            [CELERY, "-A", "mrmarket", *args, "--loglevel", "WARNING"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


def _worker(spawn: Callable[..., subprocess.Popen[bytes]], *queues: str) -> Any:
    # threads: beat's other periodic tasks (tick test) never hold up the tick
    args = ["worker", "--pool", "threads", "--concurrency", "4", "--without-gossip"]
    args += ["--without-mingle", "-n", WORKER]
    return spawn(*args, *(["--queues", ",".join(queues)] if queues else []))


def _row(name: str) -> Heartbeat | None:
    return Heartbeat.objects.filter(name=name).first()


def _wait_beats(name: str, *, after: datetime | None = None, bound: float = 180.0) -> Heartbeat:
    """The heartbeat row once it has beaten twice (after `after`, if given): a bounded wait."""
    deadline = time.monotonic() + bound
    first: datetime | None = None
    while time.monotonic() < deadline:
        row = _row(name)
        if row is not None and (after is None or row.last_beat_at > after):
            if first is None:
                first = row.last_beat_at
            elif row.last_beat_at > first:
                return row
        time.sleep(0.2)
    raise AssertionError(f"{name} never beat twice within {bound} s")


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def _status_at(now: datetime, *, fresh: tuple[str, ...]) -> tuple[int, list[str], dict[str, Any]]:
    """System status at `now`, the parts in `fresh` having just beaten (they are not the
    part under test)."""
    for name in fresh:
        heartbeat_beat(name=name, at=now)
    body = health.system_status(now=now)
    return (200 if body["ok"] else 503), [i["component"] for i in body["issues"]], body


def test_a_killed_real_worker_is_503_naming_workers_within_two_periods_and_restart_clears(
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    worker = _worker(spawn)
    row = _wait_beats(health.WORKER_PREFIX + WORKER)
    assert row.payload["pid"] and row.payload["stopped"] is False
    # when: the worker is killed (no clean stop: it never says goodbye)
    _kill(worker)
    last = Heartbeat.objects.get(name=health.WORKER_PREFIX + WORKER).last_beat_at
    others = (health.BEAT, TICK)
    # then: not an issue within one period of its last beat ...
    assert _status_at(last + timedelta(seconds=PERIOD * 0.9), fresh=others)[:2] == (200, [])
    # ... and 503 naming the workers, since its last beat, two periods after it
    code, parts, body = _status_at(last + timedelta(seconds=2 * PERIOD), fresh=others)
    assert (code, parts) == (503, ["workers"])
    assert WORKER in body["issues"][0]["message"]
    assert body["issues"][0]["since"] == health.iso(last)
    assert body["workers"]["list"][0]["state"] == "silent"
    # when: it is started again (as the supervisor does), its new beats clear the issue
    _worker(spawn)
    again = _wait_beats(health.WORKER_PREFIX + WORKER, after=last)
    assert _status_at(again.last_beat_at, fresh=others)[:2] == (200, [])


def test_a_killed_real_beat_is_503_naming_beat_within_two_periods_and_restart_clears(
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    beat = spawn("beat")
    _wait_beats(health.BEAT)
    _kill(beat)
    last = Heartbeat.objects.get(name=health.BEAT).last_beat_at
    others = (health.WORKER_PREFIX + WORKER, TICK)
    assert _status_at(last + timedelta(seconds=PERIOD * 0.9), fresh=others)[:2] == (200, [])
    code, parts, body = _status_at(last + timedelta(seconds=2 * PERIOD), fresh=others)
    assert (code, parts) == (503, ["beat"])
    assert body["issues"][0]["since"] == health.iso(last)
    spawn("beat")
    again = _wait_beats(health.BEAT, after=last)
    assert _status_at(again.last_beat_at, fresh=others)[:2] == (200, [])


def test_the_tick_goes_stale_when_its_worker_is_killed_and_comes_back_with_it(
    spawn: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # given: beat sends the tick every second, a worker runs it and writes its heartbeat
    spawn("beat")
    worker = _worker(spawn, "celery", "tick")
    _wait_beats(TICK)
    _kill(worker)
    time.sleep(2)  # a tick the dead worker held, if any, is gone with it
    last = Heartbeat.objects.get(name=TICK).last_beat_at
    stale_after = timedelta(milliseconds=5 * django_settings.STRATEGY_TICK_MS)  # 5 ticks
    others = (health.BEAT, health.WORKER_PREFIX + WORKER)
    assert _status_at(last + stale_after / 2, fresh=others)[:2] == (200, [])
    code, parts, body = _status_at(last + stale_after, fresh=others)
    assert (code, parts) == (503, ["tick"])
    assert body["tick"]["recentlyTicked"] is False
    # when: the worker is back, beat's next ticks run again and the tick is fresh
    _worker(spawn, "celery", "tick")
    again = _wait_beats(TICK, after=last)
    assert _status_at(again.last_beat_at, fresh=others)[:2] == (200, [])
