"""Human formatting for the console: symbols instead of asset ids, prices and amounts to the
venue's precision (else at most 8 decimals), times with seconds in UTC. Display only: stored
values are never rounded, and a record's own page shows them exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from exchanges.selectors import asset_symbol
from mrmarket.money import money_str

__all__ = ["ASSET_PLACES", "ROUNDED_MARK", "age", "amount", "asset_symbol", "stepped", "utc"]

# A ledger amount is in a Mixin asset, and Mixin amounts carry at most 8 decimals (Mixin's
# own precision for every asset, whatever the chain's), so 8 places is the asset's precision.
ASSET_PLACES = 8
# Marks a figure the display rounded (its stored value has more digits than the venue's step).
ROUNDED_MARK = "≈"


def amount(value: Decimal | str | None, places: int = ASSET_PLACES) -> str:
    """At most `places` decimals (the venues' usual precision), trailing zeros dropped."""
    if value is None or value == "":
        return "—"
    d = Decimal(value)
    return money_str(d.quantize(Decimal(1).scaleb(-places))) or "0"


def stepped(value: Decimal | str | None, step: Decimal | None) -> str:
    """To the venue's step: as many decimals as the step has, kept (a price column reads
    aligned, as on the venue); prefixed with ROUNDED_MARK when that rounded the stored value.
    An unknown step (None) falls back to `amount`'s 8-decimal rule."""
    if step is None:
        return amount(value)
    if value is None or value == "":
        return "—"
    d = Decimal(value)
    places = max(0, -int(step.normalize().as_tuple().exponent))
    shown = d.quantize(Decimal(1).scaleb(-places))
    if shown.is_zero():
        shown = shown.copy_abs()  # never "-0.00"
    text = format(shown, "f")
    return text if shown == d else f"{ROUNDED_MARK}{text}"


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
