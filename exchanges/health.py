"""The venues' part in /health/system-status (registered in mrmarket.health's registry)."""

from __future__ import annotations

from datetime import UTC, datetime

from exchanges.enums import VenueHealth
from exchanges.selectors import venue_health_list
from mrmarket.health import Context, Part, health_check


@health_check("exchanges")
def venues_reachable(ctx: Context) -> Part:
    """Each enabled venue by the outcome of its last call (probed when none is recent)."""
    venues = venue_health_list(with_since=True)
    down = [v for v in venues if v["status"] != VenueHealth.OK]
    detail = [{"name": v["name"], "status": v["status"]} for v in venues]
    if not down:
        return Part(ok=True, detail=detail)
    stamps = [v["since"] for v in down if v.get("since") is not None]
    return Part(
        ok=False,
        detail=detail,
        message="venue(s) unreachable: " + ", ".join(f"{v['name']} ({v['status']})" for v in down),
        since=datetime.fromtimestamp(min(stamps), UTC) if stamps else None,
    )
