"""exchanges: reads."""

from __future__ import annotations


def venue_health_list() -> list[dict[str, str]]:
    """`[{name, status}]` of every enabled venue, for /health.

    No venue model exists until the exchanges app lands; until then there are no venues to report.
    """
    return []
