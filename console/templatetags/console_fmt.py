from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django import template

from console import formatting

register = template.Library()


@register.filter
def symbol(asset_id: str) -> str:
    return formatting.asset_symbol(str(asset_id))


@register.filter
def amount(value: Decimal | str | None, places: int = 8) -> str:
    return formatting.amount(value, int(places))


@register.filter
def utc(value: datetime | None) -> str:
    return formatting.utc(value)


@register.filter
def pct(value: Decimal | str | None) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value) * 100:.3f} %"
