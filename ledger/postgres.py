"""The PostgreSQL write of a new entry: one call of `ledger_entry_write`, one round trip.

Design (docs/ledger.md, "Write path"; decision 0150): `services.ledger_entry_create`
validates the entry in Python (the single source of the rules: amounts, sides, balance per
asset, account codes, content hash) and then, on PostgreSQL, calls the stored function
`ledger_entry_write` (reviewed SQL: `migrations/0003_ledger_entry_write.sql`). The function
does what `services.write._entry_create_portable` does step by step — resolve account ids, claim
the key, insert the postings, lock the accounts in id order, write the balances where every
flag holds — in one statement whose plans PL/pgSQL caches per connection.

Called outside any transaction (Django autocommit) the call *is* the transaction: one round
trip, no BEGIN/COMMIT, and an insufficient-funds refusal (SQLSTATE LG001, raised inside the
function) rolls the whole statement back. Inside a caller's transaction it runs in a
savepoint, so a refusal rolls back only this entry, as before.

The statement runs on the raw psycopg connection with server-side binding: Django's cursor
binds client-side and, under DEBUG, records every query (so this call does not appear in
`connection.queries` or `assertNumQueries`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ledger.exceptions import InsufficientFunds
from mrmarket.pg import server_cursor

# SQLSTATEs raised by ledger_entry_write: an account would break its balance flag; an
# account does not exist yet (nothing was written: create it and call again).
INSUFFICIENT_FUNDS = "LG001"
ACCOUNTS_MISSING = "LG002"


class AccountsMissing(Exception):
    """Internal: the entry names an account not created yet; nothing was written."""


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
    """`created` (entry_id is the new entry) or `exists` (the key is taken: the caller
    compares the stored content: replay or conflict)."""

    entry_id: int | None
    outcome: str


def _array(values: list[str]) -> str:
    """A PostgreSQL array literal. Only account codes (`codes.account_spec` admits no quote,
    backslash, comma, brace or space), asset UUIDs and plain decimals reach it; building the
    literal here is several times cheaper than psycopg's generic list dumper."""
    return "{" + ",".join(['"' + value + '"' for value in values]) + "}"


def entry_write(*, entry: dict[str, Any], created_at: datetime, legs: list[Leg]) -> Outcome:
    """Call `ledger_entry_write`; raises `InsufficientFunds` when a flag would break and
    `AccountsMissing` when an account must be created first (in both cases nothing is kept)."""
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
        _array([leg.code for leg in legs]),
        _array([leg.asset for leg in legs]),
        _array([format(leg.debit, "f") for leg in legs]),
        _array([format(leg.credit, "f") for leg in legs]),
    ]
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.in_atomic_block or not conn.get_autocommit():
        # A savepoint inside the caller's transaction: a refusal undoes only this entry.
        with transaction.atomic():
            return _call(conn, params)
    return _call(conn, params)


def _call(conn: BaseDatabaseWrapper, params: list[Any]) -> Outcome:
    with server_cursor(conn.alias) as cursor:
        try:
            cursor.execute(_CALL, params)
            row = cursor.fetchone()
        except psycopg.Error as exc:
            if exc.sqlstate == INSUFFICIENT_FUNDS:
                detail = exc.diag.message_detail
                raise InsufficientFunds(
                    exc.diag.message_primary or "insufficient funds",
                    payload=json.loads(detail) if detail else None,
                ) from None
            if exc.sqlstate == ACCOUNTS_MISSING:
                raise AccountsMissing(exc.diag.message_primary) from None
            raise
    if row is None:  # pragma: no cover - a function call always returns one row
        raise RuntimeError("ledger_entry_write returned no row")
    return Outcome(entry_id=row[0], outcome=row[1])
