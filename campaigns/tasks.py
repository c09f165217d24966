"""Thin Celery tasks of the campaigns app: id-only (here: no arguments), replay-safe."""

from __future__ import annotations

import structlog
from celery import shared_task
from django.conf import settings

from campaigns.exceptions import HufiUnavailable
from campaigns.services import (
    campaign_payouts_scan,
    campaign_sync,
    participations_sync,
    payouts_allocate,
)

log = structlog.get_logger(__name__)


@shared_task(
    name="campaign_sync_task",
    acks_late=True,
    ignore_result=True,
    time_limit=150,
    soft_time_limit=120,
)
def campaign_sync_task() -> None:
    """Hourly: upsert active campaigns. Running it twice upserts the same rows twice."""
    try:
        campaign_sync()
    except HufiUnavailable as exc:
        # Nothing half-done to re-drive: the next beat tries again.
        log.warning("campaign_sync_task_skipped", error=exc.message)


@shared_task(
    name="campaign_payouts_scan_task",
    acks_late=True,
    ignore_result=True,
    time_limit=300,
    soft_time_limit=270,
)
def campaign_payouts_scan_task() -> None:
    """Read confirmed reward transfers from the cursor on; a re-run records nothing twice."""
    if not settings.HUFI_CHAIN_RPC_URL:
        log.info("campaign_payouts_scan_disabled")
        return
    try:
        campaign_payouts_scan()
    except HufiUnavailable as exc:
        log.warning("campaign_payouts_scan_task_skipped", error=exc.message)


# Joins stop being started after this many seconds so the run ends well inside its soft
# limit even when HuFi answers slowly (each join is itself bounded by its deadline).
PARTICIPATIONS_JOIN_BUDGET_SECONDS = 60


@shared_task(
    name="campaign_participations_sync_task",
    acks_late=True,
    ignore_result=True,
    time_limit=180,
    soft_time_limit=150,
)
def campaign_participations_sync_task() -> None:
    """Join campaigns for running orders beside trading, mark exited orders left, refresh
    estimates. Twice is harmless: joins and participations are idempotent per key."""
    participations_sync(budget_seconds=PARTICIPATIONS_JOIN_BUDGET_SECONDS)


@shared_task(
    name="campaign_payouts_allocate_task",
    acks_late=True,
    ignore_result=True,
    time_limit=300,
    soft_time_limit=270,
)
def campaign_payouts_allocate_task() -> None:
    """Share recorded payouts with users. Twice credits once: each payout is allocated under
    its row lock and every ledger entry has a deterministic key."""
    payouts_allocate()
