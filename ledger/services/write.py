"""The ledger's write path: one balanced entry per idempotency key, posted or pending, and
the post or void of a pending entry (design in the package docstring and docs/ledger.md).

On PostgreSQL a new entry is written by the stored function `ledger_entry_write` in one round
trip (`ledger.postgres`); `_entry_create_portable` does the same steps one statement at a time
with the flag checks in Python, and is the only write on SQLite. Both start from the same
validated legs, and tests/ledger/test_write_paths_agree.py runs random transfer sequences
through both and compares every balance.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from django.db import connection, transaction
from django.utils import timezone

from ledger import lock_objects, postgres
from ledger.enums import EntryKind, EntryStatus
from ledger.exceptions import (
    EntryNotFound,
    EntryNotPending,
    IdempotencyConflict,
    InvalidAccount,
    WrongEntryKind,
)
from ledger.models import JournalEntry, Posting
from ledger.services.accounts import accounts_ensure, balances_apply, deltas_for
from ledger.services.entries import (
    ENTRY_KINDS,
    Leg,
    PostingSpec,
    content_hash,
    credit,
    debit,
    key_check,
    legs_validate,
    money_arithmetic,
)

log = structlog.get_logger(__name__)

# On PostgreSQL a new entry is written by the stored function `ledger_entry_write` in one
# round trip (ledger.postgres). False selects the step-by-step Python write, the only one on
# SQLite; the ledger tests run on PostgreSQL through both (tests/ledger/conftest.py).
POSTGRES_FUNCTION = True


# --------------------------------------------------------------------------- generic core


def _entry_claim(**fields: Any) -> JournalEntry | None:
    """Insert the entry unless its key exists: `INSERT ... ON CONFLICT DO NOTHING RETURNING id`.

    One statement instead of SELECT + SAVEPOINT + INSERT + RELEASE, and no IntegrityError to
    recover from inside the caller's transaction. None means the key is already taken.
    """
    created_at = timezone.now()
    table = JournalEntry._meta.db_table
    metadata = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = (
        f"INSERT INTO {table} (idempotency_key, content_hash, kind, reference, status, "  # noqa: S608 - constant table name
        f"two_phase, description, metadata, created_at) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, {metadata}, %s) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
    )
    params = [
        fields["idempotency_key"],
        fields["content_hash"],
        fields["kind"],
        fields["reference"],
        fields["status"],
        fields["two_phase"],
        fields["description"],
        json.dumps(fields["metadata"]),
        connection.ops.adapt_datetimefield_value(created_at),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    entry = JournalEntry(id=row[0], created_at=created_at, **fields)
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def _entry_create_postgres(*, legs: list[Leg], **fields: Any) -> tuple[JournalEntry, bool]:
    """The PostgreSQL write: one call of the stored function (`ledger.postgres`).

    Returns `(entry, True)` for a new entry, `(stored entry, False)` for a replay.
    """
    created_at = timezone.now()
    rows = [
        postgres.Leg(code=leg.spec.code, asset=leg.asset, debit=leg.debit, credit=leg.credit)
        for leg in legs
    ]
    try:
        done = postgres.entry_write(entry=fields, created_at=created_at, legs=rows)
    except postgres.AccountsMissing:
        # First use of an account: create it (no locks held), then write. A refused entry
        # takes the new accounts back with it, as on the step-by-step path.
        with transaction.atomic():
            accounts_ensure(legs)
            done = postgres.entry_write(entry=fields, created_at=created_at, legs=rows)
            return _entry_written(done, fields, created_at)
    return _entry_written(done, fields, created_at)


def _entry_written(
    done: postgres.Outcome, fields: dict[str, Any], created_at: datetime
) -> tuple[JournalEntry, bool]:
    if done.outcome == "exists":
        stored = JournalEntry.objects.get(idempotency_key=fields["idempotency_key"])
        return _replayed(stored, fields["content_hash"]), False
    if done.outcome != "created" or done.entry_id is None:
        raise RuntimeError(f"ledger_entry_write: unexpected outcome {done.outcome!r}")
    entry = JournalEntry(id=done.entry_id, created_at=created_at, **fields)
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry, True


def _replayed(entry: JournalEntry, content_hash: str) -> JournalEntry:
    if entry.content_hash != content_hash:
        raise IdempotencyConflict(
            f"Idempotency key {entry.idempotency_key!r} was already used for a different entry.",
            payload={"entry_id": entry.pk},
        )
    log.info("ledger_entry_replayed", entry_id=entry.pk, idempotency_key=entry.idempotency_key)
    return entry


@money_arithmetic
def ledger_entry_create(
    *,
    idempotency_key: str,
    kind: str,
    postings: Sequence[PostingSpec],
    reference: str = "",
    pending: bool = False,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> JournalEntry:
    """Record one balanced entry (posted, or pending when `pending=True`); idempotent by key."""
    key = key_check(idempotency_key)
    if kind not in ENTRY_KINDS:
        raise InvalidAccount(f"unknown entry kind {kind!r}.")
    reference = str(reference)[:128]
    legs = legs_validate(postings)
    fingerprint = content_hash(kind=kind, reference=reference, two_phase=pending, legs=legs)
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "content_hash": fingerprint,
        "kind": kind,
        "reference": reference,
        "status": EntryStatus.PENDING if pending else EntryStatus.POSTED,
        "two_phase": pending,
        "description": description[:255],
        "metadata": metadata or {},
    }
    if connection.vendor == "postgresql" and POSTGRES_FUNCTION:
        entry, created = _entry_create_postgres(legs=legs, **fields)
    else:
        entry, created = _entry_create_portable(legs=legs, **fields)
    if created:
        log.info(
            "ledger_entry_created",
            entry_id=entry.pk,
            idempotency_key=key,
            kind=kind,
            reference=reference,
            status=entry.status,
        )
    return entry


def _entry_create_portable(*, legs: list[Leg], **fields: Any) -> tuple[JournalEntry, bool]:
    """The write on SQLite, step by step with the rules in Python (`_balances_apply`).

    Returns `(entry, True)` for a new entry, `(stored entry, False)` for a replay.
    """
    with transaction.atomic():
        # Accounts first, without locks (creating one while holding row locks could deadlock
        # with a writer creating the same account).
        account_ids = accounts_ensure(legs)
        # Then claim the key: a concurrent writer of the same key waits here until we commit,
        # then inserts nothing and replays ours.
        entry = _entry_claim(**fields)
        if entry is None:
            stored = JournalEntry.objects.get(idempotency_key=fields["idempotency_key"])
            return _replayed(stored, fields["content_hash"]), False
        rows = [
            Posting(
                entry=entry,
                account_id=account_ids[leg.account_key],
                debit=leg.debit,
                credit=leg.credit,
            )
            for leg in legs
        ]
        Posting.objects.bulk_create(rows)
        balances_apply(
            deltas_for(
                ((row.account_id, row.debit, row.credit) for row in rows),
                step="pending" if fields["two_phase"] else "posted",
            )
        )
    return entry, True


def ledger_transfer_create(
    *,
    idempotency_key: str,
    debit_account: str,
    credit_account: str,
    asset: str,
    amount: Decimal,
    kind: str = EntryKind.TRANSFER,
    reference: str = "",
    pending: bool = False,
    description: str = "",
    metadata: dict[str, Any] | None = None,
) -> JournalEntry:
    """TigerBeetle-style transfer: `amount` of `asset` from `debit_account` to `credit_account`."""
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=kind,
        reference=reference,
        pending=pending,
        description=description,
        metadata=metadata,
        postings=[debit(debit_account, asset, amount), credit(credit_account, asset, amount)],
    )


@money_arithmetic
def pending_resolve(
    *, entry_key: str, idempotency_key: str, to_status: str, kind: str | None
) -> JournalEntry:
    key = key_check(idempotency_key)
    with transaction.atomic():
        entry = lock_objects.entry_lock(idempotency_key=entry_key)
        if entry is None:
            raise EntryNotFound(f"No ledger entry with key {entry_key!r}.")
        if kind is not None and entry.kind != kind:
            raise WrongEntryKind(f"Entry {entry_key!r} is a {entry.kind}, not a {kind}.")
        if entry.status != EntryStatus.PENDING:
            if entry.resolution_key == key:
                if entry.status == to_status:
                    log.info(
                        "ledger_entry_resolution_replayed", entry_id=entry.pk, status=entry.status
                    )
                    return entry
                raise IdempotencyConflict(
                    f"Key {key!r} already {entry.status} entry {entry_key!r}; it cannot also be {to_status}."
                )
            raise EntryNotPending(
                f"Entry {entry_key!r} is {entry.status}, not pending.",
                payload={"status": entry.status},
            )
        if JournalEntry.objects.filter(resolution_key=key).exists():
            raise IdempotencyConflict(f"Key {key!r} already resolved another entry.")
        postings = entry.postings.values_list("account_id", "debit", "credit")
        balances_apply(
            deltas_for(postings, step="post" if to_status == EntryStatus.POSTED else "void")
        )
        entry.status = to_status
        entry.resolution_key = key
        entry.resolved_at = timezone.now()
        entry.save(update_fields=["status", "resolution_key", "resolved_at"])
    log.info(
        "ledger_entry_resolved", entry_id=entry.pk, idempotency_key=entry_key, status=to_status
    )
    return entry


def ledger_pending_post(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    """Post a pending entry (its pending amounts become posted). Once; replays are no-ops."""
    return pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.POSTED,
        kind=None,
    )


def ledger_pending_void(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    """Void a pending entry (its pending amounts are released). Once; replays are no-ops."""
    return pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.VOIDED,
        kind=None,
    )
