"""The operator console for the strategy runtime. Records (intents, tracked orders, fills)
are read-only; session controls and kill switches go through `strategy.services`, with a
reason, and are audited there."""

from __future__ import annotations

from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html

from mrmarket.exceptions import DomainError
from strategy import services
from strategy.enums import KillScope
from strategy.models import Fill, KillSwitch, OrderIntent, StrategySession, TrackedOrder

_M = TypeVar("_M", bound=Model)


class _ReadOnly(admin.ModelAdmin[_M]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReasonForm(forms.Form):
    # Stripped first: a blank reason is refused with an error, never ignored.
    reason = forms.CharField(widget=forms.Textarea, required=True, min_length=3, strip=True)


def _with_reason(
    admin_obj: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[Any], action: str
) -> HttpResponse | None:
    """Two-step action: ask for a reason, then apply the service to each row. An invalid
    reason shows the form again with its error."""
    form = ReasonForm(request.POST) if "apply" in request.POST else ReasonForm()
    if "apply" in request.POST:
        if form.is_valid():
            done = 0
            for session in queryset:
                try:
                    services.session_control(
                        session_id=session.pk,
                        action=action,
                        actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
                        reason=form.cleaned_data["reason"],
                    )
                    done += 1
                except DomainError as exc:
                    admin_obj.message_user(request, f"session {session.pk}: {exc}", messages.ERROR)
            admin_obj.message_user(request, f"{action}: {done} session(s).", messages.SUCCESS)
            return None
    return render(
        request,
        "admin/strategy/reason.html",
        {
            "title": f"{action.title()} sessions",
            "queryset": queryset,
            "action": f"{action}_sessions",
            "form": form,
            "opts": admin_obj.model._meta,
        },
    )


@admin.register(StrategySession)
class StrategySessionAdmin(_ReadOnly[StrategySession]):
    list_display = (
        "id",
        "kind",
        "order",
        "owner",
        "client_id",
        "exchange_id",
        "symbol",
        "state",
        "next_run_at",
        "run_count",
        "last_error",
    )
    list_filter = ("state", "kind", "exchange_id")
    search_fields = ("id", "client_id", "order__id", "symbol")
    actions = ["pause_sessions", "start_sessions", "stop_sessions"]

    @admin.action(description="Pause (cancels live orders)", permissions=["view"])
    def pause_sessions(
        self, request: HttpRequest, queryset: QuerySet[StrategySession]
    ) -> HttpResponse | None:
        return _with_reason(self, request, queryset, "pause")

    @admin.action(description="Start / resume", permissions=["view"])
    def start_sessions(
        self, request: HttpRequest, queryset: QuerySet[StrategySession]
    ) -> HttpResponse | None:
        return _with_reason(self, request, queryset, "start")

    @admin.action(description="Stop for good (cancels live orders)", permissions=["view"])
    def stop_sessions(
        self, request: HttpRequest, queryset: QuerySet[StrategySession]
    ) -> HttpResponse | None:
        return _with_reason(self, request, queryset, "stop")


@admin.register(OrderIntent)
class OrderIntentAdmin(_ReadOnly[OrderIntent]):
    list_display = (
        "id",
        "session",
        "kind",
        "client_order_id",
        "side",
        "level",
        "price",
        "amount",
        "status",
        "attempts",
        "last_error",
        "created_at",
    )
    list_filter = ("status", "kind", "exchange_id")
    search_fields = ("client_order_id", "venue_order_id", "session__id", "session__order__id")


@admin.register(TrackedOrder)
class TrackedOrderAdmin(_ReadOnly[TrackedOrder]):
    list_display = (
        "id",
        "session",
        "exchange_id",
        "account_index",
        "symbol",
        "client_order_id",
        "side",
        "price",
        "amount",
        "filled",
        "status",
        "hanging",
        "not_found_count",
        "created_at",
    )
    list_filter = ("status", "exchange_id", "hanging")
    search_fields = ("client_order_id", "venue_order_id", "session__order__id")


@admin.register(Fill)
class FillAdmin(_ReadOnly[Fill]):
    list_display = (
        "id",
        "exchange_id",
        "trade_id",
        "symbol",
        "side",
        "price",
        "amount",
        "fee",
        "fee_currency",
        "taker_or_maker",
        "executed_at",
        "ledger_key",
        "settle_error",
    )
    list_filter = ("exchange_id", "side")
    search_fields = ("trade_id", "order__id", "ledger_key")


class KillSwitchForm(forms.ModelForm[KillSwitch]):
    """Halt or release. The reason is always this change's own (never pre-filled with the
    halt's), and a halt must name an existing venue, pair or session."""

    class Meta:
        model = KillSwitch
        fields = ("scope", "key", "active", "reason")

    reason = forms.CharField(
        widget=forms.Textarea,
        required=True,
        min_length=3,
        strip=True,
        help_text="Why you change it now (recorded in the audit log).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["reason"] = ""
        if self.instance.pk:
            self.fields["active"].label = "Halted (untick to release)"

    def _get_validation_exclusions(self) -> set[str]:
        # Adding a halt whose (scope, key) row exists re-applies it (`kill_switch_set`
        # upserts and normalises the key), so the model's (scope, key) constraints are not
        # the form's to check.
        return {*super()._get_validation_exclusions(), "scope", "key"}  # type: ignore[misc]  # Django private API, absent from the stubs

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scope, key = (
            data.get("scope") or self.instance.scope,
            (data.get("key") or self.instance.key or "").strip(),
        )
        if data.get("active") and scope and scope != KillScope.GLOBAL:
            try:
                services.kill_switch_target_check(scope=scope, key=key)
            except DomainError as exc:
                raise forms.ValidationError(str(exc.message)) from exc
        return data


@admin.register(KillSwitch)
class KillSwitchAdmin(admin.ModelAdmin[KillSwitch]):
    """Halts: flipped only through `kill_switch_set` (audited), never deleted (history)."""

    form = KillSwitchForm
    list_display = ("scope", "key", "halted", "reason", "actor", "changed_at", "stops")
    list_filter = ("scope", "active")

    @admin.display(description="State", ordering="active")
    def halted(self, obj: KillSwitch) -> str:
        if obj.active:
            return format_html('<strong style="color:#c0392b">HALTED</strong>')
        return format_html('<span style="color:#2e9a4f">released</span>')

    @admin.display(description="Would stop now")
    def stops(self, obj: KillSwitch) -> str:
        p = services.kill_switch_preview(scope=obj.scope, key=obj.key)
        return f"{p['runningSessions']} running session(s), {p['openOrders']} open order(s)"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("scope", "key", "stops") if obj else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KillSwitch, form: Any, change: bool) -> None:
        saved = services.kill_switch_set(
            scope=obj.scope,
            key=obj.key,
            active=obj.active,
            actor=request.user,  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
            reason=form.cleaned_data["reason"],
        )
        obj.pk = saved.pk
