"""Operator console for the ledger: accounts, balances, entries with postings. Read-only.

Nothing here writes: money moves only through ledger.services (STYLE §10).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ledger.models import Account, AccountBalance, JournalEntry, Posting
from mrmarket.admin import ReadOnlyAdmin


class OwnerKindFilter(admin.SimpleListFilter):
    """Whose account it is: custody, a user, an order, fees, revenue, rewards."""

    title = "owner"
    parameter_name = "owner"
    _PREFIXES = {
        "custody": "custody:",
        "user": "user:",
        "order": "order:",
        "fees": "fees:",
        "revenue": "revenue:",
        "rewards": "rewards:",
    }

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [(key, key) for key in self._PREFIXES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Account]) -> QuerySet[Account]:
        prefix = self._PREFIXES.get(self.value() or "")
        return queryset.filter(code__startswith=prefix) if prefix else queryset


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin[Account]):
    list_display = (
        "id",
        "code",
        "asset",
        "kind",
        "user_id",
        "order_id",
        "venue",
        "venue_account",
        "created_at",
    )
    list_filter = ("kind", OwnerKindFilter, "venue", "created_at")
    search_fields = ("code", "asset", "user_id", "order_id", "venue_account")
    ordering = ("id",)
    show_full_result_count = False


@admin.register(AccountBalance)
class AccountBalanceAdmin(ReadOnlyAdmin[AccountBalance]):
    list_display = (
        "code",
        "asset",
        "kind",
        "balance_posted",
        "balance_available",
        "debits_posted",
        "credits_posted",
        "debits_pending",
        "credits_pending",
    )
    list_filter = ("kind", OwnerKindFilter, "venue")
    search_fields = ("code", "asset", "user_id", "order_id")
    ordering = ("code", "asset")
    show_full_result_count = False


class PostingInline(admin.TabularInline[Posting, JournalEntry]):
    model = Posting
    fields = ("account", "account_asset", "debit", "credit")
    readonly_fields = ("account", "account_asset", "debit", "credit")
    extra = 0
    can_delete = False

    @admin.display(description="asset")
    def account_asset(self, obj: Posting) -> str:
        return obj.account.asset

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Posting]:
        return super().get_queryset(request).select_related("account")


class EntryAssetFilter(admin.SimpleListFilter):
    """Entries moving one asset (by Mixin asset id)."""

    title = "asset"
    parameter_name = "asset"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        assets = Account.objects.order_by("asset").values_list("asset", flat=True).distinct()[:200]
        return [(a, a) for a in assets]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[JournalEntry]
    ) -> QuerySet[JournalEntry]:
        if not self.value():
            return queryset
        return queryset.filter(
            id__in=Posting.objects.filter(account__asset=self.value()).values("entry_id")
        )


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin[JournalEntry]):
    list_display = (
        "id",
        "created_at",
        "kind",
        "status",
        "reference",
        "idempotency_key",
        "resolved_at",
    )
    list_filter = ("kind", "status", "two_phase", EntryAssetFilter, "created_at")
    # Owner search: account codes embed the user / order uuid, venue and venue account.
    search_fields = ("=reference", "=idempotency_key", "postings__account__code")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    inlines = [PostingInline]
    show_full_result_count = False
