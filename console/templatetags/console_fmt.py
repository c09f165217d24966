from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import template

from console import formatting
from console.precision import steps_of

register = template.Library()


@register.filter
def symbol(asset_id: str) -> str:
    return formatting.asset_symbol(str(asset_id))


@register.filter
def amount(value: Decimal | str | None, places: int = 8) -> str:
    return formatting.amount(value, int(places))


@register.filter
def price_of(value: Decimal | str | None, row: Any) -> str:
    """`{{ o.price|price_of:o }}`: to the tick of the row's market (steps looked up for the
    page by `console.precision.steps_attach`), else at most 8 decimals."""
    return formatting.stepped(value, steps_of(row).price)


@register.filter
def amount_of(value: Decimal | str | None, row: Any) -> str:
    """`{{ o.amount|amount_of:o }}`: to the lot of the row's market, else at most 8 decimals."""
    return formatting.stepped(value, steps_of(row).amount)


@register.filter
def utc(value: datetime | None) -> str:
    return formatting.utc(value)


@register.filter
def pct(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:.3f} %"
