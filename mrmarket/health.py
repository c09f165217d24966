"""Health and system status selectors (`/health`, `/health/system-status`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from mrmarket.models import Heartbeat
from strategy.saturation import saturation_from_payload, saturation_message

BEAT = "beat"
TICK = "strategy_tick"


# Work queues the apps report in `/health/system-status` → `queues` (name → counts), each
# registered by its app's `ready()`: the seam keeps this module below the apps it reports on.
QueueCounts = Callable[[], dict[str, int]]
_STATUS_QUEUES: dict[str, QueueCounts] = {}


def status_queue_register(name: str, counts: QueueCounts) -> None:
    _STATUS_QUEUES[name] = counts


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def broker_status() -> dict[str, Any]:
    """Reachability and queue depth of the Celery broker, without publishing anything."""
    url: str = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])  # type: ignore[arg-type]
        ok = folder.is_dir()
        depth = sum(1 for _ in folder.glob("*.msg")) if ok else None
        return {"ok": ok, "transport": "filesystem", "queues": {"celery": {"waiting": depth}}}
    if url.startswith(("redis://", "rediss://")):
        import redis

        try:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            depth = client.llen("celery")
            return {"ok": True, "transport": "redis", "queues": {"celery": {"waiting": depth}}}
        except Exception as exc:
            return {"ok": False, "transport": "redis", "error": type(exc).__name__, "queues": {}}
    return {"ok": True, "transport": url.split("://", 1)[0], "queues": {}}


def _heartbeat(name: str) -> Heartbeat | None:
    return Heartbeat.objects.filter(name=name).first()


def exchange_statuses() -> list[dict[str, str]]:
    from exchanges.selectors import venue_health_list

    return venue_health_list()


def health() -> dict[str, Any]:
    ok = database_ok()
    return {
        "ok": ok,
        "timestamp": iso(timezone.now()),
        "exchanges": exchange_statuses() if ok else [],
    }


def system_status() -> dict[str, Any]:
    now = timezone.now()
    issues: list[dict[str, str]] = []
    db_ok = database_ok()
    if not db_ok:
        issues.append({"component": "database", "message": "database is unreachable"})
    broker = broker_status()
    if not broker["ok"]:
        issues.append({"component": "broker", "message": "broker is unreachable"})

    beat = _heartbeat(BEAT) if db_ok else None
    beat_stale_after = timedelta(seconds=3 * settings.BEAT_HEARTBEAT_SECONDS)
    beat_fresh = bool(beat and now - beat.last_beat_at <= beat_stale_after)
    if not beat_fresh:
        issues.append(
            {
                "component": "beat",
                "message": "no beat heartbeat in the last "
                f"{int(beat_stale_after.total_seconds())} s",
            }
        )

    if db_ok:
        from orders.health import custody_issues

        issues += custody_issues(now=now)

    tick = _heartbeat(TICK) if db_ok else None
    tick_size_ms = settings.STRATEGY_TICK_MS
    recently = bool(tick and now - tick.last_beat_at <= timedelta(milliseconds=5 * tick_size_ms))
    saturation = saturation_from_payload(tick.payload if tick else {})
    if recently and saturation["saturated"]:
        issues.append({"component": "strategy_tick", "message": saturation_message(saturation)})
    return {
        "timestamp": iso(now),
        "ok": not issues,
        "database": {"ok": db_ok, "vendor": connection.vendor},
        "broker": {k: v for k, v in broker.items() if k != "queues"},
        "beat": {
            "ok": beat_fresh,
            "lastBeatAt": iso(beat.last_beat_at) if beat else None,
            "count": beat.count if beat else 0,
        },
        "queues": {
            **broker["queues"],
            **({name: counts() for name, counts in _STATUS_QUEUES.items()} if db_ok else {}),
        },
        "tick": {
            "running": recently,
            "tickSizeMs": tick_size_ms,
            "lastTickAtMs": int(tick.last_beat_at.timestamp() * 1000) if tick else None,
            "lastTickAt": iso(tick.last_beat_at) if tick else None,
            "tickCount": tick.count if tick else 0,
            "recentlyTicked": recently,
            "saturation": saturation,
        },
        "exchanges": exchange_statuses() if db_ok else [],
        "issues": issues,
    }
