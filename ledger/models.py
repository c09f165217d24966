"""The ledger: accounts with cached balances, journal entries, postings (DESIGN §3).

Double-entry in the style of TigerBeetle. Every movement of value is one `JournalEntry`
with two or more `Posting`s; per asset, debits equal credits (a deferred constraint
trigger on PostgreSQL, `0002_ledger_invariants.sql`, and `services.entries.legs_validate` in
Python). Each `Account` caches four balance columns that change only inside the entry's
transaction, under row locks taken in account-id order (`lock_objects.accounts_lock`).

Which columns a posting feeds depends on its entry's status: `pending` → `*_pending`,
`posted` → `*_posted`, `voided` → none. So the cached balances are always a pure function
of the postings and the entry statuses, which `ledger_verify` recomputes and
`ledger_rebuild` restores.

Amounts are `NUMERIC(38, 18)`: 18 decimals (wei-precision tokens) and 20 integer digits.
Owners (user, order, venue account) are plain columns, not foreign keys: the ledger is
append-only history that must outlive any other row, and the apps that own those rows
depend on the ledger, never the reverse.
"""

from __future__ import annotations

import decimal
from contextlib import AbstractContextManager
from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import Combinable
from django.utils import timezone

from ledger.constraints import ExactCheckConstraint
from ledger.enums import AccountKind, EntryKind, EntryStatus

ZERO = Decimal(0)
# Ledger arithmetic context: NUMERIC(38, 18) sums need more than Python's default 28 digits,
# and a rounded money value is a bug, so inexact results raise instead of rounding.
MONEY_CONTEXT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.Inexact])


def money_context() -> AbstractContextManager[decimal.Context]:
    """`with money_context():` around any arithmetic on ledger amounts."""
    return decimal.localcontext(MONEY_CONTEXT)


def _amount_field() -> models.DecimalField[Decimal | float | str | Combinable, Decimal]:
    # 38 digits, 18 of them decimals: exact for 18-decimal tokens up to 10^20 units.
    return models.DecimalField(max_digits=38, decimal_places=18, default=ZERO)


class Account(models.Model):
    id = models.BigAutoField(primary_key=True)
    code = models.CharField(max_length=200)
    # Mixin asset id (lowercase UUID string): the service-wide asset identity.
    asset = models.CharField(max_length=36, db_index=True)
    kind = models.CharField(max_length=10, choices=AccountKind.choices)
    # TigerBeetle's balance flags (see ledger.codes): at most one is set (none on fee accounts).
    debits_must_not_exceed_credits = models.BooleanField(default=False)
    credits_must_not_exceed_debits = models.BooleanField(default=False)
    user_id = models.UUIDField(null=True, blank=True, db_index=True)
    order_id = models.UUIDField(null=True, blank=True, db_index=True)
    venue = models.CharField(max_length=64, blank=True, default="")
    venue_account = models.CharField(max_length=64, blank=True, default="")
    debits_posted = _amount_field()
    credits_posted = _amount_field()
    debits_pending = _amount_field()
    credits_pending = _amount_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "ledger_account"
        constraints = [
            models.UniqueConstraint(fields=["code", "asset"], name="ledger_account_code_asset"),
            models.CheckConstraint(
                condition=Q(kind__in=AccountKind.values), name="ledger_account_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0)
                & Q(credits_posted__gte=0)
                & Q(debits_pending__gte=0)
                & Q(credits_pending__gte=0),
                name="ledger_account_balances_non_negative",
            ),
            models.CheckConstraint(
                condition=~(
                    Q(debits_must_not_exceed_credits=True) & Q(credits_must_not_exceed_debits=True)
                ),
                name="ledger_account_one_flag",
            ),
            # A liability (or income) never goes below zero, pending debits included.
            ExactCheckConstraint(
                condition=Q(debits_must_not_exceed_credits=False)
                | Q(debits_posted__lte=F("credits_posted") - F("debits_pending")),
                name="ledger_account_debits_within_credits",
            ),
            # Custody never sends more than it holds, pending credits included.
            ExactCheckConstraint(
                condition=Q(credits_must_not_exceed_debits=False)
                | Q(credits_posted__lte=F("debits_posted") - F("credits_pending")),
                name="ledger_account_credits_within_debits",
            ),
        ]
        indexes = [models.Index(fields=["venue", "venue_account"], name="ledger_account_venue")]

    def __str__(self) -> str:
        return f"{self.code} [{self.asset}]"

    @property
    def credit_normal(self) -> bool:
        return self.kind in (AccountKind.LIABILITY, AccountKind.INCOME)

    @property
    def balance_posted(self) -> Decimal:
        """Posted balance on the account's normal side (what a liability owes, what custody holds)."""
        with money_context():
            net = self.credits_posted - self.debits_posted
            return net if self.credit_normal else -net

    @property
    def balance_available(self) -> Decimal:
        """Posted balance minus pending outflows: what can still be spent."""
        with money_context():
            if self.credit_normal:
                return self.credits_posted - self.debits_posted - self.debits_pending
            return self.debits_posted - self.credits_posted - self.credits_pending


