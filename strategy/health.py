"""The strategy's parts in /health/system-status (registered in mrmarket.health's registry)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from mrmarket.health import Context, Part, health_check, iso
from mrmarket.models import Heartbeat

TICK = "strategy_tick"
# The tick is down when its heartbeat is older than this many ticks (beat fires it, a
# worker runs it: either stopping shows here). Same bound as `recentlyTicked`.
TICK_STALE_TICKS = 5


@health_check("tick")
def tick_fresh(ctx: Context) -> Part:
    tick = Heartbeat.objects.filter(name=TICK).first()
    tick_ms = settings.STRATEGY_TICK_MS
    stale_after = timedelta(milliseconds=TICK_STALE_TICKS * tick_ms)
    recently = bool(tick and ctx.now - tick.last_beat_at < stale_after)
    detail = {
        "running": recently,
        "tickSizeMs": tick_ms,
        "lastTickAtMs": int(tick.last_beat_at.timestamp() * 1000) if tick else None,
        "lastTickAt": iso(tick.last_beat_at) if tick else None,
        "tickCount": tick.count if tick else 0,
        "recentlyTicked": recently,
    }
    if recently:
        return Part(ok=True, detail=detail)
    if tick is None:
        return Part(ok=False, detail=detail, message="the strategy tick has never run")
    age = (ctx.now - tick.last_beat_at).total_seconds()
    return Part(
        ok=False,
        detail=detail,
        message=f"the strategy tick is stale: last tick {age:.0f} s ago "
        f"(limit {TICK_STALE_TICKS} ticks of {tick_ms} ms)",
        since=tick.last_beat_at,
    )
