"""ledger_verify and ledger_rebuild."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F

from ledger import codes
from ledger import services as ledger
from ledger.models import Account
from ledger.selectors import ledger_verify_report
from tests.ledger.helpers import new_asset, posted

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def books() -> dict:
    asset, user, order = new_asset(), uuid.uuid4(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="d", user_id=user, asset=asset, amount=D(10), snapshot_id="s"
    )
    ledger.order_allocate(
        idempotency_key="a", user_id=user, order_id=order, asset=asset, amount=D(4)
    )
    ledger.refund_start(idempotency_key="r", user_id=user, asset=asset, amount=D(1), reference="x")
    return {"asset": asset, "user": user, "order": order}


def test_verify_passes_on_a_consistent_ledger(books) -> None:
    out = io.StringIO()
    call_command("ledger_verify", stdout=out)
    assert "3 entries, 6 postings, 3 accounts checked" in out.getvalue()
    assert "OK, 0 violations" in out.getvalue()


def test_verify_exits_non_zero_on_a_corrupted_balance(books) -> None:
    # given: a cached balance that no longer matches the postings (still within every flag)
    code = codes.user_available(books["user"])
    Account.objects.filter(code=code).update(credits_posted=F("credits_posted") + 1)
    # when / then
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 violation"):
        call_command("ledger_verify", stdout=out)
    assert f"{code}" in out.getvalue() and "VIOLATION" in out.getvalue()
    with pytest.raises(SystemExit) as exc:
        ManagementUtility(["manage.py", "ledger_verify"]).execute()
    assert exc.value.code == 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL refuses this write itself")
def test_verify_reports_an_unbalanced_entry_and_a_negative_liability(books) -> None:
    # SQLite has no trigger: write behind the services' back, as a bug would
    with connection.cursor() as cur:
        cur.execute("UPDATE ledger_posting SET debit = 12 WHERE CAST(debit AS REAL) = 4")
    report = ledger_verify_report()
    assert any("debits 12" in v and "credits 4" in v for v in report.violations)
    assert any("negative liability" in v for v in report.violations)


def test_rebuild_restores_cached_balances_from_postings(books) -> None:
    code = codes.user_available(books["user"])
    Account.objects.filter(code=code).update(credits_posted=D(99), debits_pending=D(0))
    assert not ledger_verify_report().ok
    out = io.StringIO()
    call_command("ledger_rebuild", "--no-progress", stdout=out)
    assert "1 account(s) corrected" in out.getvalue()
    assert ledger_verify_report().ok
    assert posted(code, books["asset"]) == D(6)
    call_command("ledger_rebuild", "--chunk-size", "1", stdout=out)
    assert "0 account(s) corrected" in out.getvalue()
