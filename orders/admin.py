"""Operator console for orders: state filters, the event log inline, the order's ledger
balances, and the controls (pause, resume, stop, exit, fail) — each through its service, each
asking for a reason, each audited — and "join matching campaigns now" (superusers; the
campaigns console's helper, audited per order). Records (events, snapshots, transfers) are
read-only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from campaigns.admin import orders_join_now
from mrmarket.admin import ReadOnlyAdmin
from mrmarket.exceptions import DomainError
from orders import selectors
from orders.campaign_source import order_facts_of
from orders.models import CustodyTransfer, MarketMakingOrder, OrderEvent, PaymentSnapshot
from orders.services import controls


class ReasonForm(forms.Form):
    # Stripped before the length check: a reason of spaces is no reason.
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), min_length=3, strip=True)


class OrderEventInline(admin.TabularInline[OrderEvent, MarketMakingOrder]):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "from_state", "to_state", "trigger", "actor", "reason", "task_id")
    readonly_fields = fields
    ordering = ("id",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _control_action(name: str, label: str, service: Callable[..., MarketMakingOrder]) -> Any:
    def action(
        modeladmin: Any, request: HttpRequest, queryset: QuerySet[MarketMakingOrder]
    ) -> HttpResponse | None:
        form = ReasonForm(request.POST if "confirm" in request.POST else None)
        if "confirm" in request.POST and form.is_valid():
            done, refused = 0, []
            for order in queryset:
                try:
                    service(
                        order_id=order.pk, actor=request.user, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except DomainError as exc:
                    refused.append(f"{order.pk}: {exc.message}")
            if done:
                messages.success(request, f"{label}: {done} order(s).")
            for line in refused:
                messages.error(request, line)
            return None
        return TemplateResponse(
            request,
            "admin/orders/action_reason.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": f"{label} — give a reason",
                "action": name,
                "label": label,
                "orders": queryset,
                "form": form,
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = name
    # "view": the order record itself is read-only (no Save); controls go through services.
    return admin.action(description=f"{label} (asks for a reason)", permissions=["view"])(action)


@admin.register(MarketMakingOrder)
class MarketMakingOrderAdmin(admin.ModelAdmin[MarketMakingOrder]):
    list_display = (
        "cockpit_link",
        "user",
        "pair",
        "state",
        "state_changed_at",
        "next_step_at",
        "created_at",
    )
    list_filter = ("state", "pair__exchange", "pair")
    search_fields = ("id", "user__username", "user__full_name", "memo")
    date_hierarchy = "created_at"
    inlines = [OrderEventInline]
    readonly_fields = (
        ["cockpit_link"] + [f.name for f in MarketMakingOrder._meta.fields] + ["ledger_balances"]
    )
    actions = [
        _control_action("pause_orders", "Pause", controls.order_pause),
        _control_action("resume_orders", "Resume", controls.order_resume),
        _control_action("stop_orders", "Stop", controls.order_stop),
        _control_action("exit_orders", "Exit and refund", controls.order_exit),
        _control_action("fail_orders", "Fail and refund", controls.order_fail),
        "join_campaigns_now",
    ]

    def has_operate_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    @admin.action(description="Join matching campaigns now", permissions=["operate"])
    def join_campaigns_now(
        self, request: HttpRequest, queryset: QuerySet[MarketMakingOrder]
    ) -> None:
        orders = queryset.select_related("pair", "venue_account__exchange")
        orders_join_now(request, [order_facts_of(o) for o in orders])

    @admin.display(description="Order")
    def cockpit_link(self, obj: MarketMakingOrder) -> str:
        return format_html(
            '<a href="{}">{} — what is it doing?</a>',
            reverse("console-order", args=[obj.pk]),
            obj.pk,
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # read-only record: no Save button that would report a change

    @admin.display(description="Ledger balances (available)")
    def ledger_balances(self, obj: MarketMakingOrder) -> str:
        rows = selectors.order_balances(obj)
        if not rows:
            return "—"
        return format_html_join(
            "", "<div>{}: {}</div>", ((a, selectors.money(v)) for a, v in rows.items())
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders are born from a user's intent, never typed in

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyAdmin[OrderEvent]):
    list_display = ("created_at", "order", "from_state", "to_state", "trigger", "actor", "reason")
    list_filter = ("trigger", "to_state")
    search_fields = ("order__id", "reason", "trace_id", "task_id")
    date_hierarchy = "created_at"


@admin.register(PaymentSnapshot)
class PaymentSnapshotAdmin(ReadOnlyAdmin[PaymentSnapshot]):
    list_display = (
        "snapshot_id",
        "snapshot_created_at",
        "asset_id",
        "amount",
        "opponent_id",
        "status",
        "order",
        "role",
        "reason",
    )
    list_filter = ("status", "role")
    search_fields = ("snapshot_id", "opponent_id", "transaction_hash", "order__id")


@admin.register(CustodyTransfer)
class CustodyTransferAdmin(ReadOnlyAdmin[CustodyTransfer]):
    list_display = (
        "request_id",
        "purpose",
        "status",
        "order",
        "asset_id",
        "amount",
        "fee_amount",
        "attempts",
        "last_error",
        "created_at",
    )
    list_filter = ("purpose", "status")
    search_fields = ("request_id", "order__id", "transaction_hash", "destination")
