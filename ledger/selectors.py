"""Ledger reads: balances, entries, and the invariant checks behind `ledger_verify`.

Recomputations sum postings in Python (streamed, Decimal-exact) rather than with SQL SUM:
SQLite sums NUMERIC as doubles, and one code path on both databases is easier to trust.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from ledger import codes
from ledger.enums import AccountKind, EntryStatus
from ledger.models import ZERO, Account, JournalEntry, Posting, money_context
from mrmarket.money import money_str

MAX_ENTRY_LIMIT = 500
_STREAM_CHUNK = 5000

Columns = tuple[Decimal, Decimal, Decimal, Decimal]


@dataclass(frozen=True)
class Balance:
    """An account's cached balance. `posted` and `available` are on the account's normal side."""

    code: str
    asset: str
    kind: str
    debits_posted: Decimal
    credits_posted: Decimal
    debits_pending: Decimal
    credits_pending: Decimal

    @property
    def credit_normal(self) -> bool:
        return self.kind in (AccountKind.LIABILITY, AccountKind.INCOME)

    @property
    def posted(self) -> Decimal:
        with money_context():
            net = self.credits_posted - self.debits_posted
            return net if self.credit_normal else -net

    @property
    def available(self) -> Decimal:
        """Posted minus pending outflows: what the account can still spend or send."""
        with money_context():
            if self.credit_normal:
                return self.credits_posted - self.debits_posted - self.debits_pending
            return self.debits_posted - self.credits_posted - self.credits_pending


def balance_of(account: Account) -> Balance:
    return Balance(
        code=account.code,
        asset=account.asset,
        kind=account.kind,
        debits_posted=account.debits_posted,
        credits_posted=account.credits_posted,
        debits_pending=account.debits_pending,
        credits_pending=account.credits_pending,
    )


def account_balance(*, code: str, asset: str) -> Balance:
    """Balance of one account; an account never used has a zero balance."""
    spec = codes.account_spec(code)
    asset = codes.asset_key(asset)
    account = Account.objects.filter(code=code, asset=asset).first()
    if account is None:
        return Balance(code, asset, spec.kind, ZERO, ZERO, ZERO, ZERO)
    return balance_of(account)


def order_balances(*, order_id: uuid.UUID | str) -> dict[str, Balance]:
    """The order's budget per asset (asset id → balance)."""
    code = codes.order_account(order_id)
    return {a.asset: balance_of(a) for a in Account.objects.filter(code=code).order_by("asset")}


def user_balances(*, user_id: uuid.UUID | str) -> dict[str, Balance]:
    """The user's free balance per asset (what is not allocated to an order)."""
    code = codes.user_available(user_id)
    return {a.asset: balance_of(a) for a in Account.objects.filter(code=code).order_by("asset")}


def entry_get(*, idempotency_key: str) -> JournalEntry | None:
    return JournalEntry.objects.filter(idempotency_key=idempotency_key).first()


def entry_list(
    *,
    user_id: uuid.UUID | str | None = None,
    asset: str | None = None,
    order_id: uuid.UUID | str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[JournalEntry]:
    """Entries newest first, with postings and accounts prefetched.

    Each filter is independent: entries touching the user's free balance, touching the
    order's budget, moving the asset, created at or after `since`.
    """
    qs: QuerySet[JournalEntry] = JournalEntry.objects.all()
    if user_id is not None:
        qs = qs.filter(id__in=Posting.objects.filter(account__user_id=user_id).values("entry_id"))
    if order_id is not None:
        qs = qs.filter(id__in=Posting.objects.filter(account__order_id=order_id).values("entry_id"))
    if asset is not None:
        qs = qs.filter(
            id__in=Posting.objects.filter(account__asset=codes.asset_key(asset)).values("entry_id")
        )
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    limit = max(1, min(int(limit), MAX_ENTRY_LIMIT))
    return list(qs.order_by("-created_at", "-id").prefetch_related("postings__account")[:limit])


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None


def _money(value: Decimal) -> str:
    text = money_str(value)
    assert text is not None
    return text


def entry_payload(entry: JournalEntry) -> dict[str, Any]:
    """The JSON shape of an entry (admin API, order lifecycle): money as strings, UTC ISO times."""
    return {
        "id": entry.pk,
        "idempotencyKey": entry.idempotency_key,
        "kind": entry.kind,
        "reference": entry.reference,
        "status": entry.status,
        "twoPhase": entry.two_phase,
        "description": entry.description,
        "createdAt": _iso(entry.created_at),
        "resolvedAt": _iso(entry.resolved_at),
        "postings": [
            {
                "account": p.account.code,
                "accountKind": p.account.kind,
                "assetId": p.account.asset,
                "debit": _money(p.debit),
                "credit": _money(p.credit),
            }
            for p in entry.postings.all()
        ],
    }


# --------------------------------------------------------------------------- invariants


def _columns_add(acc: list[Decimal], status: str, dr: Decimal, cr: Decimal) -> None:
    if status == EntryStatus.POSTED:
        acc[0] += dr
        acc[1] += cr
    elif status == EntryStatus.PENDING:
        acc[2] += dr
        acc[3] += cr


def balances_recompute(*, account_ids: Iterable[int] | None = None) -> dict[int, Columns]:
    """Balances as the postings and entry statuses say they are (account id → four columns)."""
    with money_context():
        return _balances_recompute(account_ids)


def _balances_recompute(account_ids: Iterable[int] | None) -> dict[int, Columns]:
    qs = Posting.objects.all()
    if account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    sums: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])
    rows = qs.order_by().values_list("account_id", "entry__status", "debit", "credit")
    for account_id, status, dr, cr in rows.iterator(chunk_size=_STREAM_CHUNK):
        _columns_add(sums[account_id], status, dr, cr)
    return {k: (v[0], v[1], v[2], v[3]) for k, v in sums.items()}


