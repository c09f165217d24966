"""Changelist columns for people, on every admin page: amounts to at most 8 decimals without
trailing zeros (not the column's 18), asset ids as their symbols. Times are handled for the
whole console by the format module (seconds and UTC, mrmarket/formats/).

A record's own page keeps the exact stored value: that is the audit view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from console.formatting import amount, asset_symbol

ASSET_FIELD_NAMES = {"asset", "asset_id"}


def _is_asset_field(field: models.Field[Any, Any]) -> bool:
    if not isinstance(field, models.CharField | models.UUIDField):
        return False
    return field.name in ASSET_FIELD_NAMES or field.name.endswith("_asset_id")


def _column(field: models.Field[Any, Any], show: Callable[[Any], str]) -> Callable[[Any], str]:
    name = field.name

    def column(obj: Any) -> str:
        return show(getattr(obj, name))

    column.short_description = str(field.verbose_name)  # type: ignore[attr-defined]
    column.admin_order_field = name  # type: ignore[attr-defined]
    column.__name__ = f"{name}_human"
    return column


def _human(field: models.Field[Any, Any]) -> Callable[[Any], str] | None:
    if isinstance(field, models.DecimalField):
        return _column(field, amount)
    if _is_asset_field(field):
        return _column(field, lambda v: asset_symbol(str(v)) if v else "—")
    return None


def humanize(model_admin: admin.ModelAdmin[Any]) -> None:
    """Replace the raw decimal and asset-id columns of `model_admin`'s changelist."""
    links = set(model_admin.list_display_links or ())
    columns: list[Any] = []
    for name in model_admin.list_display:
        column = None
        if isinstance(name, str) and name not in links:
            try:
                field = model_admin.model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            if isinstance(field, models.Field):
                column = _human(field)
        columns.append(column or name)
    model_admin.list_display = tuple(columns)


def humanize_site(site: admin.AdminSite) -> None:
    for model_admin in site._registry.values():
        humanize(model_admin)
