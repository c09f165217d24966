"""Ledger writes: the generic double-entry core and the domain services other apps call.

Design (DESIGN §3-§4, docs/ledger.md):

* One write path. Every service builds a list of postings and calls `ledger_entry_create`
  (or `_pending_resolve` for post/void). That path validates amounts and per-asset balance
  in Python, claims the idempotency key by inserting the entry (a unique column: "insert
  first, on conflict fetch and compare"), inserts the postings, then locks the touched
  accounts in id order, checks every balance flag on the new values and writes them.
  The account locks are taken last so they are held for the shortest time (hot accounts
  such as `custody:mixin` are the contention point).
* Two executions of the write. On PostgreSQL, after the Python validation, the stored
  function `ledger_entry_write` (ledger.postgres, decision 0150) does the claim, postings,
  locks and flag-checked update in one round trip; `_entry_create_portable` does the same
  steps one statement at a time with the flag check in Python (`_balances_apply`), and is
  the only write on SQLite. The ledger tests run both on PostgreSQL (`POSTGRES_FUNCTION`).
* Composable transactions. The services open `transaction.atomic()` *without*
  `durable=True`: callers in other apps post ledger entries inside their own transaction
  (an order transition and its ledger entry commit together or not at all). Called outside
  any transaction, the block is the whole transaction; inside one, it is a savepoint, so a
  refused entry (insufficient funds) rolls back only itself and the caller decides.
* Idempotency. The key identifies the entry forever. Same key and same content (kind,
  reference, two-phase flag and the multiset of postings; not description/metadata) returns
  the stored entry without touching balances; different content raises
  `IdempotencyConflict` (409). Post and void carry their own key (`resolution_key`), so a
  replayed post is a no-op while a second, different post or a void after post is an error.
* Two-phase. A pending entry's postings count in `*_pending`; post moves them to
  `*_posted`, void removes them. Pending debits count against a liability's spendable
  balance (and pending credits against custody), never pending inflows.
* SQLite (the embedded mode) keeps only 15 significant digits in NUMERIC columns, so there
  every amount and every resulting balance must fit 15 significant digits or the write is
  refused (`InvalidAmount`) instead of being silently rounded. PostgreSQL is exact.
"""

from __future__ import annotations

import decimal
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import structlog
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ledger import codes, lock_objects, postgres
from ledger.enums import AccountKind, EntryKind, EntryStatus, FeeKind, FillSide
from ledger.exceptions import (
    EntryNotFound,
    EntryNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAccount,
    InvalidAmount,
    UnbalancedEntry,
    WrongEntryKind,
)
from ledger.models import MONEY_CONTEXT, ZERO, Account, JournalEntry, Posting, money_context

log = structlog.get_logger(__name__)

# NUMERIC(38, 18): 18 decimals, so amounts must be below 10^20.
_QUANTUM = Decimal("1e-18")
_LIMIT = Decimal(10) ** 20
_CTX = MONEY_CONTEXT
_P = ParamSpec("_P")
_T = TypeVar("_T")


