"""Console pages of the paper venue: read-only views of its book, fills and wallet.

Balances change only through matching and the deposit/withdraw services, never by hand.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from exchanges.paper.models import (
    PaperBalance,
    PaperCandle,
    PaperDeposit,
    PaperMarket,
    PaperOrder,
    PaperTrade,
    PaperWithdrawal,
)

_M = TypeVar("_M", bound=Model)


class _ReadOnly(admin.ModelAdmin[_M]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PaperMarket)
class PaperMarketAdmin(_ReadOnly[PaperMarket]):
    list_display = (
        "venue",
        "symbol",
        "feed_kind",
        "feed_price",
        "feed_volatility",
        "maker_fee",
        "taker_fee",
        "active",
    )
    list_filter = ("venue", "feed_kind", "active")


@admin.register(PaperBalance)
class PaperBalanceAdmin(_ReadOnly[PaperBalance]):
    list_display = ("venue", "account", "asset", "free", "used", "updated_at")
    list_filter = ("venue", "asset")
    search_fields = ("account",)


@admin.register(PaperOrder)
class PaperOrderAdmin(_ReadOnly[PaperOrder]):
    list_display = (
        "order_id",
        "venue",
        "account",
        "client_order_id",
        "side",
        "price",
        "amount",
        "filled",
        "status",
    )
    list_filter = ("venue", "status", "side")
    search_fields = ("order_id", "client_order_id", "account")


@admin.register(PaperTrade)
class PaperTradeAdmin(_ReadOnly[PaperTrade]):
    list_display = (
        "trade_id",
        "venue",
        "account",
        "order_id",
        "side",
        "price",
        "amount",
        "fee",
        "fee_asset",
        "taker_or_maker",
    )
    list_filter = ("venue", "taker_or_maker")
    search_fields = ("trade_id", "order_id", "account")


@admin.register(PaperCandle)
class PaperCandleAdmin(_ReadOnly[PaperCandle]):
    list_display = ("market", "open_time_ms", "open", "high", "low", "close", "volume")


@admin.register(PaperDeposit)
class PaperDepositAdmin(_ReadOnly[PaperDeposit]):
    list_display = ("venue", "account", "asset", "amount", "txid", "created_at")
    search_fields = ("txid", "account")


@admin.register(PaperWithdrawal)
class PaperWithdrawalAdmin(_ReadOnly[PaperWithdrawal]):
    list_display = (
        "venue",
        "account",
        "asset",
        "amount",
        "client_id",
        "txid",
        "status",
        "created_at",
    )
    search_fields = ("client_id", "txid", "account")
