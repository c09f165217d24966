"""Operator console: users, tokens (revoke through the service), the audit log, heartbeats."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from mrmarket.login_policy import TooManyAttempts, login_failed, login_guard, login_succeeded
from mrmarket.models import AuditEvent, AuthToken, Heartbeat, User
from mrmarket.services import token_revoke

_M = TypeVar("_M", bound=Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    """Audit and ledger screens are read-only: no add, change or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    list_display = (
        "username",
        "full_name",
        "identity_number",
        "is_mixin_user",
        "is_staff",
        "is_active",
    )
    list_filter = ("is_mixin_user", "is_staff", "is_active")
    search_fields = ("username", "full_name", "identity_number", "id")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Mixin", {"fields": ("is_mixin_user", "identity_number", "full_name", "avatar_url")}),
    )


@admin.register(AuthToken)
class AuthTokenAdmin(ReadOnlyAdmin[AuthToken]):
    list_display = (
        "id",
        "user",
        "kind",
        "label",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("kind",)
    search_fields = ("user__username", "user__full_name", "id")
    exclude = ("digest",)
    actions = ["revoke_tokens"]

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[AuthToken]) -> None:
        for token in queryset:
            token_revoke(token=token, actor=request.user, reason="revoked in console")  # type: ignore[arg-type]  # authenticated view: request.user is a User, not AnonymousUser
        messages.success(request, f"Revoked {queryset.count()} token(s).")

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin[AuditEvent]):
    list_display = (
        "created_at",
        "action",
        "outcome",
        "actor",
        "target_type",
        "target_id",
        "reason",
    )
    list_filter = ("outcome", "target_type")
    search_fields = ("action", "target_id", "reason", "trace_id")
    date_hierarchy = "created_at"


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin[Heartbeat]):
    list_display = ("name", "last_beat_at", "count")


class ConsoleLoginForm(AdminAuthenticationForm):
    """The console's login under the same policy as `POST /auth/login` (mrmarket.login_policy):
    throttle and lockout per account and client address, every attempt audited."""

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        try:
            login_guard(account=username, request=self.request, channel="console")
        except TooManyAttempts as exc:
            raise ValidationError(exc.message, code="too_many_requests") from None
        try:
            data = super().clean()
        except ValidationError:
            login_failed(account=username, request=self.request, channel="console")
            raise
        user = self.get_user()
        login_succeeded(account=username, user=user, request=self.request, channel="console")
        return data


admin.site.login_form = ConsoleLoginForm
