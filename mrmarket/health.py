"""Health: `/health` (cheap liveness) and `/health/system-status` (every part, by what it does).

Design. System status is a small registry of checks. A check is a function registered with
`@health_check("<part>")` that looks at one part of the system by its own evidence (the
heartbeat the part writes itself, its queue, its last call's outcome) and returns a
`Part`: ok or not, what goes into the response under the part's name, the issue text and
since when the part has been down. `system_status()` runs them all: `ok` is false (HTTP 503)
as soon as one part is down, and `issues` names each part that is down and since when.

The core parts are here (database, broker, queues, beat, workers, processes). Each app
registers its own parts in its `<app>/health.py` (found like admin modules: every installed
app's `health` module is imported once), e.g. `strategy/health.py` (tick, market data),
`exchanges/health.py` (venues), `orders/health.py` (custody, reconciliation). To add a
check, add a decorated function there; nothing else changes.

Heartbeats are written by the parts themselves (`mrmarket/heartbeats.py`): beat from its
own scheduler loop, each worker from its own timer. A heartbeat older than
STALE_AFTER_PERIODS periods means the part is down since its last beat.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules

from mrmarket import broker
from mrmarket.models import Heartbeat

BEAT = "beat"
WORKER_PREFIX = "worker:"
# A heartbeat is stale after this many of its periods: a part that dies is reported within
# two periods of its last beat.
STALE_AFTER_PERIODS = 2
# A dead worker's row stops being an issue this long after its last beat, when others are
# alive (a worker host that was removed without a clean shutdown).
WORKER_FORGET_SECONDS = 3600


# Work queues the apps report in `/health/system-status` → `queues` (name → counts), each
# registered by its app's `ready()`: the seam keeps this module below the apps it reports on.
QueueCounts = Callable[[], dict[str, int]]
_STATUS_QUEUES: dict[str, QueueCounts] = {}


def status_queue_register(name: str, counts: QueueCounts) -> None:
    _STATUS_QUEUES[name] = counts


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


@dataclass
class Part:
    """One part's state: `detail` goes into the response under the part's name."""

    ok: bool
    detail: Any = None
    message: str = ""
    since: datetime | None = None
    component: str = ""  # the issue's part name when not the check's own (one check, many parts)


@dataclass
class Context:
    now: datetime
    database_ok: bool
    cache: dict[str, Any] = field(default_factory=dict)  # shared between checks of one call


CheckFn = Callable[[Context], Part | list[Part] | None]


@dataclass(frozen=True)
class _Check:
    name: str
    fn: CheckFn
    needs_database: bool


_CHECKS: dict[str, _Check] = {}
_discovered = False


def health_check(name: str, *, needs_database: bool = True) -> Callable[[CheckFn], CheckFn]:
    """Register `fn` as the check of part `name` (returning None: not applicable here)."""

    def register(fn: CheckFn) -> CheckFn:
        _CHECKS[name] = _Check(name=name, fn=fn, needs_database=needs_database)
        return fn

    return register


def checks() -> list[str]:
    _discover()
    return list(_CHECKS)


def _discover() -> None:
    global _discovered
    if not _discovered:
        autodiscover_modules("health")
        _discovered = True


def stale_after(period_seconds: float) -> timedelta:
    return timedelta(seconds=STALE_AFTER_PERIODS * period_seconds)


def fresh(last: datetime | None, *, period_seconds: float, now: datetime) -> bool:
    """A heartbeat is fresh until STALE_AFTER_PERIODS periods have passed since it."""
    return last is not None and now - last < stale_after(period_seconds)


# -- the core checks --------------------------------------------------------------------


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row == (1,)
    except Exception:
        return False


@health_check("database", needs_database=False)
def _database(ctx: Context) -> Part:
    return Part(
        ok=ctx.database_ok,
        detail={"ok": ctx.database_ok, "vendor": connection.vendor},
        message="" if ctx.database_ok else "database is unreachable",
    )


def broker_status(*, now_ns: int | None = None) -> dict[str, Any]:
    """Reachability of the broker and, per task queue, messages waiting and the oldest's age."""
    url: str = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
        if not folder.is_dir():
            return {
                "ok": False,
                "transport": "filesystem",
                "error": "no queue folder",
                "queues": {},
            }
        by_queue = broker.waiting(folder)
        by_queue.setdefault("celery", [])
        queues = {
            name: {
                "waiting": len(names),
                "oldestAgeSeconds": broker.oldest_waiting_age(names, now_ns=now_ns),
            }
            for name, names in by_queue.items()
            if not name.endswith("pidbox")
        }
        return {"ok": True, "transport": "filesystem", "queues": queues}
    if url.startswith(("redis://", "rediss://")):
        try:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            depth = client.llen("celery")
            # kombu LPUSHes and BRPOPs: the oldest message is the last of the list.
            oldest = client.lindex("celery", -1)
        except redis.RedisError as exc:
            return {"ok": False, "transport": "redis", "error": type(exc).__name__, "queues": {}}
        now = (time.time_ns() if now_ns is None else now_ns) / 1e9
        published = _published_at(oldest)
        age = max(now - published, 0.0) if published is not None else None
        return {
            "ok": True,
            "transport": "redis",
            "queues": {"celery": {"waiting": depth, "oldestAgeSeconds": age}},
        }
    return {"ok": True, "transport": url.split("://", 1)[0], "queues": {}}