@dataclass
class VerifyReport:
    entries: int = 0
    postings: int = 0
    accounts: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def flag_violation(
    *, debits_must_not_exceed_credits: bool, credits_must_not_exceed_debits: bool, values: Columns
) -> str | None:
    dp, cp, dpend, cpend = values
    with money_context():
        return _flag_violation(
            debits_must_not_exceed_credits, credits_must_not_exceed_debits, dp, cp, dpend, cpend
        )


def _flag_violation(
    debit_flag: bool, credit_flag: bool, dp: Decimal, cp: Decimal, dpend: Decimal, cpend: Decimal
) -> str | None:
    if min(dp, cp, dpend, cpend) < 0:
        return "a balance column is negative"
    if debit_flag and dp + dpend > cp:
        return f"debits {dp} + pending {dpend} exceed credits {cp} (negative liability)"
    if credit_flag and cp + cpend > dp:
        return f"credits {cp} + pending {cpend} exceed debits {dp} (custody overdrawn)"
    return None


def ledger_verify_report() -> VerifyReport:
    """Check every invariant: balanced entries, cached == recomputed balances, balance flags."""
    with money_context():
        return _verify()


def _verify() -> VerifyReport:
    report = VerifyReport()
    sums: dict[int, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])

    current: int | None = None
    per_asset: dict[str, list[Decimal]] = {}
    count = 0

    def entry_close() -> None:
        if current is None:
            return
        report.entries += 1
        if count < 2:
            report.violations.append(f"entry {current}: {count} posting(s), needs at least 2")
        for asset, (dr, cr) in per_asset.items():
            if dr != cr:
                report.violations.append(
                    f"entry {current}: asset {asset} debits {dr} != credits {cr}"
                )

    rows = Posting.objects.order_by("entry_id", "id").values_list(
        "entry_id", "entry__status", "account_id", "account__asset", "debit", "credit"
    )
    for entry_id, status, account_id, asset, dr, cr in rows.iterator(chunk_size=_STREAM_CHUNK):
        if entry_id != current:
            entry_close()
            current, per_asset, count = entry_id, {}, 0
        count += 1
        report.postings += 1
        pair = per_asset.setdefault(asset, [ZERO, ZERO])
        pair[0] += dr
        pair[1] += cr
        _columns_add(sums[account_id], status, dr, cr)
    entry_close()

    for entry_id in JournalEntry.objects.filter(postings__isnull=True).values_list("id", flat=True):
        report.entries += 1
        report.violations.append(f"entry {entry_id}: no postings")

    for account in Account.objects.order_by("id").iterator(chunk_size=_STREAM_CHUNK):
        report.accounts += 1
        cached: Columns = (
            account.debits_posted,
            account.credits_posted,
            account.debits_pending,
            account.credits_pending,
        )
        s = sums.get(account.id, [ZERO, ZERO, ZERO, ZERO])
        recomputed: Columns = (s[0], s[1], s[2], s[3])
        label = f"account {account.id} {account.code} [{account.asset}]"
        if cached != recomputed:
            report.violations.append(
                f"{label}: cached (dp, cp, dpend, cpend) {tuple(map(str, cached))} "
                f"!= postings {tuple(map(str, recomputed))}"
            )
        for what, values in (("cached", cached), ("postings", recomputed)):
            problem = flag_violation(
                debits_must_not_exceed_credits=account.debits_must_not_exceed_credits,
                credits_must_not_exceed_debits=account.credits_must_not_exceed_debits,
                values=values,
            )
            if problem:
                report.violations.append(f"{label}: {what}: {problem}")
    return report
