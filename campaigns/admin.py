"""Operator console for HuFi: campaigns (sync now, join now), joins, participations (join
now), payouts (allocate now), allocations, oracle session. "Join matching campaigns now" on
orders is an action of the orders console (orders sit above campaigns) calling
`orders_join_now` here.

Every action goes through a service and leaves an audit event; payouts, joins,
participations and allocations are read-only (they mirror the outside world or the ledger).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from campaigns.enums import ParticipationStatus
from campaigns.exceptions import HufiUnavailable
from campaigns.models import (
    Allocation,
    Campaign,
    CampaignJoin,
    OracleSession,
    Participation,
    Payout,
)
from campaigns.order_source import OrderFacts, order_source
from campaigns.services import (
    campaign_join,
    campaign_sync,
    order_campaigns_join,
    payout_allocate,
)
from mrmarket.admin import ReadOnlyAdmin
from mrmarket.audit import audit_record
from mrmarket.enums import AuditOutcome


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    list_display = (
        "chain_id",
        "address",
        "exchange_name",
        "symbol",
        "status",
        "start_date",
        "end_date",
        "fund_amount",
        "fund_token_symbol",
        "daily_volume_target",
        "synced_at",
    )
    list_filter = ("status", "exchange_name", "chain_id", "type")
    search_fields = ("address", "symbol", "exchange_name")
    date_hierarchy = "start_date"
    actions = ["sync_now", "join_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # campaigns come from HuFi only

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    @admin.action(description="Sync campaigns from HuFi now", permissions=["operate"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        try:
            result = campaign_sync()
        except HufiUnavailable as exc:
            audit_record(
                action="campaign_sync",
                outcome=AuditOutcome.REJECTED,
                actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
                reason=exc.message,
                request=request,
            )
            messages.error(request, f"HuFi sync failed: {exc.message}")
            return
        audit_record(
            action="campaign_sync",
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            reason="sync now (console)",
            payload={"seen": result.seen, "created": result.created, "ended": result.ended},
            request=request,
        )
        messages.success(
            request,
            f"Synced {result.seen} active campaign(s): {result.created} new, "
            f"{result.ended} ended, {len(result.errors)} error(s).",
        )

    @admin.action(description="Join selected campaigns now", permissions=["operate"])
    def join_now(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        for campaign in queryset:
            result = campaign_join(campaign=campaign, exchange_name=campaign.exchange_name)
            audit_record(
                action="campaign_join",
                outcome=AuditOutcome.OK if result.ok else AuditOutcome.REJECTED,
                actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
                target_type="campaign",
                target_id=campaign.key,
                reason=result.error or "join now (console)",
                payload={"status": result.status},
                request=request,
            )
            level = messages.SUCCESS if result.ok else messages.WARNING
            messages.add_message(
                request, level, f"{campaign.key}: {result.status} {result.error}".strip()
            )


@admin.register(CampaignJoin)
class CampaignJoinAdmin(ReadOnlyAdmin[CampaignJoin]):
    list_display = (
        "campaign",
        "wallet_address",
        "status",
        "attempts",
        "waits",
        "next_attempt_at",
        "joined_at",
        "last_error",
    )
    list_filter = ("status",)
    search_fields = ("campaign__address", "wallet_address")


def orders_join_now(request: HttpRequest, orders: list[OrderFacts]) -> None:
    """Join matching campaigns for each order through the service; one audit event each."""
    for order in orders:
        if not order.participating:
            messages.warning(
                request, f"order {order.order_id} is {order.state}: not trading, skipped"
            )
            continue
        participations = order_campaigns_join(order=order)
        statuses = {p.campaign.key: p.status for p in participations}
        ok = all(status == ParticipationStatus.JOINED for status in statuses.values())
        audit_record(
            action="order_campaigns_join",
            outcome=AuditOutcome.OK if ok else AuditOutcome.REJECTED,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            target_type="order",
            target_id=str(order.order_id),
            reason="join now (console)",
            payload={"participations": statuses},
            request=request,
        )
        if not statuses:
            messages.info(request, f"order {order.order_id}: no active campaign matches it")
        for p in participations:
            level = messages.SUCCESS if p.status == ParticipationStatus.JOINED else messages.WARNING
            text = f"order {order.order_id} in {p.campaign.key}: {p.status} {p.last_error}".strip()
            messages.add_message(request, level, text)


@admin.register(Participation)
class ParticipationAdmin(ReadOnlyAdmin[Participation]):
    list_display = (
        "campaign",
        "order",
        "user",
        "status",
        "joined_at",
        "left_at",
        "attempts",
        "score",
        "window_score",
        "scored_at",
        "last_error",
    )
    list_filter = ("status", "campaign__exchange_name")
    search_fields = ("campaign__address", "order__id", "user__username")
    actions = ["join_now"]

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    @admin.action(
        description="Join now for the selected participations' orders", permissions=["operate"]
    )
    def join_now(self, request: HttpRequest, queryset: QuerySet[Participation]) -> None:
        facts = order_source().orders_get({p.order_id for p in queryset})
        orders_join_now(request, [facts[oid] for oid in sorted(facts)])


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin[Payout]):
    list_display = (
        "block_time",
        "campaign",
        "amount",
        "allocation_status",
        "asset_id",
        "allocated_at",
        "allocation_note",
        "tx_hash",
        "log_index",
    )
    search_fields = ("tx_hash", "campaign__address")
    list_filter = ("chain_id", "allocation_status")
    date_hierarchy = "block_time"
    actions = ["allocate_now"]

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    @admin.action(description="Allocate selected payouts now", permissions=["operate"])
    def allocate_now(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for payout in queryset.order_by("block_number", "log_index"):
            result = payout_allocate(payout_id=payout.pk, actor=request.user)  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            level = messages.SUCCESS if not result.note else messages.WARNING
            messages.add_message(
                request, level, f"{payout.key}: {result.status} {result.note}".strip()
            )


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin[Allocation]):
    list_display = ("created_at", "payout", "user", "score", "amount", "asset_id", "entry_key")
    search_fields = ("payout__tx_hash", "user__username", "entry_key")
    list_filter = ("asset_id",)
    date_hierarchy = "created_at"


@admin.register(OracleSession)
class OracleSessionAdmin(ReadOnlyAdmin[OracleSession]):
    list_display = (
        "wallet_address",
        "access_expires_at",
        "logged_in_at",
        "refreshed_at",
        "login_count",
        "refresh_count",
    )
    exclude = ("access_token_sealed", "refresh_token_sealed")