def _published_at(raw: bytes | str | None) -> float | None:
    """The `published_at` header our publish hook (mrmarket.celery) puts on every task."""
    if not raw:
        return None
    try:
        value = json.loads(raw).get("headers", {}).get("published_at")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def _broker(ctx: Context) -> dict[str, Any]:
    if "broker" not in ctx.cache:
        ctx.cache["broker"] = broker_status()
    status: dict[str, Any] = ctx.cache["broker"]
    return status


@health_check("broker", needs_database=False)
def _broker_part(ctx: Context) -> Part:
    status = _broker(ctx)
    return Part(
        ok=status["ok"],
        detail={k: v for k, v in status.items() if k != "queues"},
        message="" if status["ok"] else f"broker is unreachable ({status.get('error', '?')})",
    )


@health_check("queues", needs_database=False)
def _queues(ctx: Context) -> Part:
    """Messages nobody takes: the oldest waiting one is older than the limit. The detail
    also carries the pipeline's work queues the apps register (the admin widget's
    `snapshots` and `marketMaking`)."""
    broker_queues = _broker(ctx)["queues"]
    pipeline = (
        {name: counts() for name, counts in _STATUS_QUEUES.items()} if ctx.database_ok else {}
    )
    queues = {**broker_queues, **pipeline}
    limit = settings.HEALTH_QUEUE_MAX_WAIT_SECONDS
    late = {
        name: q["oldestAgeSeconds"]
        for name, q in queues.items()
        if q.get("oldestAgeSeconds") is not None and q["oldestAgeSeconds"] > limit
    }
    if not late:
        return Part(ok=True, detail=queues)
    name, age = max(late.items(), key=lambda item: item[1])
    return Part(
        ok=False,
        detail=queues,
        message=f"{queues[name]['waiting']} message(s) waiting in {name}, the oldest for "
        f"{int(age)} s (limit {limit} s): no worker is taking them",
        since=ctx.now - timedelta(seconds=age - limit),
    )


@health_check(BEAT)
def _beat(ctx: Context) -> Part:
    beat = Heartbeat.objects.filter(name=BEAT).first()
    period = settings.BEAT_HEARTBEAT_SECONDS
    beat_ok = fresh(beat.last_beat_at if beat else None, period_seconds=period, now=ctx.now)
    detail = {
        "ok": beat_ok,
        "lastBeatAt": iso(beat.last_beat_at) if beat else None,
        "count": beat.count if beat else 0,
        "periodSeconds": period,
    }
    if beat_ok:
        return Part(ok=True, detail=detail)
    if beat is None:
        return Part(ok=False, detail=detail, message="beat has never written its heartbeat")
    return Part(
        ok=False,
        detail=detail,
        message=f"beat silent: no heartbeat for {int((ctx.now - beat.last_beat_at).total_seconds())} s "
        f"(period {period} s)",
        since=beat.last_beat_at,
    )


