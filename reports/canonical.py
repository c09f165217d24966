"""A canonical serialization for report bundles, so a hash over it can be recomputed by anyone.

Rules (a subset of RFC 8785's spirit, kept simple because every value we hash is a string,
an integer, a boolean, null, a list or an object): UTF-8 JSON, object keys sorted, no
insignificant whitespace, money and prices as plain decimal strings (`money_str`: no exponent,
no trailing zeros), times as ISO 8601 UTC with microseconds. Floats are refused: they have
no exact form.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from mrmarket.money import money_str


def jsonable(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError("floats have no canonical form; use Decimal")
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime in a report")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(value: Any) -> bytes:
    return json.dumps(
        jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def content_hash(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()
