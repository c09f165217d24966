"""Orders' parts in campaigns.

`participation_record` turns a `JoinResult` into the order's `Participation` (idempotent
per (campaign, order); a success upgrades a failure, nothing downgrades a join).
`participations_sync` (beat) joins for running/paused orders that match an active
campaign and have no joined participation, beside trading — it never touches an order —
marks exited orders' participations `left`, and refreshes the stored score estimates.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import fills as fills_seam
from campaigns.enums import (
    JoinStatus,
    ParticipationStatus,
)
from campaigns.exceptions import ParticipationConflict
from campaigns.hufi.tokens import OracleTokenManager
from campaigns.models import (
    Campaign,
    CampaignJoin,
    Participation,
)
from campaigns.order_source import OrderFacts, order_facts, order_source
from campaigns.scoring import fills_score, fills_volume
from campaigns.selectors import (
    campaign_matching,
    normalize_exchange_name,
    normalize_symbol,
)
from campaigns.services.join import JoinResult, campaign_join

log = structlog.get_logger(__name__)


def participation_record(
    *, campaign: Campaign, order_id: uuid.UUID | str, user_id: uuid.UUID | str, result: JoinResult
) -> Participation:
    """Record what joining `campaign` for this order gave. Idempotent per (campaign, order).

    A success marks it `joined` (from now on the order's fills count); a failure records the
    error and the attempt; a later success upgrades a failure; nothing downgrades a join, and
    a `left` participation stays left (the order stopped trading).
    """
    order_id = order_id if isinstance(order_id, uuid.UUID) else uuid.UUID(str(order_id))
    now = timezone.now()
    ok = result.ok
    error = "" if ok else (result.error or result.status)
    with transaction.atomic():
        participation = (
            Participation.objects.select_for_update()
            .filter(campaign=campaign, order_id=order_id)
            .first()
        )
        if participation is None:
            facts = order_facts(order_id)
            if facts is None or str(facts.user_id) != str(user_id):
                raise ParticipationConflict(f"order {order_id} is not an order of user {user_id}")
            try:
                with transaction.atomic():
                    participation = Participation.objects.create(
                        campaign=campaign,
                        order_id=order_id,
                        user_id=user_id,
                        status=ParticipationStatus.JOINED if ok else ParticipationStatus.FAILED,
                        joined_at=now if ok else None,
                        last_error=error,
                        attempts=1,
                    )
                log.info(
                    "participation_recorded",
                    campaign=campaign.key,
                    order_id=str(order_id),
                    status=participation.status,
                    join_status=result.status,
                )
                return participation
            except IntegrityError:
                # A concurrent caller inserted it first: continue as an update of its row.
                participation = Participation.objects.select_for_update().get(
                    campaign=campaign, order_id=order_id
                )
        if str(participation.user_id) != str(user_id):
            raise ParticipationConflict(
                f"participation of order {order_id} belongs to another user"
            )
        if participation.status in (ParticipationStatus.JOINED, ParticipationStatus.LEFT):
            return participation
        participation.attempts += 1
        if ok:
            participation.status = ParticipationStatus.JOINED
            participation.joined_at = now
            participation.last_error = ""
        else:
            participation.last_error = error
        participation.save(
            update_fields=["status", "joined_at", "last_error", "attempts", "updated_at"]
        )
    log.info(
        "participation_recorded",
        campaign=campaign.key,
        order_id=str(order_id),
        status=participation.status,
        join_status=result.status,
    )
    return participation


def participations_leave_exited(*, now: datetime | None = None) -> int:
    """Mark `left` the participations of orders that stopped trading; returns how many."""
    now = now or timezone.now()
    open_parts = list(
        Participation.objects.filter(
            status__in=[ParticipationStatus.JOINED, ParticipationStatus.FAILED]
        ).order_by("id")
    )
    orders = order_source().orders_get({p.order_id for p in open_parts})
    left = 0
    for p in open_parts:
        order = orders.get(p.order_id)
        if order is None or order.participating:
            continue  # still trading (an order row is never deleted: PROTECT)
        # The order stopped trading when it left the participating states, at the latest now.
        left_at = min(order.state_changed_at, now)
        if p.joined_at is not None and left_at < p.joined_at:
            left_at = p.joined_at
        left += Participation.objects.filter(
            pk=p.pk, status__in=[ParticipationStatus.JOINED, ParticipationStatus.FAILED]
        ).update(status=ParticipationStatus.LEFT, left_at=left_at, updated_at=now)
        log.info("participation_left", campaign_id=p.campaign_id, order_id=str(p.order_id))
    return left


def order_campaigns_join(
    *, order: OrderFacts, manager: OracleTokenManager | None = None
) -> list[Participation]:
    """Join every active campaign matching the order's venue and pair that it has not joined
    yet, and record its participations. Outside any transaction (the join talks to HuFi)."""
    venue = normalize_exchange_name(order.exchange_id)
    recorded = []
    for campaign in campaign_matching(exchange_name=venue, symbol=order.symbol):
        joined = Participation.objects.filter(
            campaign=campaign, order_id=order.order_id, status=ParticipationStatus.JOINED
        ).first()
        if joined is not None:
            recorded.append(joined)
            continue
        result = campaign_join(campaign=campaign, exchange_name=venue, manager=manager)
        recorded.append(
            participation_record(
                campaign=campaign, order_id=order.order_id, user_id=order.user_id, result=result
            )
        )
    return recorded


@dataclass
class ParticipationsSyncResult:
    joined: int = 0
    failed: int = 0
    left: int = 0
    # Joins not attempted this run: HuFi already failed once (fail fast) or the budget ran out.
    deferred: int = 0
    scored: int = 0


def participations_sync(
    *,
    now: datetime | None = None,
    budget_seconds: float | None = None,
    manager: OracleTokenManager | None = None,
) -> ParticipationsSyncResult:
    """Beside trading, never before it: join campaigns for running/paused orders that match
    one and have no joined participation, mark exited orders' participations left, refresh
    the score estimates. Orders are only read; a HuFi outage costs one join deadline per run
    (the first failed join stops the others until the next run)."""
    now = now or timezone.now()
    started = time.monotonic()
    result = ParticipationsSyncResult()
    result.left = participations_leave_exited(now=now)

    orders = order_source().orders_joinable()
    markets: dict[tuple[str, str], list[OrderFacts]] = defaultdict(list)
    for order in orders:
        venue = normalize_exchange_name(order.exchange_id)
        markets[(venue, normalize_symbol(order.symbol))].append(order)
    joined_pairs = set(
        Participation.objects.filter(
            status=ParticipationStatus.JOINED, order_id__in=[o.order_id for o in orders]
        ).values_list("campaign_id", "order_id")
    )

    # HuFi said these cannot be joined (final): asking again every run would only churn.
    closed = set(
        CampaignJoin.objects.filter(status=JoinStatus.CLOSED).values_list("campaign_id", flat=True)
    )
    # HuFi does not know these yet and their backoff runs: no call before `next_attempt_at`.
    waiting = {
        j.campaign_id: j
        for j in CampaignJoin.objects.filter(status=JoinStatus.WAITING, next_attempt_at__gt=now)
    }
    recorded = set(Participation.objects.values_list("campaign_id", "order_id"))
    stop_joining = False
    for (venue, symbol), group in markets.items():
        for campaign in campaign_matching(exchange_name=venue, symbol=symbol, at=now):
            todo = [o for o in group if (campaign.pk, o.order_id) not in joined_pairs]
            if not todo or campaign.pk in closed:
                continue
            if campaign.pk in waiting:
                # Say why on a new order's participation; others already say it.
                said = JoinResult(status="waiting", error=waiting[campaign.pk].last_error)
                for order in todo:
                    if (campaign.pk, order.order_id) not in recorded:
                        participation_record(
                            campaign=campaign,
                            order_id=order.order_id,
                            user_id=order.user_id,
                            result=said,
                        )
                result.deferred += len(todo)
                continue
            over_budget = (
                budget_seconds is not None and time.monotonic() - started >= budget_seconds
            )
            if stop_joining or over_budget:
                result.deferred += len(todo)
                continue
            # One wallet join per campaign serves every order in it (CampaignJoin is per wallet).
            join = campaign_join(campaign=campaign, exchange_name=venue, manager=manager)
            for order in todo:
                participation_record(
                    campaign=campaign, order_id=order.order_id, user_id=order.user_id, result=join
                )
            if join.ok:
                result.joined += len(todo)
            else:
                result.failed += len(todo)
                if join.status == "failed":
                    stop_joining = (
                        True  # HuFi is down or slow: do not spend a deadline per campaign
                    )
    result.scored = participation_scores_refresh(now=now)
    log.info(
        "participations_synced",
        joined=result.joined,
        failed=result.failed,
        left=result.left,
        deferred=result.deferred,
        scored=result.scored,
    )
    return result


def participation_scores_refresh(*, now: datetime | None = None) -> int:
    """Recompute the stored volume/score of joined participations: since joining, and over
    the last 24 hours. Full recomputation from fills (no running totals) so a fill recorded
    late is counted too. Returns how many were refreshed."""
    now = now or timezone.now()
    window_start = now - timedelta(hours=24)
    parts = Participation.objects.filter(
        status=ParticipationStatus.JOINED, campaign__end_date__gt=window_start
    ).select_related("campaign")
    refreshed = 0
    for p in parts.order_by("id"):
        assert p.joined_at is not None  # a database check: joined ⇒ joined_at
        end = min(now, p.campaign.end_date)
        try:
            fills = fills_seam.fills_between(
                fills_seam.order_fills_since(order_id=p.order_id, since=p.joined_at),
                start=p.joined_at,
                end=end,
            )
        except fills_seam.FillRecordInvalid as exc:
            log.error("participation_score_failed", participation_id=p.pk, error=str(exc))
            continue
        window = fills_seam.fills_between(fills, start=window_start, end=end)
        Participation.objects.filter(pk=p.pk).update(
            volume=fills_volume(fills),
            score=fills_score(fills),
            window_volume=fills_volume(window),
            window_score=fills_score(window),
            scored_at=now,
        )
        refreshed += 1
    return refreshed
