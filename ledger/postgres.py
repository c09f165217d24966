"""The PostgreSQL write of a new entry: one call of `ledger_entry_write`, one round trip.

Design (docs/ledger.md, "Write path"; decision 0150): `services.ledger_entry_create`
validates the entry in Python (the single source of the rules: amounts, sides, balance per
asset, account codes, content hash) and then, on PostgreSQL, calls the stored function
`ledger_entry_write` (reviewed SQL: `migrations/0003_ledger_entry_write.sql`). The function
does what `services._entry_create_portable` does step by step — resolve account ids, claim
the key, insert the postings, lock the accounts in id order, write the balances where every
flag holds — in one statement whose plans PL/pgSQL caches per connection.

Called outside any transaction (Django autocommit) the call *is* the transaction: one round
trip, no BEGIN/COMMIT, and an insufficient-funds refusal (SQLSTATE LG001, raised inside the
function) rolls the whole statement back. Inside a caller's transaction it runs in a
savepoint, so a refusal rolls back only this entry, as before.

The statement runs on the raw psycopg connection with server-side binding: Django's cursor
binds client-side and, under DEBUG, records every query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import connection, transaction

from ledger.exceptions import InsufficientFunds

# SQLSTATE raised by ledger_entry_write when an account would break its balance flag.
INSUFFICIENT_FUNDS = "LG001"

_CALL = (
    "SELECT o_entry_id, o_outcome FROM ledger_entry_write("
    "%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, "
    "%s::varchar[], %s::varchar[], %s::numeric[], %s::numeric[])"
)


@dataclass(frozen=True)
class Leg:
    code: str
    asset: str
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class Outcome:
    """`created` (entry_id is the new entry), `exists` (the key is taken: replay or conflict)
    or `accounts_missing` (nothing written: create the accounts and call again)."""

    entry_id: int | None
    outcome: str


def entry_write(*, entry: dict[str, Any], created_at: datetime, legs: list[Leg]) -> Outcome:
    """Call `ledger_entry_write`; raises `InsufficientFunds` when a flag would break."""
    params = [
        entry["idempotency_key"],
        entry["content_hash"],
        entry["kind"],
        entry["reference"],
        entry["status"],
        entry["two_phase"],
        entry["description"],
        json.dumps(entry["metadata"]),
        created_at,
        [leg.code for leg in legs],
        [leg.asset for leg in legs],
        [leg.debit for leg in legs],
        [leg.credit for leg in legs],
    ]
    if connection.in_atomic_block or not connection.get_autocommit():
        # A savepoint inside the caller's transaction: a refusal undoes only this entry.
        with transaction.atomic():
            return _call(params)
    return _call(params)


def _call(params: list[Any]) -> Outcome:
    connection.ensure_connection()
    with connection.wrap_database_errors:
        try:
            with psycopg.Cursor(connection.connection) as cursor:
                cursor.execute(_CALL, params)
                row = cursor.fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate == INSUFFICIENT_FUNDS:
                detail = exc.diag.message_detail
                raise InsufficientFunds(
                    exc.diag.message_primary or "insufficient funds",
                    payload=json.loads(detail) if detail else None,
                ) from None
            raise
    if row is None:  # pragma: no cover - a function call always returns one row
        raise RuntimeError("ledger_entry_write returned no row")
    return Outcome(entry_id=row[0], outcome=row[1])