def _money_arithmetic(func: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run a write path under MONEY_CONTEXT: 60 digits, and Inexact raises rather than rounds."""

    @wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with money_context():
            return func(*args, **kwargs)

    return wrapper


# On PostgreSQL a new entry is written by the stored function `ledger_entry_write` in one
# round trip (ledger.postgres). False selects the step-by-step Python write, the only one on
# SQLite; the ledger tests run on PostgreSQL through both (tests/ledger/conftest.py).
POSTGRES_FUNCTION = True

# SQLite stores NUMERIC as a double: exact round trip up to 15 significant digits (DBL_DIG).
_SQLITE_DIGITS = 15
_KEY_MAX = 200
_ENTRY_KINDS = frozenset(EntryKind.values)


@dataclass(frozen=True)
class PostingSpec:
    """One side of a new entry: `account` is an account code (see `ledger.codes`)."""

    account: str
    asset: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def debit(account: str, asset: str, amount: Decimal) -> PostingSpec:
    return PostingSpec(account=account, asset=asset, debit=amount)


def credit(account: str, asset: str, amount: Decimal) -> PostingSpec:
    return PostingSpec(account=account, asset=asset, credit=amount)


@dataclass(frozen=True)
class _Leg:
    spec: codes.AccountSpec
    asset: str
    debit: Decimal
    credit: Decimal

    @property
    def account_key(self) -> tuple[str, str]:
        return (self.spec.code, self.asset)


# --------------------------------------------------------------------------- validation


def _exact_digits_ok(value: Decimal) -> bool:
    if connection.vendor != "sqlite":
        return True
    digits = value.normalize(_CTX).as_tuple().digits
    return len(digits) <= _SQLITE_DIGITS


def amount_check(value: Any, *, what: str = "amount", allow_zero: bool = False) -> Decimal:
    """A money amount as an exact Decimal with at most 18 decimals; floats are refused."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise InvalidAmount(
            f"{what} must be a Decimal, int or decimal string, not {type(value).__name__}."
        )
    try:
        amount = Decimal(value)
    except decimal.InvalidOperation as exc:
        raise InvalidAmount(f"{what} is not a number: {value!r}.") from exc
    if not amount.is_finite():
        raise InvalidAmount(f"{what} must be finite.")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount(
            f"{what} must be {'non-negative' if allow_zero else 'positive'}, got {amount}."
        )
    if amount >= _LIMIT:
        raise InvalidAmount(f"{what} {amount} exceeds the ledger's 20 integer digits.")
    try:
        amount = amount.quantize(_QUANTUM, context=_CTX)
    except decimal.Inexact as exc:
        raise InvalidAmount(f"{what} {value} has more than 18 decimals.") from exc
    if not _exact_digits_ok(amount):
        raise InvalidAmount(
            f"{what} {amount.normalize(_CTX)} needs more than {_SQLITE_DIGITS} significant digits, "
            "which SQLite cannot store exactly; use PostgreSQL."
        )
    return amount


def _key_check(key: str, what: str = "idempotency_key") -> str:
    if not isinstance(key, str) or not key or len(key) > _KEY_MAX:
        raise InvalidAccount(f"{what} must be a non-empty string of at most {_KEY_MAX} characters.")
    return key


def _legs_validate(postings: Sequence[PostingSpec]) -> list[_Leg]:
    """Normalise postings and check the entry balances per asset (mirrors the PG trigger)."""
    if len(postings) < 2:
        raise UnbalancedEntry("An entry needs at least two postings.")
    legs: list[_Leg] = []
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for p in postings:
        spec = codes.account_spec(p.account)
        asset = codes.asset_key(p.asset)
        dr = amount_check(p.debit, what="debit", allow_zero=True)
        cr = amount_check(p.credit, what="credit", allow_zero=True)
        if (dr > 0) == (cr > 0):
            raise InvalidAmount("A posting has exactly one positive side: a debit or a credit.")
        legs.append(_Leg(spec=spec, asset=asset, debit=dr, credit=cr))
        sums[asset][0] += dr
        sums[asset][1] += cr
    for asset, (dr_sum, cr_sum) in sums.items():
        if dr_sum != cr_sum:
            raise UnbalancedEntry(
                f"Debits {dr_sum} and credits {cr_sum} differ for asset {asset}.",
                payload={"asset": asset, "debits": str(dr_sum), "credits": str(cr_sum)},
            )
    return legs


def _money(value: Decimal) -> str:
    return format(value.quantize(_QUANTUM, context=_CTX), "f")


