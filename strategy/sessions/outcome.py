"""What one session run did (or why it did not run)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RunOutcome:
    session_id: int
    ran: bool
    reason: str = ""
    lateness_ms: float = 0.0
    places: int = 0
    cancels: int = 0
    intent_ids: list[int] = field(default_factory=list)
