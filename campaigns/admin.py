"""Operator console for HuFi: campaigns (sync now, join now), joins, payouts, oracle session.

Every action goes through a service and leaves an audit event; payouts and joins are
read-only (they mirror the outside world).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from campaigns.exceptions import HufiUnavailable
from campaigns.models import Campaign, CampaignJoin, OracleSession, Payout
from campaigns.services import campaign_join, campaign_sync
from mrmarket.admin import ReadOnlyAdmin
from mrmarket.audit import audit_record
from mrmarket.enums import AuditOutcome


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
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
                actor=request.user,  # type: ignore[arg-type]
                reason=exc.message,
                request=request,
            )
            messages.error(request, f"HuFi sync failed: {exc.message}")
            return
        audit_record(
            action="campaign_sync",
            actor=request.user,  # type: ignore[arg-type]
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
                actor=request.user,  # type: ignore[arg-type]
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
class CampaignJoinAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "wallet_address", "status", "attempts", "joined_at", "last_error")
    list_filter = ("status",)
    search_fields = ("campaign__address", "wallet_address")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("block_time", "campaign", "amount", "token_address", "tx_hash", "log_index")
    search_fields = ("tx_hash", "campaign__address")
    list_filter = ("chain_id",)
    date_hierarchy = "block_time"


@admin.register(OracleSession)
class OracleSessionAdmin(ReadOnlyAdmin):
    list_display = (
        "wallet_address",
        "access_expires_at",
        "logged_in_at",
        "refreshed_at",
        "login_count",
        "refresh_count",
    )
    exclude = ("access_token_sealed", "refresh_token_sealed")
