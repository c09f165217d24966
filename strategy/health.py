"""The strategy's parts in /health/system-status: tick fresh, market data fresh (registered in
mrmarket.health's registry)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from mrmarket.health import Context, Part, health_check, iso
from mrmarket.models import Heartbeat
from strategy.enums import SessionState
from strategy.models import StrategySession
from strategy.saturation import saturation_from_payload, saturation_message

TICK = "strategy_tick"
# The tick is down when its heartbeat is older than this many ticks (beat fires it, a
# worker runs it: either stopping shows here). Same bound as `recentlyTicked`.
TICK_STALE_TICKS = 5


@health_check("tick")
def tick_fresh(ctx: Context) -> list[Part]:
    """Fresh (a heartbeat within TICK_STALE_TICKS ticks) and, when fresh, not saturated."""
    part = _tick_part(ctx)
    saturation = part.detail["saturation"]
    if part.ok and saturation["saturated"]:
        return [
            part,
            Part(ok=False, component="strategy_tick", message=saturation_message(saturation)),
        ]
    return [part]


def _tick_part(ctx: Context) -> Part:
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
        "saturation": saturation_from_payload(tick.payload if tick else {}),
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


# A running session whose last run is older than this and whose runs skip for want of market
# data means the market data of its (venue, pair) is stale (runs never quote on older data).
MARKET_DATA_STALE_SECONDS = 30
MARKET_DATA_MISSING = "market data unavailable"


@health_check("marketData")
def market_data_fresh(ctx: Context) -> Part | None:
    """By the sessions that use it: every running session of a (venue, pair) skipping for
    want of a fresh snapshot, for longer than MARKET_DATA_STALE_SECONDS, is stale data."""
    sessions = StrategySession.objects.filter(state=SessionState.RUNNING).values_list(
        "exchange_id", "symbol", "last_run_at", "last_error", "created_at"
    )
    markets: dict[tuple[str, str], list[tuple[datetime, bool]]] = {}
    for exchange_id, symbol, last_run_at, last_error, created_at in sessions:
        missing = last_error.startswith(MARKET_DATA_MISSING)
        markets.setdefault((exchange_id, symbol), []).append((last_run_at or created_at, missing))
    if not markets:
        return None
    limit = timedelta(seconds=MARKET_DATA_STALE_SECONDS)
    stale = {
        market: max(at for at, _ in rows)
        for market, rows in markets.items()
        if all(missing and ctx.now - at > limit for at, missing in rows)
    }
    names = [f"{venue} {symbol}" for venue, symbol in sorted(stale)]
    detail = {
        "markets": len(markets),
        "stale": names,
        "limitSeconds": MARKET_DATA_STALE_SECONDS,
    }
    if not stale:
        return Part(ok=True, detail=detail)
    return Part(
        ok=False,
        detail=detail,
        message="no fresh market data for " + ", ".join(names[:5]),
        since=min(stale.values()),
    )