@health_check("workers")
def _workers(ctx: Context) -> Part:
    """Each worker's own heartbeat: no live worker, or one that died without stopping, is down."""
    period = settings.WORKER_HEARTBEAT_SECONDS
    rows = list(Heartbeat.objects.filter(name__startswith=WORKER_PREFIX).order_by("name"))
    workers = []
    for row in rows:
        stopped = bool(row.payload.get("stopped"))
        beating = not stopped and fresh(row.last_beat_at, period_seconds=period, now=ctx.now)
        workers.append(
            {
                "name": row.name.removeprefix(WORKER_PREFIX),
                "ok": beating,
                "state": "alive" if beating else ("stopped" if stopped else "silent"),
                "lastBeatAt": iso(row.last_beat_at),
                "pid": row.payload.get("pid"),
                "processed": row.payload.get("processed"),
                "active": row.payload.get("active"),
            }
        )
    alive = [w for w in workers if w["ok"]]
    silent = [
        (w, row)
        for w, row in zip(workers, rows, strict=True)
        if w["state"] == "silent"
        and (not alive or ctx.now - row.last_beat_at <= timedelta(seconds=WORKER_FORGET_SECONDS))
    ]
    detail = {"alive": len(alive), "periodSeconds": period, "list": workers}
    if alive and not silent:
        return Part(ok=True, detail=detail)
    if silent:
        names = ", ".join(w["name"] for w, _ in silent)
        last = max(row.last_beat_at for _, row in silent)
        return Part(
            ok=False,
            detail=detail,
            message=f"worker(s) {names} silent: no heartbeat since {iso(last)}"
            + ("" if alive else "; no live worker is consuming"),
            since=last,
        )
    last_seen = max((r.last_beat_at for r in rows), default=None)
    return Part(
        ok=False,
        detail=detail,
        message="no live worker is consuming"
        + (f" (last worker heartbeat {iso(last_seen)})" if last_seen else ""),
        since=last_seen,
    )


def supervisor_status_path() -> Path:
    return Path(settings.VAR_DIR) / "run" / "processes.json"


def _pid_alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@health_check("processes", needs_database=False)
def _processes(ctx: Context) -> Part | None:
    """`make run`'s supervisor (embedded mode only): exits counted, a process in backoff is down."""
    try:
        status = json.loads(supervisor_status_path().read_text())
    except (FileNotFoundError, ValueError):
        return None
    if status.get("stopping") or not _pid_alive(status.get("supervisorPid")):
        return None  # a file left by a supervisor that is gone
    processes = status.get("processes", {})
    detail = {
        name: {
            "state": p["state"],
            "pid": p["pid"],
            "starts": p["starts"],
            "crashes": p["crashes"],
            "lastExit": p["lastExit"],
            "since": iso(datetime.fromtimestamp(p["since"], UTC)) if p.get("since") else None,
        }
        for name, p in processes.items()
    }
    down = {name: p for name, p in processes.items() if p["state"] != "running"}
    if not down:
        return Part(ok=True, detail=detail)
    name, p = min(down.items(), key=lambda item: item[1].get("since") or 0)
    exit_ = p.get("lastExit") or {}
    how = f"signal {exit_['signal']}" if exit_.get("signal") else f"code {exit_.get('code')}"
    return Part(
        ok=False,
        detail=detail,
        message=f"{', '.join(sorted(down))} down: {name} exited ({how}), {p['crashes']} exit(s) "
        "so far; restarting with backoff",
        since=datetime.fromtimestamp(p["since"], UTC) if p.get("since") else None,
    )


# -- assembly ---------------------------------------------------------------------------


def health() -> dict[str, Any]:
    """`/health`: liveness of this web process and its database, plus the venues' last state
    (the `exchanges` part's detail; their state never makes this process unhealthy)."""
    _discover()
    now = timezone.now()
    ok = database_ok()
    venues: list[dict[str, Any]] = []
    check = _CHECKS.get("exchanges")
    if ok and check is not None:
        try:
            part = check.fn(Context(now=now, database_ok=ok))
            venues = list(part.detail) if isinstance(part, Part) and part.detail else []
        except Exception:
            venues = []
    return {"ok": ok, "timestamp": iso(now), "exchanges": venues}


def system_status(*, now: datetime | None = None) -> dict[str, Any]:
    """Every registered part; `ok` only when all of them are."""
    _discover()
    now = now or timezone.now()
    ctx = Context(now=now, database_ok=database_ok())
    body: dict[str, Any] = {"timestamp": iso(now), "ok": True}
    issues: list[dict[str, Any]] = []
    for check in _CHECKS.values():
        if check.needs_database and not ctx.database_ok:
            continue
        try:
            result = check.fn(ctx)
        except Exception as exc:  # a broken check is a part we cannot vouch for
            result = Part(ok=False, message=f"check failed: {type(exc).__name__}: {str(exc)[:200]}")
        parts = [] if result is None else result if isinstance(result, list) else [result]
        for part in parts:
            if part.detail is not None and check.name not in body:
                body[check.name] = part.detail
            if not part.ok:
                issues.append(
                    {
                        "component": part.component or check.name,
                        "message": part.message,
                        "since": iso(part.since),
                    }
                )
    body["ok"] = not issues
    body["issues"] = issues
    return body
