"""Parsing and range checks shared by the parameter dataclasses.

Every failure is a `ValidationFailed` whose message starts with the field name and whose
payload carries `{"field": ...}`: the API's exception handler turns it into a JSON 400.

Numbers are bounded before any arithmetic: a client may send `1e999999` (a finite Decimal
that would make `int()` allocate for minutes) or `1e400` (a float infinity once parsed
as JSON). Anything beyond `MAX_MAGNITUDE`, or nonzero below `MIN_MAGNITUDE`, or with more
than `MAX_DECIMALS` decimal places, is rejected as absurd: no venue or chain counts in
units finer than 1e-18 (one wei), and no order, price or duration reaches 1e15.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from mrmarket.exceptions import ValidationFailed

MAX_MAGNITUDE = Decimal("1e15")
MIN_MAGNITUDE = Decimal("1e-18")
MAX_DECIMALS = 18


def fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", payload={"field": field})


def decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise fail(field, "must be a decimal number")
    if isinstance(value, float):
        # JSON numbers arrive as floats; their shortest repr is what the client typed.
        if not math.isfinite(value):
            raise fail(field, "must be a finite decimal number")
        value = repr(value)
    if isinstance(value, str) and len(value) > 64:
        raise fail(field, "must be a finite decimal number of at most 64 characters")
    try:
        result = Decimal(value) if isinstance(value, int | str | Decimal) else None
    except (InvalidOperation, ValueError):
        result = None
    if result is None or not result.is_finite():
        raise fail(field, f"must be a finite decimal number, got {value!r}")
    magnitude = abs(result)
    if magnitude >= MAX_MAGNITUDE:
        raise fail(field, f"is absurdly large (must be below {MAX_MAGNITUDE}), got {value!r}")
    if result != 0:
        if magnitude < MIN_MAGNITUDE:
            raise fail(
                field, f"is below any venue's precision (at least {MIN_MAGNITUDE}), got {value!r}"
            )
        exponent = result.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
            raise fail(
                field, f"has more than {MAX_DECIMALS} decimal places (no venue is that precise)"
            )
    return result


def optional_decimal(field: str, value: Any) -> Decimal | None:
    return None if value is None or value == "" else decimal(field, value)


def integer(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise fail(field, "must be an integer")
    number = decimal(field, value)
    if number != number.to_integral_value():
        raise fail(field, f"must be an integer, got {value!r}")
    return int(number)


def boolean(field: str, value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise fail(field, f"must be a boolean, got {value!r}")


def string(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(field, "must be a non-empty string")
    if len(value) > 64:
        raise fail(field, "must be at most 64 characters")
    return value.strip()


def optional_string(field: str, value: Any) -> str | None:
    return None if value is None or value == "" else string(field, value)


def choice(field: str, value: Any, enum: type[StrEnum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = "|".join(member.value for member in enum)
        raise fail(field, f"must be one of {allowed}, got {value!r}") from None


def check_pair(field: str, pair: str) -> None:
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote or "/" in quote:
        raise fail(field, f"must be BASE/QUOTE (e.g. BTC/USDT), got {pair!r}")


def in_range(
    field: str,
    value: Decimal,
    *,
    low: Decimal,
    high: Decimal,
    low_open: bool = False,
    why: str = "",
) -> None:
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        left = "(" if low_open else "["
        hint = f" ({why})" if why else ""
        raise fail(field, f"must be in {left}{low}, {high}]{hint}, got {value}")


def int_in_range(field: str, value: int, *, low: int, high: int, unit: str = "") -> None:
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise fail(field, f"must be in [{low}, {high}]{suffix}, got {value}")


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        return [jsonable(v) for v in value]
    return value
