"""Runs of one (venue, pair) are serialized by a transaction-scoped advisory lock on
PostgreSQL, so self-trade prevention sees every place another session just wrote. A batch
takes the locks of its pairs in key order: two batches sharing pairs cannot deadlock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import connection

Pair = tuple[str, str]  # (exchange_id, symbol)


def pair_key(pair: Pair) -> int:
    """The advisory lock key of a (venue, pair)."""
    digest = hashlib.sha256(f"strategy:{pair[0]}:{pair[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def pair_lock(exchange_id: str, symbol: str) -> None:
    """Serialize runs of one (venue, pair) inside their transaction (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return  # SQLite: IMMEDIATE transactions are serialized already
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [pair_key((exchange_id, symbol))])


def pair_locks_take(pairs: Iterable[Pair]) -> list[Pair]:
    """Lock several pairs in key order; returns them in that order."""
    ordered = sorted(set(pairs), key=pair_key)
    for exchange_id, symbol in ordered:
        pair_lock(exchange_id, symbol)
    return ordered
