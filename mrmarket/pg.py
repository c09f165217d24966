"""A PostgreSQL cursor with server-side binding, for the hot paths that send arrays.

Django's psycopg cursors bind on the client (`ClientCursor`): every parameter is quoted
into the SQL text in Python, an array element by element, and a query over a few
thousand parameters is re-parsed on every call. Statements that send one array per
column (`INSERT ... SELECT FROM unnest(...)`, `UPDATE ... FROM unnest(...)`) go through
this cursor instead: the text is constant (psycopg caches its conversion and prepares
it after a few calls) and the values travel as parameters. It runs on Django's own
connection, so inside the caller's transaction, with Django's checks before the query
and its error wrapping around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import conninfo as pg_conninfo
from psycopg import sql as pg_sql


@contextmanager
def server_cursor(alias: str = DEFAULT_DB_ALIAS) -> Iterator[psycopg.Cursor[Any]]:
    conn = connections[alias]
    conn.ensure_connection()
    # What Django's cursor checks before every query: no statement in a transaction that
    # is already marked for rollback.
    conn.validate_no_broken_transaction()
    with conn.wrap_database_errors, psycopg.Cursor(conn.connection) as cursor:
        yield cursor


def array_literal(values: Iterable[object]) -> str:
    """A PostgreSQL array literal (`{...}`) of `values`, sent as one text parameter and cast
    by the statement (`%s::bigint[]`, `%s::numeric[]`, ...).

    psycopg dumps a Python list element by element through its generic dumpers, which was
    the largest part of the tick's batch writes; this is one join. Every element is quoted
    (backslash and double quote escaped), None is NULL, a datetime is ISO 8601 with its
    offset, a bool is t/f, a Decimal keeps all its digits (`format(value, "f")`).
    """
    return "{" + ",".join(_element(v) for v in values) + "}"


def _element(value: object) -> str:
    if value is None:
        return "NULL"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an array literal")
        return '"' + value.isoformat() + '"'
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def database_create_if_missing(alias: str = DEFAULT_DB_ALIAS) -> None:
    """Create the configured PostgreSQL database when it does not exist (the benchmarks run
    on databases of their own)."""
    db = connections[alias].settings_dict
    dsn = pg_conninfo.make_conninfo(
        host=db.get("HOST") or "127.0.0.1",
        port=str(db.get("PORT") or 5432),
        user=db.get("USER") or "postgres",
        password=db.get("PASSWORD") or None,
        dbname="postgres",
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(pg_sql.SQL("CREATE DATABASE {}").format(pg_sql.Identifier(db["NAME"])))
