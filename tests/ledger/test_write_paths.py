"""The two write paths on PostgreSQL: each test variant really goes through its own path,
and the stored function's own outcomes (refusal, replay, first use) behave as the services say."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction

from ledger import codes, postgres
from ledger import services as ledger
from ledger.exceptions import IdempotencyConflict, InsufficientFunds
from ledger.models import Account, JournalEntry
from ledger.services import write as ledger_write
from tests.ledger.helpers import assert_ledger_ok, new_asset, posted, snapshot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

D = Decimal
M = codes.CUSTODY_MIXIN


def _forbid(*args: object, **kwargs: object) -> None:
    raise AssertionError("the other write path was used")


def test_each_variant_writes_through_its_own_path(ledger_write_path, monkeypatch) -> None:
    if ledger_write_path == "function":
        monkeypatch.setattr(ledger_write, "_entry_create_portable", _forbid)
    else:
        monkeypatch.setattr(postgres, "entry_write", _forbid)
    user = codes.user_available(uuid.uuid4())
    asset = new_asset()
    entry = ledger.ledger_transfer_create(
        idempotency_key="k", debit_account=M, credit_account=user, asset=asset, amount=D("1.5")
    )
    assert entry.pk and posted(user, asset) == D("1.5")
    assert_ledger_ok()


@pytest.mark.parametrize("ledger_write_path", ["function"], indirect=True)
def test_function_refusal_names_the_account_and_rolls_everything_back(ledger_write_path) -> None:
    asset, alice, bob = new_asset(), uuid.uuid4(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="d", user_id=alice, asset=asset, amount=D(2), snapshot_id="s"
    )
    ledger.account_ensure(code=codes.user_available(bob), asset=asset)
    before = snapshot()
    with pytest.raises(InsufficientFunds) as exc:
        ledger.ledger_transfer_create(
            idempotency_key="t",
            debit_account=codes.user_available(alice),
            credit_account=codes.user_available(bob),
            asset=asset,
            amount=D("2.000000000000000001"),
        )
    assert exc.value.payload == {"account": codes.user_available(alice), "asset": asset}
    assert "lacks 0.000000000000000001" in str(exc.value)
    assert snapshot() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ledger_write_path", ["function"], indirect=True)
def test_function_in_autocommit_and_inside_a_callers_transaction(ledger_write_path) -> None:
    # outside any block: the call is its own transaction (one statement)
    assert not connection.in_atomic_block
    asset, user = new_asset(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="d", user_id=user, asset=asset, amount=D(1), snapshot_id="s"
    )
    before = snapshot()
    with pytest.raises(InsufficientFunds):
        ledger.order_allocate(
            idempotency_key="a", user_id=user, order_id=uuid.uuid4(), asset=asset, amount=D(2)
        )
    assert snapshot() == before
    # inside the caller's block: a refusal rolls back only itself, the rest commits together
    with transaction.atomic():
        ledger.deposit_credit(
            idempotency_key="d2", user_id=user, asset=asset, amount=D(1), snapshot_id="s2"
        )
        with pytest.raises(InsufficientFunds):
            ledger.order_allocate(
                idempotency_key="a", user_id=user, order_id=uuid.uuid4(), asset=asset, amount=D(3)
            )
    assert posted(codes.user_available(user), asset) == D(2)
    assert not JournalEntry.objects.filter(idempotency_key="a").exists()
    assert_ledger_ok()


@pytest.mark.parametrize("ledger_write_path", ["function"], indirect=True)
def test_function_outcomes_first_use_replay_and_conflict(ledger_write_path) -> None:
    asset, user = new_asset(), uuid.uuid4()
    code = codes.user_available(user)
    args = dict(debit_account=M, credit_account=code, asset=asset, amount=D(3))
    assert not Account.objects.filter(asset=asset).exists()
    first = ledger.ledger_transfer_create(idempotency_key="k", **args)  # type: ignore[arg-type]
    assert Account.objects.filter(asset=asset).count() == 2
    again = ledger.ledger_transfer_create(idempotency_key="k", **args)  # type: ignore[arg-type]
    assert again.pk == first.pk and posted(code, asset) == D(3)
    other = codes.user_available(uuid.uuid4())
    with pytest.raises(IdempotencyConflict):
        ledger.ledger_transfer_create(
            idempotency_key="k",
            **{**args, "credit_account": other},  # type: ignore[arg-type]
        )
    # the account created for the refused conflicting entry went back with it
    assert not Account.objects.filter(code=other).exists()
    assert_ledger_ok()
