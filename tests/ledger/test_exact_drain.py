"""Draining an account exactly to zero works on every database (SQLite compares in floats)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledger import codes, services
from ledger.selectors import account_balance, ledger_verify_report

pytestmark = pytest.mark.django_db


def test_an_account_drained_exactly_to_zero_is_accepted() -> None:
    user = uuid.uuid4()
    asset = str(uuid.uuid4())
    # custody:mixin debits 0.1 + 0.2: in binary floating point 0.3 - 0.2 < 0.1
    for n, amount in enumerate(("0.1", "0.2")):
        services.deposit_credit(
            idempotency_key=f"d{n}",
            user_id=user,
            asset=asset,
            amount=Decimal(amount),
            snapshot_id=f"s{n}",
        )
    first = services.refund_start(
        idempotency_key="r1", user_id=user, asset=asset, amount=Decimal("0.1"), reference="r1"
    )
    services.refund_confirm(entry_key=first.idempotency_key, idempotency_key="r1:post")
    services.refund_start(
        idempotency_key="r2", user_id=user, asset=asset, amount=Decimal("0.2"), reference="r2"
    )
    custody = account_balance(code=codes.CUSTODY_MIXIN, asset=asset)
    assert custody.available == 0
    assert ledger_verify_report().ok
