"""Changelist columns for people, on every admin page: prices and amounts of a market to the
venue's precision (its tick and lot, `console.precision`), other amounts to at most 8
decimals without trailing zeros (not the column's 18; a ledger amount's asset precision),
asset ids as their symbols. Times are handled for the whole console by the format module
(seconds and UTC, mrmarket/formats/).

A changelist whose rows name a market looks the steps up once for the page (its rows are
fetched when the changelist is built and kept for the template), not once per row.

A record's own page keeps the exact stored value: that is the audit view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html

from console.formatting import ROUNDED_MARK, amount, asset_symbol, stepped
from console.precision import MarketSteps, paper_steps_attach, steps_attach, steps_of
from exchanges.paper.models import PaperMarket

ASSET_FIELD_NAMES = {"asset", "asset_id"}
# Columns of a market row shown to the venue's step: prices to its tick, base amounts to its
# lot. Other decimals of those rows (quote amounts, fees, rates) keep the 8-decimal rule.
PRICE_FIELD_NAMES = {"price", "feed_price", "open", "high", "low", "close"}
AMOUNT_FIELD_NAMES = {"amount", "filled", "venue_filled", "volume"}
STEP_TOOLTIP = (
    "To the venue's {step} for the row's market; at most 8 decimals where the market's "
    "precision is unknown. " + ROUNDED_MARK + ": rounded for display (the record's page "
    "shows the exact value)."
)


def _is_asset_field(field: models.Field[Any, Any]) -> bool:
    if not isinstance(field, models.CharField | models.UUIDField):
        return False
    return field.name in ASSET_FIELD_NAMES or field.name.endswith("_asset_id")


def _column(field: models.Field[Any, Any], show: Callable[[Any], str]) -> Callable[[Any], str]:
    name = field.name

    def column(obj: Any) -> str:
        return show(getattr(obj, name))

    column.short_description = str(field.verbose_name)  # type: ignore[attr-defined]  # Django admin reads display attributes off the function
    column.admin_order_field = name  # type: ignore[attr-defined]  # Django admin reads display attributes off the function
    column.__name__ = f"{name}_human"
    return column


def _market_kind(model: type[models.Model]) -> str | None:
    """How a model's rows name their market: "symbol" ((exchange_id or venue, symbol)
    fields), "paper" (a `market` foreign key to a paper market), or None."""
    names = {f.name for f in model._meta.concrete_fields} | {
        f.attname for f in model._meta.concrete_fields
    }
    if "symbol" in names and ("exchange_id" in names or "venue" in names):
        return "symbol"
    try:
        market = model._meta.get_field("market")
    except FieldDoesNotExist:
        return None
    return "paper" if getattr(market, "related_model", None) is PaperMarket else None


def _step_column(field: models.Field[Any, Any], which: str) -> Callable[[Any], str]:
    name = field.name

    def column(obj: Any) -> str:
        steps: MarketSteps = steps_of(obj)
        return stepped(getattr(obj, name), steps.price if which == "price" else steps.amount)

    column.short_description = format_html(  # type: ignore[attr-defined]  # Django admin reads display attributes off the function
        '<span title="{}">{}</span>',
        STEP_TOOLTIP.format(step="tick" if which == "price" else "lot (amount step)"),
        str(field.verbose_name),
    )
    column.admin_order_field = name  # type: ignore[attr-defined]  # Django admin reads display attributes off the function
    column.market_steps = True  # type: ignore[attr-defined]  # its page needs the lookup
    column.__name__ = f"{name}_human"
    return column


def _human(field: models.Field[Any, Any], market_kind: str | None) -> Callable[[Any], str] | None:
    if isinstance(field, models.DecimalField):
        if market_kind and field.name in PRICE_FIELD_NAMES:
            return _step_column(field, "price")
        if market_kind and field.name in AMOUNT_FIELD_NAMES:
            return _step_column(field, "amount")
        return _column(field, amount)
    if _is_asset_field(field):
        return _column(field, lambda v: asset_symbol(str(v)) if v else "—")
    return None


def humanize(model_admin: admin.ModelAdmin[Any]) -> None:
    """Replace the raw decimal and asset-id columns of `model_admin`'s changelist."""
    links = set(model_admin.list_display_links or ())
    market_kind = _market_kind(model_admin.model)
    stepped_columns = False
    columns: list[Any] = []
    for name in model_admin.list_display:
        column = None
        if isinstance(name, str) and name not in links:
            try:
                field = model_admin.model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            if isinstance(field, models.Field):
                column = _human(field, market_kind)
                stepped_columns |= column is not None and getattr(column, "market_steps", False)
        columns.append(column or name)
    model_admin.list_display = tuple(columns)
    if stepped_columns and market_kind:
        _prefetch_steps(model_admin, market_kind)


def _prefetch_steps(model_admin: admin.ModelAdmin[Any], market_kind: str) -> None:
    """After the changelist is built, fetch its page once and keep each row's market steps
    on it; the template iterates the same (now cached) page."""
    build = model_admin.get_changelist_instance

    def get_changelist_instance(request: HttpRequest) -> ChangeList:
        changelist = build(request)
        rows = list(changelist.result_list)
        (paper_steps_attach if market_kind == "paper" else steps_attach)(rows)
        return changelist

    model_admin.get_changelist_instance = get_changelist_instance  # type: ignore[method-assign]  # wraps this admin instance's changelist


def humanize_site(site: admin.AdminSite) -> None:
    for model_admin in site._registry.values():
        humanize(model_admin)
