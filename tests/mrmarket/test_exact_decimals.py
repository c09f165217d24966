"""Money stays exact on SQLite too (issue 19): stored, read, compared and summed."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from ledger import codes
from ledger.models import Account, Posting
from ledger.selectors import account_balance
from ledger.services import deposit_credit
from mrmarket.db.sqlite3.base import DecimalSum

pytestmark = pytest.mark.django_db

AMOUNTS = ["12345678.12345678", "99999999999.123456789012345678", "0.000000000000000001"]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_a_deposit_with_more_than_15_significant_digits_is_credited_exactly(amount: str) -> None:
    user, asset = uuid.uuid4(), str(uuid.uuid4())
    deposit_credit(
        idempotency_key=f"d:{amount}",
        user_id=user,
        asset=asset,
        amount=Decimal(amount),
        snapshot_id="s",
    )
    assert account_balance(code=codes.user_available(user), asset=asset).posted == Decimal(amount)
    stored = Posting.objects.filter(account__asset=asset, credit__gt=0).get()
    assert stored.credit == Decimal(amount)


def test_sums_and_comparisons_on_decimal_columns_are_numeric_and_exact() -> None:
    user, asset = uuid.uuid4(), str(uuid.uuid4())
    for n, amount in enumerate(["12345678.12345678", "0.00000000000000001", "9.5", "10"]):
        deposit_credit(
            idempotency_key=f"s:{n}",
            user_id=user,
            asset=asset,
            amount=Decimal(amount),
            snapshot_id=str(n),
        )
    credits = Posting.objects.filter(account__asset=asset, credit__gt=0)
    assert credits.aggregate(total=Sum("credit"))["total"] == Decimal("12345697.62345678000000001")
    # numeric, not text, order: "10" > "9.5"
    assert credits.filter(credit__gt=Decimal("9.6")).count() == 2
    assert credits.filter(credit__lte=Decimal(10)).count() == 3
    assert credits.filter(credit=Decimal("9.5")).count() == 1
    account = Account.objects.get(asset=asset, code=codes.user_available(user))
    assert account.credits_posted == Decimal("12345697.62345678000000001")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend's storage")
def test_sqlite_stores_decimals_as_text() -> None:
    user, asset = uuid.uuid4(), str(uuid.uuid4())
    deposit_credit(
        idempotency_key="t",
        user_id=user,
        asset=asset,
        amount=Decimal("12345678.12345678"),
        snapshot_id="t",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credit, typeof(credit) FROM ledger_posting WHERE CAST(credit AS REAL) > 0"
        )
        assert cursor.fetchall() == [("12345678.123456780000000000", "text")]


def test_the_sum_aggregate_keeps_ints_and_doubles_as_they_were() -> None:
    ints, doubles, texts, empty = DecimalSum(), DecimalSum(), DecimalSum(), DecimalSum()
    for whole in (1, 2, None):
        ints.step(whole)
    for number in (0.5, 1):
        doubles.step(number)
    for text in ("0.1", "0.2", 1):
        texts.step(text)
    assert ints.finalize() == 3
    assert doubles.finalize() == 1.5
    assert texts.finalize() == "1.3"
    assert empty.finalize() is None
