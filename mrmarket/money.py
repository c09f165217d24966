"""Money as the API shows it: a plain decimal string, no exponent, no trailing zeros."""

from __future__ import annotations

from decimal import Decimal


def money_str(value: Decimal | None) -> str | None:
    """ "65000", "0.0001", "0" (never "-0" or "1E+1"); None stays None."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text
