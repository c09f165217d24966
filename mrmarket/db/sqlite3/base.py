"""SQLite backend with exact decimals (the embedded mode keeps money exact, issue 19).

Django stores a `DecimalField` on SQLite in a `decimal` column. That is NUMERIC affinity:
SQLite turns the text '12345678.12345678' into a double, and Django's converter reads it back
through `Context(prec=15).create_decimal_from_float` — so every amount beyond 15 significant
digits was rounded (12345678.12345678 came back as 12345678.1234568) before any service saw
it. Here:

* storage: the column is declared `text` (TEXT affinity: stored as written) and values are
  written as fixed-point strings, so what is stored is exactly the Decimal given;
* reading: text is parsed with `Decimal(str)`, exact; doubles (from SQL arithmetic such as
  `F("x") + 1`) keep Django's 15-digit reading;
* comparing: lookups on decimal columns compare `CAST(col AS REAL)`, numerically, so
  `amount > 0`, the check constraints and filters keep their meaning (a comparison, not the
  stored value, is approximate beyond 15 digits);
* summing: `SUM` is replaced by an aggregate that adds decimal text exactly in Python
  (integers still sum to an integer, doubles to a double).

Ordering by a decimal column sorts the text; nothing orders by an amount in SQL.
PostgreSQL is unaffected: NUMERIC(38, 18) is exact there.
"""

from __future__ import annotations

import decimal
import math
from decimal import Decimal
from typing import Any

from django.db.backends.sqlite3 import base, operations
from django.db.models.expressions import Col

# Enough digits for NUMERIC(38, 18) and beyond; reading never rounds.
_READ_CONTEXT = decimal.Context(prec=80)
_NUMERIC_LOOKUPS = frozenset({"exact", "iexact", "gt", "gte", "lt", "lte", "range", "in"})


class DecimalSum:
    """SQLite aggregate: exact sum of decimal text; ints stay int and doubles stay double."""

    def __init__(self) -> None:
        self.total = Decimal(0)
        self.floats: list[float] = []
        self.kind = "int"
        self.seen = False

    def step(self, value: Any) -> None:
        if value is None:
            return
        self.seen = True
        if isinstance(value, float):
            self.floats.append(value)
            self.kind = "float" if self.kind != "text" else "text"
            self.total += Decimal(repr(value))
        elif isinstance(value, int):
            self.floats.append(float(value))
            self.total += value
        else:
            text = value.decode() if isinstance(value, bytes) else str(value)
            try:
                self.total += Decimal(text.strip())
            except decimal.InvalidOperation:
                return  # SQLite's SUM treats non-numeric text as 0
            self.kind = "text"

    def finalize(self) -> Any:
        if not self.seen:
            return None
        if self.kind == "int":
            return int(self.total)
        if self.kind == "float":
            return math.fsum(self.floats)
        return format(self.total, "f")


class DatabaseOperations(operations.DatabaseOperations):
    def lookup_cast(self, lookup_type: str, internal_type: str | None = None) -> str:
        if internal_type == "DecimalField" and lookup_type in _NUMERIC_LOOKUPS:
            return "CAST(%s AS REAL)"
        return super().lookup_cast(lookup_type, internal_type)

    def adapt_decimalfield_value(
        self, value: Any, max_digits: int | None = None, decimal_places: int | None = None
    ) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            return format(value, "f")
        return super().adapt_decimalfield_value(value, max_digits, decimal_places)

    def get_decimalfield_converter(self, expression: Any) -> Any:
        approximate = super().get_decimalfield_converter(expression)
        places = getattr(expression.output_field, "decimal_places", None)
        quantize = (
            Decimal(1).scaleb(-places)
            if isinstance(expression, Col) and places is not None
            else None
        )

        def converter(value: Any, expression: Any, connection: Any) -> Any:
            if isinstance(value, str):
                exact = Decimal(value)
                return (
                    exact.quantize(quantize, context=_READ_CONTEXT)
                    if quantize is not None
                    else exact
                )
            return approximate(value, expression, connection)

        return converter


class DatabaseWrapper(base.DatabaseWrapper):
    data_types = {**base.DatabaseWrapper.data_types, "DecimalField": "text"}
    ops_class = DatabaseOperations

    def get_new_connection(self, conn_params: Any) -> Any:
        conn = super().get_new_connection(conn_params)
        conn.create_aggregate("SUM", 1, DecimalSum)
        return conn
