"""The PostgreSQL write statement of `ledger_entry_create`: a whole entry in one round trip.

Design (docs/ledger.md, "Write path"): on PostgreSQL a new entry costs one statement, built
here, inside the service's `transaction.atomic()`. Its CTEs run in the order the ledger's
lock rules require:

1. `acct`: the accounts' ids by `(code, asset)` (the unique index). If any is missing
   (`found` < accounts) nothing below runs; the caller creates the accounts, without holding
   any lock, and runs the statement again.
2. `e`: claim the idempotency key, `INSERT ... ON CONFLICT (idempotency_key) DO NOTHING
   RETURNING id`. A concurrent writer of the same key waits here for the first to finish;
   when the key is taken nothing below runs and the caller replays (compares content).
3. `p`: the postings, one per leg.
4. `l`: lock the touched accounts `FOR UPDATE` in ascending id (LockRows sits above the
   Sort, so the locks are taken in id order: entry, then accounts by id, as everywhere).
5. `u`: add the column deltas to the locked rows (`col = col + delta`: READ COMMITTED
   re-evaluates the row after the lock wait, so the latest committed values are used) only
   where every balance flag holds on the new values; `RETURNING` counts the rows written.

The caller compares the counts: fewer rows written than accounts means a flag would break,
so it raises `InsufficientFunds` and its atomic block rolls the entry and postings back.
The flag rules therefore exist three times on PostgreSQL: this WHERE clause (the fast
refusal), the check constraints on `ledger_account` (the last word: a bug in the WHERE
clause would make the UPDATE fail, never write a bad balance), and `services._flags_check`,
which builds the refusal's message and is the only check on SQLite. The property and
concurrency tests run the same scenarios on both databases so the two cannot drift.

The statement uses server-side parameter binding on the raw psycopg connection (Django's
default cursor inlines parameters client-side and, under DEBUG, logs every query).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import psycopg
from django.db import connection


@dataclass(frozen=True)
class EntryWrite:
    """What the statement did: ids and counts the caller checks."""

    entry_id: int | None
    accounts_found: int
    postings_inserted: int
    accounts_written: int


@cache
def _entry_sql(n_legs: int, n_accounts: int) -> str:
    legs = ", ".join(["(%s::varchar, %s::varchar, %s::numeric, %s::numeric)"] * n_legs)
    deltas = ", ".join(
        ["(%s::varchar, %s::varchar, %s::numeric, %s::numeric, %s::numeric, %s::numeric)"]
        * n_accounts
    )
    return f"""
WITH leg(code, asset, debit, credit) AS (VALUES {legs}),
delta(code, asset, dp, cp, dpend, cpend) AS (VALUES {deltas}),
acct AS (
    SELECT a.id, a.code, a.asset
      FROM ledger_account a
      JOIN delta d ON a.code = d.code AND a.asset = d.asset
),
e AS (
    INSERT INTO ledger_journal_entry (idempotency_key, content_hash, kind, reference, status,
                                      two_phase, description, metadata, created_at)
    SELECT %s::varchar, %s::varchar, %s::varchar, %s::varchar, %s::varchar,
           %s::boolean, %s::varchar, %s::jsonb, %s::timestamptz
     WHERE (SELECT count(*) FROM acct) = {n_accounts}
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
),
p AS (
    INSERT INTO ledger_posting (entry_id, account_id, debit, credit)
    SELECT e.id, acct.id, leg.debit, leg.credit
      FROM e
     CROSS JOIN leg
      JOIN acct ON acct.code = leg.code AND acct.asset = leg.asset
    RETURNING 1
),
l AS (
    SELECT a.id
      FROM ledger_account a
     WHERE a.id IN (SELECT id FROM acct) AND EXISTS (SELECT 1 FROM e)
     ORDER BY a.id
       FOR UPDATE
),
u AS (
    UPDATE ledger_account a
       SET debits_posted = a.debits_posted + d.dp,
           credits_posted = a.credits_posted + d.cp,
           debits_pending = a.debits_pending + d.dpend,
           credits_pending = a.credits_pending + d.cpend
      FROM l
      JOIN acct ON acct.id = l.id
      JOIN delta d ON d.code = acct.code AND d.asset = acct.asset
     WHERE a.id = l.id
       AND (NOT a.debits_must_not_exceed_credits
            OR a.debits_posted + d.dp + a.debits_pending + d.dpend <= a.credits_posted + d.cp)
       AND (NOT a.credits_must_not_exceed_debits
            OR a.credits_posted + d.cp + a.credits_pending + d.cpend <= a.debits_posted + d.dp)
    RETURNING a.id
)
SELECT (SELECT id FROM e), (SELECT count(*) FROM acct), (SELECT count(*) FROM p),
       (SELECT count(*) FROM u)
"""  # noqa: S608 - the interpolated parts are placeholders and counts, never values


def entry_write(
    *,
    entry: dict[str, Any],
    legs: list[tuple[str, str, Decimal, Decimal]],
    deltas: dict[tuple[str, str], list[Decimal]],
) -> EntryWrite:
    """Run the one-statement write; `entry` holds the journal entry's columns (metadata as JSON)."""
    params: list[Any] = []
    for leg in legs:
        params.extend(leg)
    for (code, asset), columns in deltas.items():
        params.append(code)
        params.append(asset)
        params.extend(columns)
    params += [
        entry["idempotency_key"],
        entry["content_hash"],
        entry["kind"],
        entry["reference"],
        entry["status"],
        entry["two_phase"],
        entry["description"],
        entry["metadata"],
        entry["created_at"],
    ]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_entry_sql(len(legs), len(deltas)), params)
        row = cursor.fetchone()
    assert row is not None  # noqa: S101 - the statement always returns one row
    return EntryWrite(
        entry_id=row[0], accounts_found=row[1], postings_inserted=row[2], accounts_written=row[3]
    )