def _content_hash(*, kind: str, reference: str, two_phase: bool, legs: Iterable[_Leg]) -> str:
    """Fingerprint of what an entry does to money; the postings are compared as a multiset."""
    rows = sorted([leg.spec.code, leg.asset, _money(leg.debit), _money(leg.credit)] for leg in legs)
    body = json.dumps(
        {"kind": kind, "reference": reference, "two_phase": two_phase, "postings": rows},
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


# --------------------------------------------------------------------------- accounts


def _account_fields(spec: codes.AccountSpec, asset: str) -> dict[str, Any]:
    return {
        "code": spec.code,
        "asset": asset,
        "kind": spec.kind,
        "debits_must_not_exceed_credits": spec.debits_must_not_exceed_credits,
        "credits_must_not_exceed_debits": spec.credits_must_not_exceed_debits,
        "user_id": spec.user_id,
        "order_id": spec.order_id,
        "venue": spec.venue,
        "venue_account": spec.venue_account,
    }


def _accounts_ensure(legs: Iterable[_Leg]) -> dict[tuple[str, str], int]:
    """Account ids by (code, asset), creating missing accounts (race-safe: ON CONFLICT DO NOTHING)."""
    wanted = {leg.account_key: leg.spec for leg in legs}
    found = _accounts_find(wanted)
    # Created in one global order (code, asset): two writers creating the same new accounts
    # wait on each other's unique-index entries in the same order, so they cannot deadlock.
    missing = sorted(key for key in wanted if key not in found)
    if missing:
        Account.objects.bulk_create(
            [Account(**_account_fields(wanted[key], key[1])) for key in missing],
            ignore_conflicts=True,
        )
        found = _accounts_find(wanted)
    return found


def _accounts_find(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    # (code = .. AND asset = ..) OR ...: one probe of the unique index per account.
    match = Q()
    for code, asset in set(keys):
        match |= Q(code=code, asset=asset)
    rows = Account.objects.filter(match).values_list("code", "asset", "id")
    return {(code, asset): pk for code, asset, pk in rows}


def account_ensure(*, code: str, asset: str) -> Account:
    """The account `(code, asset)`, created (with zero balances) if it does not exist yet."""
    spec = codes.account_spec(code)
    asset = codes.asset_key(asset)
    leg = _Leg(spec=spec, asset=asset, debit=ZERO, credit=ZERO)
    with transaction.atomic():
        pk = _accounts_ensure([leg])[leg.account_key]
    return Account.objects.get(pk=pk)


# --------------------------------------------------------------------------- balances

_COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def _balances_apply(deltas: dict[int, list[Decimal]]) -> None:
    """Lock the accounts in id order, apply the column deltas, enforce every flag, write.

    `deltas[account_id]` is `[debits_posted, credits_posted, debits_pending, credits_pending]`.
    The new values are computed from the locked (latest committed) row and written as
    absolute values: the lock makes that safe, and on SQLite it avoids float arithmetic.
    """
    locked = lock_objects.accounts_lock(deltas)
    updates: list[Account] = []
    for account_id in sorted(deltas):
        account = locked[account_id]
        for column, delta in zip(_COLUMNS, deltas[account_id], strict=True):
            if delta:
                setattr(account, column, getattr(account, column) + delta)
        _flags_check(account)
        updates.append(account)
    _balances_write(updates)


def _balances_write(accounts: list[Account]) -> None:
    """Write the new balance columns of locked accounts.

    PostgreSQL: one `UPDATE ... FROM (VALUES ...)` for all of them, so the locks are held for
    one round trip, not one per account. SQLite (one writer at a time): plain UPDATEs.
    """
    if connection.vendor != "postgresql":
        for account in accounts:
            Account.objects.filter(pk=account.pk).update(
                **{column: getattr(account, column) for column in _COLUMNS}
            )
        return
    rows = ", ".join(
        ["(%s::bigint, %s::numeric, %s::numeric, %s::numeric, %s::numeric)"] * len(accounts)
    )
    params: list[Any] = []
    for account in accounts:
        params.append(account.pk)
        params.extend(getattr(account, column) for column in _COLUMNS)
    sql = (
        f"UPDATE {Account._meta.db_table} AS a SET debits_posted = v.dp, credits_posted = v.cp, "  # noqa: S608 - constant table name, values are parameters
        f"debits_pending = v.dpend, credits_pending = v.cpend "
        f"FROM (VALUES {rows}) AS v(id, dp, cp, dpend, cpend) WHERE a.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _flags_check(account: Account) -> None:
    for column in _COLUMNS:
        value = getattr(account, column)
        if value < 0:
            # Only a corrupted cache or a bug gets here: deltas never take a column negative.
            raise InsufficientFunds(f"{column} of {account} would be negative ({value}).")
        if not _exact_digits_ok(value):
            raise InvalidAmount(
                f"{column} of {account} would need more than {_SQLITE_DIGITS} significant "
                "digits, which SQLite cannot store exactly; use PostgreSQL."
            )
    if account.debits_must_not_exceed_credits:
        spent = account.debits_posted + account.debits_pending
        if spent > account.credits_posted:
            raise InsufficientFunds(
                f"{account.code} lacks {spent - account.credits_posted} of asset {account.asset}.",
                payload={"account": account.code, "asset": account.asset},
            )
    if account.credits_must_not_exceed_debits:
        spent = account.credits_posted + account.credits_pending
        if spent > account.debits_posted:
            raise InsufficientFunds(
                f"{account.code} would send {spent - account.debits_posted} more of asset "
                f"{account.asset} than it holds.",
                payload={"account": account.code, "asset": account.asset},
            )


def _deltas_for(
    postings: Iterable[tuple[int, Decimal, Decimal]], *, step: str
) -> dict[int, list[Decimal]]:
    """Column deltas of postings `(account_id, debit, credit)` for one two-phase step."""
    deltas: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])
    for account_id, dr, cr in postings:
        d = deltas[account_id]
        if step == "posted":
            d[0] += dr
            d[1] += cr
        elif step == "pending":
            d[2] += dr
            d[3] += cr
        elif step == "post":
            d[0] += dr
            d[1] += cr
            d[2] -= dr
            d[3] -= cr
        elif step == "void":
            d[2] -= dr
            d[3] -= cr
        else:  # pragma: no cover - internal misuse
            raise ValueError(step)
    return deltas


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


def _entry_create_postgres(*, legs: list[_Leg], **fields: Any) -> tuple[JournalEntry, bool]:
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
            _accounts_ensure(legs)
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


@_money_arithmetic
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
    key = _key_check(idempotency_key)
    if kind not in _ENTRY_KINDS:
        raise InvalidAccount(f"unknown entry kind {kind!r}.")
    reference = str(reference)[:128]
    legs = _legs_validate(postings)
    content_hash = _content_hash(kind=kind, reference=reference, two_phase=pending, legs=legs)
    fields: dict[str, Any] = {
        "idempotency_key": key,
        "content_hash": content_hash,
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


def _entry_create_portable(*, legs: list[_Leg], **fields: Any) -> tuple[JournalEntry, bool]:
    """The write on SQLite, step by step with the rules in Python (`_balances_apply`).

    Returns `(entry, True)` for a new entry, `(stored entry, False)` for a replay.
    """
    with transaction.atomic():
        # Accounts first, without locks (creating one while holding row locks could deadlock
        # with a writer creating the same account).
        account_ids = _accounts_ensure(legs)
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
        _balances_apply(
            _deltas_for(
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


@_money_arithmetic
def _pending_resolve(
    *, entry_key: str, idempotency_key: str, to_status: str, kind: str | None
) -> JournalEntry:
    key = _key_check(idempotency_key)
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
        _balances_apply(
            _deltas_for(postings, step="post" if to_status == EntryStatus.POSTED else "void")
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
    return _pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.POSTED,
        kind=None,
    )


def ledger_pending_void(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    """Void a pending entry (its pending amounts are released). Once; replays are no-ops."""
    return _pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.VOIDED,
        kind=None,
    )


# --------------------------------------------------------------------------- domain services


def _custody_check(code: str) -> str:
    if codes.account_spec(code).kind != AccountKind.ASSET:
        raise InvalidAccount(f"{code!r} is not a custody account.")
    return code


def _payer_check(code: str) -> str:
    spec = codes.account_spec(code)
    if spec.kind != AccountKind.LIABILITY or code == codes.REWARDS_HUFI:
        raise InvalidAccount(f"{code!r} is not a user or order account.")
    return code


def _fee_legs(
    *, fee_code: str, custody: str, payer: str | None, asset: str, amount: Decimal
) -> list[PostingSpec]:
    """The fee leaves custody into the fee expense; a payer, if any, reimburses the expense.

    With a payer the fee account's balance is unchanged (its debits and credits both grow by
    the fee, so the totals show what was paid and what was charged on); without one the fee is
    Mr.Market's own expense and stays as the fee account's debit balance.
    """
    legs = [debit(fee_code, asset, amount), credit(custody, asset, amount)]
    if payer is not None:
        legs += [debit(payer, asset, amount), credit(fee_code, asset, amount)]
    return legs


def deposit_credit(
    *, idempotency_key: str, user_id: uuid.UUID | str, asset: str, amount: Decimal, snapshot_id: str
) -> JournalEntry:
    """A Mixin snapshot paid `amount` into the bot's wallet for `user_id`.

    Dr custody:mixin, Cr user:<user>:available.
    """
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.DEPOSIT,
        reference=snapshot_id,
        debit_account=codes.CUSTODY_MIXIN,
        credit_account=codes.user_available(user_id),
        asset=asset,
        amount=amount,
    )


def order_allocate(
    *,
    idempotency_key: str,
    user_id: uuid.UUID | str,
    order_id: uuid.UUID | str,
    asset: str,
    amount: Decimal,
) -> JournalEntry:
    """Move the user's free balance into the order's budget. Dr user available, Cr order."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.ALLOCATION,
        reference=str(order_id),
        debit_account=codes.user_available(user_id),
        credit_account=codes.order_account(order_id),
        asset=asset,
        amount=amount,
    )


def order_release(
    *,
    idempotency_key: str,
    user_id: uuid.UUID | str,
    order_id: uuid.UUID | str,
    asset: str,
    amount: Decimal,
) -> JournalEntry:
    """Give the order's budget back to the user's free balance. Dr order, Cr user available."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.RELEASE,
        reference=str(order_id),
        debit_account=codes.order_account(order_id),
        credit_account=codes.user_available(user_id),
        asset=asset,
        amount=amount,
    )


def fill_settle(
    *,
    idempotency_key: str,
    order_id: uuid.UUID | str,
    venue: str,
    venue_account: str,
    trade_id: str,
    side: str,
    base_asset: str,
    quote_asset: str,
    base_amount: Decimal,
    quote_amount: Decimal,
    fee_asset: str | None = None,
    fee_amount: Decimal = ZERO,
) -> JournalEntry:
    """One exchange fill of the order's trading on a venue account.

    `base_amount`/`quote_amount` are the gross traded amounts; the venue fee (any asset) is
    taken from the venue custody and charged to the order. A buy: Dr custody base, Cr order
    base; Dr order quote, Cr custody quote. A sell is the mirror. Reference: `<venue>:<trade>`.
    """
    if side not in FillSide.values:
        raise InvalidAccount(f"side must be buy or sell, got {side!r}.")
    custody = codes.custody_venue(venue, venue_account)
    order = codes.order_account(order_id)
    gets, pays = (custody, order) if side == FillSide.BUY else (order, custody)
    postings = [
        debit(gets, base_asset, base_amount),
        credit(pays, base_asset, base_amount),
        debit(pays, quote_asset, quote_amount),
        credit(gets, quote_asset, quote_amount),
    ]
    fee = amount_check(fee_amount, what="fee_amount", allow_zero=True)
    if fee > 0:
        if fee_asset is None:
            raise InvalidAccount("fee_asset is required with a fee.")
        postings += _fee_legs(
            fee_code=codes.FEES_VENUE, custody=custody, payer=order, asset=fee_asset, amount=fee
        )
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.FILL,
        reference=f"{venue}:{trade_id}",
        postings=postings,
        metadata={"order_id": str(order_id), "side": side, "trade_id": trade_id},
    )


def fee_pay(
    *,
    idempotency_key: str,
    fee_kind: str,
    custody: str,
    asset: str,
    amount: Decimal,
    payer: str | None,
    reference: str,
) -> JournalEntry:
    """A fee left `custody` (a network or venue fee); `payer` (user/order code) bears it, or
    Mr.Market does when `payer` is None."""
    if fee_kind not in FeeKind.values:
        raise InvalidAccount(f"unknown fee kind {fee_kind!r}.")
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.FEE,
        reference=reference,
        postings=_fee_legs(
            fee_code=codes.fees_account(fee_kind),
            custody=_custody_check(custody),
            payer=_payer_check(payer) if payer is not None else None,
            asset=asset,
            amount=amount,
        ),
    )


