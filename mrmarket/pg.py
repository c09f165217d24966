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

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections


@contextmanager
def server_cursor(alias: str = DEFAULT_DB_ALIAS) -> Iterator[psycopg.Cursor[tuple[object, ...]]]:
    conn = connections[alias]
    conn.ensure_connection()
    # What Django's cursor checks before every query: no statement in a transaction that
    # is already marked for rollback.
    conn.validate_no_broken_transaction()
    with conn.wrap_database_errors, psycopg.Cursor(conn.connection) as cursor:
        yield cursor
