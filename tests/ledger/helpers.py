"""Helpers of the ledger tests: ids, balance snapshots, invariant checks."""

from __future__ import annotations

import uuid
from decimal import Decimal

from ledger import codes
from ledger.models import Account, JournalEntry, Posting
from ledger.selectors import account_balance, ledger_verify_report


def new_asset() -> str:
    return str(uuid.uuid4())


def available(code: str, asset: str) -> Decimal:
    return account_balance(code=code, asset=asset).available


def posted(code: str, asset: str) -> Decimal:
    return account_balance(code=code, asset=asset).posted


def user_code(user_id: uuid.UUID) -> str:
    return codes.user_available(user_id)


def snapshot() -> tuple[int, int, list[tuple]]:
    """Entry count, posting count and every account's balance columns: 'nothing happened' checks."""
    rows = list(
        Account.objects.order_by("id").values_list(
            "id", "debits_posted", "credits_posted", "debits_pending", "credits_pending"
        )
    )
    statuses = list(JournalEntry.objects.order_by("id").values_list("id", "status"))
    return JournalEntry.objects.count(), Posting.objects.count(), rows + statuses


def assert_ledger_ok() -> None:
    report = ledger_verify_report()
    assert report.violations == []