def _refund_source(user_id: uuid.UUID | str, order_id: uuid.UUID | str | None) -> str:
    return codes.order_account(order_id) if order_id is not None else codes.user_available(user_id)


def refund_start(
    *,
    idempotency_key: str,
    user_id: uuid.UUID | str,
    asset: str,
    amount: Decimal,
    reference: str,
    order_id: uuid.UUID | str | None = None,
    network_fee: Decimal = ZERO,
) -> JournalEntry:
    """Pending refund from custody:mixin to the user's wallet, before the transfer is sent.

    Paid from the order's budget when `order_id` is given, else from the user's free balance;
    a network fee, if any, is charged to the same account. Confirm with `refund_confirm` once
    Mixin shows the transfer, `refund_fail` if it definitely failed.
    """
    source = _refund_source(user_id, order_id)
    postings = [debit(source, asset, amount), credit(codes.CUSTODY_MIXIN, asset, amount)]
    fee = amount_check(network_fee, what="network_fee", allow_zero=True)
    if fee > 0:
        postings += _fee_legs(
            fee_code=codes.FEES_NETWORK,
            custody=codes.CUSTODY_MIXIN,
            payer=source,
            asset=asset,
            amount=fee,
        )
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.REFUND,
        reference=reference,
        pending=True,
        postings=postings,
        metadata={"user_id": str(user_id), "order_id": str(order_id) if order_id else None},
    )


