"""The seam to the strategy runtime's fills: what campaign scoring reads of our own trading.

`strategy.selectors.order_fills(*, order_id, since)` belongs to the strategy app, below
campaigns in the dependency map (tests replace `order_fills_since`). Its records carry `side` ("buy"/"sell"), `taker_or_maker`
("maker"/"taker"), `amount` (base), `price`, `quote_amount` (the venue's quote cost) and
`executed_at` (aware). They are adapted here to `campaigns.scoring.Fill`, strictly: money
must arrive as exact numbers (never a float), times must be aware — a malformed record is a
bug upstream and raises `FillRecordInvalid` rather than being scored wrong.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from campaigns.scoring import Fill
from strategy import selectors as strategy_selectors


class FillRecordInvalid(ValueError):
    """A fill record from the strategy runtime cannot be scored as is."""


def _exact(value: Any, name: str) -> Decimal:
    if isinstance(value, float | bool) or value is None:
        raise FillRecordInvalid(f"fill {name} must be an exact number, got {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise FillRecordInvalid(f"fill {name} is not a number: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise FillRecordInvalid(f"fill {name} must be finite and non-negative, got {value!r}")
    return amount


def fill_from_record(record: Any) -> Fill:
    side = str(record.side).lower()
    role = str(record.taker_or_maker).lower()
    if side not in ("buy", "sell") or role not in ("maker", "taker"):
        raise FillRecordInvalid(f"unknown fill kind: {record.taker_or_maker} {record.side}")
    executed_at = record.executed_at
    if not isinstance(executed_at, datetime) or executed_at.utcoffset() is None:
        raise FillRecordInvalid(f"fill executed_at must be an aware datetime, got {executed_at!r}")
    quote = getattr(record, "quote_amount", None)
    return Fill(
        side=side,
        taker_or_maker=role,
        amount=_exact(record.amount, "amount"),
        price=_exact(record.price, "price"),
        quote_volume=None if quote is None else _exact(quote, "quote_amount"),
        executed_at=executed_at,
    )


def fills_adapt(records: Iterable[Any]) -> list[Fill]:
    return [fill_from_record(r) for r in records]


def order_fills_since(*, order_id: uuid.UUID | str, since: datetime) -> list[Fill]:
    """Our fills of one order executed at or after `since`, as scoring records."""
    return fills_adapt(strategy_selectors.order_fills(order_id=order_id, since=since))


def fills_between(
    fills: Iterable[Fill], *, start: datetime, end: datetime | None = None
) -> list[Fill]:
    """The fills executed in [start, end) (end None: no upper bound)."""
    return [
        f
        for f in fills
        if f.executed_at is not None
        and f.executed_at >= start
        and (end is None or f.executed_at < end)
    ]
