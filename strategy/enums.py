"""Choices of the strategy runtime's models."""

from __future__ import annotations

from django.db import models


class SessionKind(models.TextChoices):
    PURE_MARKET_MAKING = "pure_market_making", "Pure market making"
    ARBITRAGE = "arbitrage", "Arbitrage"


class SessionState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    STOPPED = "stopped", "Stopped"  # final: never runs again


class IntentKind(models.TextChoices):
    PLACE = "place", "Place"
    CANCEL = "cancel", "Cancel"


class IntentStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # written, waiting for the executor
    SENDING = "sending", "Sending"  # claimed by an executor; the venue may have it already
    SENT = "sent", "Sent"  # a place the venue acknowledged (the order is tracked)
    DONE = "done", "Done"  # a cancel that landed (or found the order already closed)
    FAILED = "failed", "Failed"  # a final venue error, or retries exhausted
    CANCELED = "canceled", "Canceled"  # never sent: superseded (pause/stop) or halted
    DRY_RUN = "dry_run", "Dry run"  # recorded only (STRATEGY_DRY_RUN)


# Intents the executor still has to act on: they count as "in flight".
INTENT_ACTIVE = (IntentStatus.PENDING, IntentStatus.SENDING)
# The same, as a SQL list for the raw statements of the tick's hot path.
INTENT_ACTIVE_SQL = "(" + ", ".join(f"'{status.value}'" for status in INTENT_ACTIVE) + ")"


class TrackedStatus(models.TextChoices):
    OPEN = "open", "Open"  # resting on the venue, possibly partially filled
    CLOSED = "closed", "Closed"  # fully filled
    CANCELED = "canceled", "Canceled"
    LOST = "lost", "Lost"  # not found on the venue three times in a row


TRACKED_LIVE = (TrackedStatus.OPEN,)


class KillScope(models.TextChoices):
    GLOBAL = "global", "Global"  # key ""
    VENUE = "venue", "Venue"  # key: exchange id
    PAIR = "pair", "Pair"  # key: unified symbol, on every venue ("BTC/USDT")
    SESSION = "session", "Session"  # key: session id