def refund_confirm(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return _pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.POSTED,
        kind=EntryKind.REFUND,
    )


def refund_fail(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return _pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.VOIDED,
        kind=EntryKind.REFUND,
    )


def custody_move_start(
    *,
    idempotency_key: str,
    source: str,
    destination: str,
    asset: str,
    amount: Decimal,
    reference: str,
    network_fee: Decimal = ZERO,
    fee_payer: str | None = None,
) -> JournalEntry:
    """Pending move between custody accounts (Mixin → venue account, or back on exit).

    `amount` is what arrives at `destination`; a network fee additionally leaves `source`,
    borne by `fee_payer` (an order/user code) or by Mr.Market. Post with
    `custody_move_confirm` when the deposit is seen at the destination, void with
    `custody_move_fail` if the withdrawal definitely failed. Pending credits count against
    what the source can still send; the destination cannot spend them until posted.
    """
    source = _custody_check(source)
    destination = _custody_check(destination)
    if source == destination:
        raise InvalidAccount("source and destination are the same custody account.")
    postings = [debit(destination, asset, amount), credit(source, asset, amount)]
    fee = amount_check(network_fee, what="network_fee", allow_zero=True)
    if fee > 0:
        postings += _fee_legs(
            fee_code=codes.FEES_NETWORK,
            custody=source,
            payer=_payer_check(fee_payer) if fee_payer is not None else None,
            asset=asset,
            amount=fee,
        )
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.CUSTODY_MOVE,
        reference=reference,
        pending=True,
        postings=postings,
    )


