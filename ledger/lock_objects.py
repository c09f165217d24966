"""Row locks of the ledger, always taken in one global order so writers never deadlock.

Order: a journal entry first (post/void lock it; create inserts it), then its accounts in
ascending id. A transaction writing several new entries locks all their accounts first, in
one ascending-id statement (`services.ledger_accounts_lock`): entry by entry, two such
transactions could take two accounts in opposite orders. (Such a group holds no entry lock
before it: it creates entries, it does not post or void them.) Every ledger write goes through these helpers, except a new entry on
PostgreSQL: the stored function `ledger_entry_write` (migrations/0003) takes the same locks
in the same order in SQL. Nothing else locks ledger rows. On SQLite `select_for_update` is
a no-op and the IMMEDIATE transaction serialises writers.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.models import Account, JournalEntry


def accounts_lock(account_ids: Iterable[int]) -> dict[int, Account]:
    """Lock the accounts (FOR UPDATE) in ascending id order and return them by id.

    PostgreSQL applies the row locks after the ORDER BY (LockRows sits above Sort), so the
    locks are acquired in id order, and the returned values are the latest committed ones.
    """
    ids = sorted(set(account_ids))
    rows = Account.objects.select_for_update().filter(id__in=ids).order_by("id")
    return {row.id: row for row in rows}


def entry_lock(*, idempotency_key: str) -> JournalEntry | None:
    """Lock one journal entry by its key (for post/void), or None when there is none."""
    return JournalEntry.objects.select_for_update().filter(idempotency_key=idempotency_key).first()
