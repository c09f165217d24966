"""Ledger accounts: creating them, applying balance deltas under locks with the balance-flag
checks, and rebuilding the cached balance columns from postings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import structlog
from django.db import connection, transaction
from django.db.models import Q

from ledger import codes, lock_objects
from ledger.exceptions import InsufficientFunds
from ledger.models import ZERO, Account
from ledger.selectors import balances_recompute
from ledger.services.entries import Leg, money_arithmetic

log = structlog.get_logger(__name__)


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


def accounts_ensure(legs: Iterable[Leg]) -> dict[tuple[str, str], int]:
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


def ledger_accounts_lock(*, accounts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Lock, up front, every account `(code, asset)` that the entries about to be written in
    the caller's transaction will touch: created first if missing (no lock held yet), then
    locked in ascending id by one `SELECT ... WHERE id IN (...) ORDER BY id FOR UPDATE`.

    Each entry write locks its own accounts in id order; a transaction writing several
    entries would otherwise lock them entry by entry, so two such transactions could take
    two accounts in opposite orders and deadlock. Called first, this puts the whole group in
    the one global order; the entries' own locks are then already held (a row locked twice
    by one transaction does not wait). Returns the ids by (code, asset).
    """
    if not connection.in_atomic_block:
        raise RuntimeError(
            "ledger_accounts_lock holds its locks until commit: call it in a transaction."
        )
    legs = [
        Leg(spec=codes.account_spec(code), asset=codes.asset_key(asset), debit=ZERO, credit=ZERO)
        for code, asset in accounts
    ]
    ids = accounts_ensure(legs)
    lock_objects.accounts_lock(ids.values())
    return ids


def account_ensure(*, code: str, asset: str) -> Account:
    """The account `(code, asset)`, created (with zero balances) if it does not exist yet."""
    spec = codes.account_spec(code)
    asset = codes.asset_key(asset)
    leg = Leg(spec=spec, asset=asset, debit=ZERO, credit=ZERO)
    with transaction.atomic():
        pk = accounts_ensure([leg])[leg.account_key]
    return Account.objects.get(pk=pk)


# --------------------------------------------------------------------------- balances

_COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def balances_apply(deltas: dict[int, list[Decimal]]) -> None:
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


def deltas_for(
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


# --------------------------------------------------------------------------- recovery


@money_arithmetic
def ledger_balances_rebuild(
    *, progress: Callable[[Iterable[int]], Iterable[int]] | None = None, chunk_size: int = 500
) -> int:
    """Recompute every cached balance from postings; returns how many accounts changed.

    Accounts are processed in id-ordered chunks, each in its own transaction under the same
    account locks the writers take, and postings are read after the lock is held, so a
    concurrent writer (which locks accounts after inserting its postings) is either already
    committed and counted, or adds its delta afterwards on top of the rebuilt value.
    """
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