def custody_move_confirm(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return _pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.POSTED,
        kind=EntryKind.CUSTODY_MOVE,
    )


def custody_move_fail(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return _pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.VOIDED,
        kind=EntryKind.CUSTODY_MOVE,
    )


def reward_receive(
    *,
    idempotency_key: str,
    asset: str,
    amount: Decimal,
    reference: str,
    custody: str = codes.CUSTODY_MIXIN,
) -> JournalEntry:
    """A HuFi reward arrived in custody; it is owed to users until credited. Dr custody, Cr rewards:hufi."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.REWARD_RECEIVED,
        reference=reference,
        debit_account=_custody_check(custody),
        credit_account=codes.REWARDS_HUFI,
        asset=asset,
        amount=amount,
    )


def reward_credit(
    *, idempotency_key: str, user_id: uuid.UUID | str, asset: str, amount: Decimal, reference: str
) -> JournalEntry:
    """A user's share of a received reward. Dr rewards:hufi, Cr user available."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.REWARD,
        reference=reference,
        debit_account=codes.REWARDS_HUFI,
        credit_account=codes.user_available(user_id),
        asset=asset,
        amount=amount,
    )


def service_fee_take(
    *, idempotency_key: str, payer: str, asset: str, amount: Decimal, reference: str
) -> JournalEntry:
    """Mr.Market's own fee, from an order or a user. Dr payer, Cr revenue:service."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.SERVICE_FEE,
        reference=reference,
        debit_account=_payer_check(payer),
        credit_account=codes.REVENUE_SERVICE,
        asset=asset,
        amount=amount,
    )


# --------------------------------------------------------------------------- recovery


@_money_arithmetic
def ledger_balances_rebuild(
    *, progress: Callable[[Iterable[int]], Iterable[int]] | None = None, chunk_size: int = 500
) -> int:
    """Recompute every cached balance from postings; returns how many accounts changed.

    Accounts are processed in id-ordered chunks, each in its own transaction under the same
    account locks the writers take, and postings are read after the lock is held, so a
    concurrent writer (which locks accounts after inserting its postings) is either already
    committed and counted, or adds its delta afterwards on top of the rebuilt value.
    """
    from ledger.selectors import balances_recompute

    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    changed = 0
    iterable: Iterable[int] = range(len(chunks))
    if progress is not None:
        iterable = progress(iterable)
    for index in iterable:
        chunk = chunks[index]
        with transaction.atomic():
            locked = lock_objects.accounts_lock(chunk)
            recomputed = balances_recompute(account_ids=chunk)
            for account_id, account in locked.items():
                values = recomputed.get(account_id, (ZERO, ZERO, ZERO, ZERO))
                current = tuple(getattr(account, column) for column in _COLUMNS)
                if current != values:
                    Account.objects.filter(pk=account_id).update(
                        **dict(zip(_COLUMNS, values, strict=True))
                    )
                    changed += 1
                    log.warning("ledger_balance_rebuilt", account_id=account_id, code=account.code)
    log.info("ledger_rebuild_done", accounts=len(ids), changed=changed)
    return changed
