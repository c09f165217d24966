"""How far behind the runtime is, for the tick's heartbeat, /health/system-status and the
console.

Three signs, cheap enough to read every tick:
- runs in flight: sessions claimed by earlier ticks whose run has not finished (their lease
  is live) — the queue and the workers are behind when this keeps growing;
- the oldest wait: how late the most overdue session still waiting to be claimed is;
- shed runs: runs that started later than STRATEGY_MAX_LATENESS_MS and were skipped to
  their next slot (counted per minute in the cache by the runs, read by the tick).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db.models import Min, Q

from strategy.enums import SessionState
from strategy.models import StrategySession

SHED_KEY = "strategy:shed:{minute}"
SHED_TTL_SECONDS = 180


def _minute(at: datetime) -> int:
    return int(at.timestamp() // 60)


def shed_count(n: int, *, at: datetime) -> None:
    """Count `n` shed runs in the minute of `at`."""
    if n <= 0:
        return
    key = SHED_KEY.format(minute=_minute(at))
    cache.add(key, 0, timeout=SHED_TTL_SECONDS)
    try:
        cache.incr(key, n)
    except ValueError:  # expired between add and incr
        cache.set(key, n, timeout=SHED_TTL_SECONDS)


def shed_last_minute(*, at: datetime) -> int:
    """Runs shed in the current and the previous minute."""
    minute = _minute(at)
    found = cache.get_many([SHED_KEY.format(minute=m) for m in (minute - 1, minute)])
    return sum(int(v) for v in found.values())


@dataclass(frozen=True)
class Load:
    in_flight: int  # claimed earlier, run not finished (live lease)
    oldest_wait_ms: int  # how late the most overdue unclaimed session is (0: none due)
    shed_last_minute: int

    @property
    def saturated(self) -> bool:
        return (
            self.shed_last_minute > 0
            or self.oldest_wait_ms > settings.STRATEGY_MAX_LATENESS_MS
            or self.in_flight >= settings.STRATEGY_TICK_MAX_IN_FLIGHT
        )

    def as_payload(self) -> dict[str, object]:
        return {**asdict(self), "saturated": self.saturated}


def tick_load(*, now: datetime) -> Load:
    """Read before the tick claims (two aggregate queries on the running sessions)."""
    running = StrategySession.objects.filter(state=SessionState.RUNNING)
    in_flight = running.filter(lease_until__gt=now).count()
    oldest = (
        running.filter(next_run_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .aggregate(oldest=Min("next_run_at"))["oldest"]
    )
    wait = int((now - oldest).total_seconds() * 1000) if oldest is not None else 0
    return Load(in_flight=in_flight, oldest_wait_ms=wait, shed_last_minute=shed_last_minute(at=now))


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def saturation_from_payload(payload: dict[str, object]) -> dict[str, object]:
    """The tick heartbeat's load, as /health/system-status shows it."""
    return {
        "saturated": payload.get("saturated") is True,
        "inFlight": _int(payload.get("in_flight")),
        "oldestWaitMs": _int(payload.get("oldest_wait_ms")),
        "shedLastMinute": _int(payload.get("shed_last_minute")),
        "maxLatenessMs": settings.STRATEGY_MAX_LATENESS_MS,
    }


def saturation_message(saturation: dict[str, object]) -> str:
    """One line for the status issues and the console."""
    return (
        f"strategy tick saturated: {saturation['inFlight']} runs in flight, oldest due session "
        f"waiting {saturation['oldestWaitMs']} ms, {saturation['shedLastMinute']} runs shed "
        f"(started over {saturation['maxLatenessMs']} ms late) in the last minute"
    )
