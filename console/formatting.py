"""Human formatting for the console: symbols instead of asset ids, amounts to a sensible
precision, times with seconds in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from exchanges.selectors import asset_symbol
from mrmarket.money import money_str

__all__ = ["age", "amount", "asset_symbol", "utc"]


def amount(value: Decimal | str | None, places: int = 8) -> str:
    """At most `places` decimals (the venues' usual precision), trailing zeros dropped."""
    if value is None or value == "":
        return "—"
    d = Decimal(value)
    return money_str(d.quantize(Decimal(1).scaleb(-places))) or "0"


def utc(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "—"
    seconds = int((now - value).total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