class AccountBalance(Account):
    """The console's balances screen: the same rows, shown as balances."""

    class Meta:
        proxy = True
        verbose_name = "balance"
        verbose_name_plural = "balances"


class JournalEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    # Caller-chosen, deterministic (e.g. "deposit:<snapshot_id>"); one entry per key forever
    # (the unique constraint in Meta: a plain unique index, without the varchar_pattern_ops
    # twin `unique=True` adds on PostgreSQL, which no query here uses).
    idempotency_key = models.CharField(max_length=200)
    # sha256 of the entry's money content (kind, reference, two-phase, postings) for replays.
    content_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=20, choices=EntryKind.choices)
    # What the entry is about: order id, snapshot id, trade id, campaign id...
    reference = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(max_length=8, choices=EntryStatus.choices)
    two_phase = models.BooleanField(default=False)
    description = models.CharField(max_length=255, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    # Post or void of a two-phase entry: when, and under which caller key (replays compare it).
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Unique where set (Meta): the partial index skips the NULL of every one-phase entry.
    resolution_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULL is "unresolved"; many may be unresolved, each set key is unique

    class Meta:
        db_table = "ledger_journal_entry"
        verbose_name = "journal entry"
        verbose_name_plural = "journal entries"
        # Every index is paid on each insert, so only those a query uses (equality lookups
        # and the console's filters); see docs/ledger.md "Write path".
        indexes = [
            models.Index(fields=["kind"], name="ledger_entry_kind"),
            models.Index(fields=["reference"], name="ledger_entry_reference"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], name="ledger_entry_idempotency_key"
            ),
            models.UniqueConstraint(
                fields=["resolution_key"],
                condition=Q(resolution_key__isnull=False),
                name="ledger_entry_resolution_key",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EntryStatus.values), name="ledger_entry_status_valid"
            ),
            # Only a two-phase entry is ever pending or voided, and only it has a resolution.
            models.CheckConstraint(
                condition=Q(two_phase=True)
                | (Q(status=EntryStatus.POSTED) & Q(resolution_key__isnull=True)),
                name="ledger_entry_single_phase_posted",
            ),
            models.CheckConstraint(
                condition=Q(
                    status=EntryStatus.PENDING,
                    resolution_key__isnull=True,
                    resolved_at__isnull=True,
                )
                | Q(status=EntryStatus.POSTED, two_phase=False)
                | (
                    ~Q(status=EntryStatus.PENDING)
                    & Q(two_phase=True, resolution_key__isnull=False, resolved_at__isnull=False)
                ),
                name="ledger_entry_resolution_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.kind} {self.status} ({self.idempotency_key})"


class Posting(models.Model):
    """One side of an entry on one account. Append-only (a trigger on PostgreSQL)."""

    id = models.BigAutoField(primary_key=True)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    debit = _amount_field()
    credit = _amount_field()

    class Meta:
        db_table = "ledger_posting"
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(debit=0) & Q(credit__gt=0)),
                name="ledger_posting_one_side_positive",
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{side} on account {self.account_id}"
