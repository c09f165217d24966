"""The generic core: balanced entries, balance flags, idempotency, two-phase, transactions."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from ledger import codes
from ledger.enums import EntryKind, EntryStatus
from ledger.exceptions import (
    EntryNotFound,
    EntryNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAccount,
    InvalidAmount,
    UnbalancedEntry,
)
from ledger.models import Account, JournalEntry, Posting
from ledger.services import (
    PostingSpec,
    credit,
    debit,
    deposit_credit,
    ledger_entry_create,
    ledger_pending_post,
    ledger_pending_void,
    ledger_transfer_create,
)
from tests.ledger.helpers import assert_ledger_ok, available, new_asset, posted, snapshot

pytestmark = pytest.mark.django_db

M = codes.CUSTODY_MIXIN


@pytest.fixture
def asset() -> str:
    return new_asset()


@pytest.fixture
def alice() -> str:
    return codes.user_available(uuid.uuid4())


@pytest.fixture
def bob() -> str:
    return codes.user_available(uuid.uuid4())


def _fund(user: str, asset: str, amount: str, key: str = "fund") -> None:
    ledger_transfer_create(
        idempotency_key=f"{key}:{user}:{asset}",
        debit_account=M,
        credit_account=user,
        asset=asset,
        amount=Decimal(amount),
        kind=EntryKind.DEPOSIT,
    )


def test_a_transfer_posts_balanced_postings_and_caches_balances(asset, alice) -> None:
    # when
    entry = ledger_transfer_create(
        idempotency_key="k1",
        debit_account=M,
        credit_account=alice,
        asset=asset,
        amount=Decimal("2.5"),
    )
    # then
    assert entry.status == EntryStatus.POSTED and entry.two_phase is False
    postings = sorted(entry.postings.values_list("account__code", "debit", "credit"))
    assert postings == [(M, Decimal("2.5"), Decimal(0)), (alice, Decimal(0), Decimal("2.5"))]
    assert posted(M, asset) == Decimal("2.5")
    assert posted(alice, asset) == Decimal("2.5")
    user_account = Account.objects.get(code=alice, asset=asset)
    assert user_account.kind == "liability" and user_account.debits_must_not_exceed_credits
    assert user_account.user_id == uuid.UUID(alice.split(":")[1])
    assert_ledger_ok()


def test_accounts_are_created_once_per_code_and_asset(asset, alice) -> None:
    _fund(alice, asset, "1", key="a")
    _fund(alice, asset, "1", key="b")
    assert Account.objects.filter(code=alice).count() == 1
    assert posted(alice, asset) == Decimal(2)


@pytest.mark.parametrize(
    "postings, error",
    [
        ("single", UnbalancedEntry),
        ("unbalanced", UnbalancedEntry),
        ("float", InvalidAmount),
        ("too_precise", InvalidAmount),
        ("negative", InvalidAmount),
        ("both_sides", InvalidAmount),
        ("bad_code", InvalidAccount),
        ("bad_asset", InvalidAccount),
    ],
)
def test_invalid_entries_are_refused_and_nothing_is_written(postings, error, asset, alice) -> None:
    cases = {
        "single": [debit(M, asset, Decimal(1))],
        "unbalanced": [debit(M, asset, Decimal(2)), credit(alice, asset, Decimal(1))],
        "float": [debit(M, asset, 1.5), credit(alice, asset, 1.5)],  # type: ignore[arg-type]
        "too_precise": [debit(M, asset, Decimal("1e-19")), credit(alice, asset, Decimal("1e-19"))],
        "negative": [debit(M, asset, Decimal(-1)), credit(alice, asset, Decimal(-1))],
        "both_sides": [
            PostingSpec(M, asset, debit=Decimal(1), credit=Decimal(1)),
            credit(alice, asset, Decimal(1)),
            debit(alice, asset, Decimal(1)),
        ],
        "bad_code": [
            debit("user:bob:available", asset, Decimal(1)),
            credit(alice, asset, Decimal(1)),
        ],
        "bad_asset": [debit(M, "BTC", Decimal(1)), credit(alice, "BTC", Decimal(1))],
    }
    before = snapshot()
    with pytest.raises(error):
        ledger_entry_create(
            idempotency_key="bad", kind=EntryKind.TRANSFER, postings=cases[postings]
        )
    assert snapshot() == before
    assert not JournalEntry.objects.filter(idempotency_key="bad").exists()


def test_balanced_per_asset_not_only_in_total(alice) -> None:
    a, b = new_asset(), new_asset()
    with pytest.raises(UnbalancedEntry):
        ledger_entry_create(
            idempotency_key="x",
            kind=EntryKind.TRANSFER,
            postings=[debit(M, a, Decimal(1)), credit(alice, b, Decimal(1))],
        )
    assert Posting.objects.count() == 0


def test_a_liability_never_goes_below_zero(asset, alice, bob) -> None:
    _fund(alice, asset, "3")
    before = snapshot()
    with pytest.raises(InsufficientFunds) as exc:
        ledger_transfer_create(
            idempotency_key="t",
            debit_account=alice,
            credit_account=bob,
            asset=asset,
            amount=Decimal("3.01"),
        )
    assert exc.value.status_code == 409
    assert snapshot() == before
    # exactly the balance is fine
    ledger_transfer_create(
        idempotency_key="t", debit_account=alice, credit_account=bob, asset=asset, amount=Decimal(3)
    )
    assert posted(alice, asset) == 0 and posted(bob, asset) == 3


def test_custody_never_sends_more_than_it_holds(asset, alice) -> None:
    venue = codes.custody_venue("binance", "main")
    _fund(alice, asset, "1")
    with pytest.raises(InsufficientFunds):
        ledger_transfer_create(
            idempotency_key="m",
            debit_account=venue,
            credit_account=M,
            asset=asset,
            amount=Decimal(2),
        )
    assert posted(M, asset) == 1


def test_same_key_same_content_returns_the_original_without_posting_again(asset, alice) -> None:
    first = ledger_transfer_create(
        idempotency_key="dup", debit_account=M, credit_account=alice, asset=asset, amount=Decimal(1)
    )
    before = snapshot()
    again = ledger_transfer_create(
        idempotency_key="dup",
        debit_account=M,
        credit_account=alice,
        asset=asset,
        amount=Decimal("1.000"),
    )
    assert again.pk == first.pk
    assert snapshot() == before


@pytest.mark.parametrize("change", ["amount", "account", "kind", "reference", "pending"])
def test_same_key_different_content_is_a_conflict(change, asset, alice, bob) -> None:
    args = dict(
        debit_account=M, credit_account=alice, asset=asset, amount=Decimal(1), reference="r"
    )
    ledger_transfer_create(idempotency_key="dup", **args)  # type: ignore[arg-type]
    changed = dict(args)
    extra: dict = {}
    if change == "amount":
        changed["amount"] = Decimal(2)
    elif change == "account":
        changed["credit_account"] = bob
    elif change == "reference":
        changed["reference"] = "other"
    elif change == "kind":
        extra["kind"] = EntryKind.DEPOSIT
    else:
        extra["pending"] = True
    before = snapshot()
    with pytest.raises(IdempotencyConflict) as exc:
        ledger_transfer_create(idempotency_key="dup", **changed, **extra)  # type: ignore[arg-type]
    assert exc.value.status_code == 409
    assert snapshot() == before


def test_pending_debits_count_against_a_liability_and_pending_credits_are_not_spendable(
    asset, alice, bob
) -> None:
    _fund(alice, asset, "10")
    ledger_transfer_create(
        idempotency_key="p",
        debit_account=alice,
        credit_account=bob,
        asset=asset,
        amount=Decimal(6),
        pending=True,
    )
    assert available(alice, asset) == 4
    assert posted(alice, asset) == 10
    # bob's incoming 6 is only pending: he cannot spend it
    with pytest.raises(InsufficientFunds):
        ledger_transfer_create(
            idempotency_key="b",
            debit_account=bob,
            credit_account=alice,
            asset=asset,
            amount=Decimal(1),
        )
    # alice cannot spend the pending part again
    with pytest.raises(InsufficientFunds):
        ledger_transfer_create(
            idempotency_key="a",
            debit_account=alice,
            credit_account=bob,
            asset=asset,
            amount=Decimal(5),
        )
    assert_ledger_ok()


def test_post_makes_pending_amounts_posted_once(asset, alice, bob) -> None:
    _fund(alice, asset, "10")
    ledger_transfer_create(
        idempotency_key="p",
        debit_account=alice,
        credit_account=bob,
        asset=asset,
        amount=Decimal(6),
        pending=True,
    )
    entry = ledger_pending_post(entry_key="p", idempotency_key="p:post")
    assert entry.status == EntryStatus.POSTED and entry.resolution_key == "p:post"
    assert posted(alice, asset) == 4 and available(alice, asset) == 4
    assert posted(bob, asset) == 6
    before = snapshot()
    # replay: same resolution key, no-op
    assert ledger_pending_post(entry_key="p", idempotency_key="p:post").pk == entry.pk
    assert snapshot() == before
    # a second post under another key, or a void after post: errors, nothing changes
    with pytest.raises(EntryNotPending):
        ledger_pending_post(entry_key="p", idempotency_key="p:post2")
    with pytest.raises(EntryNotPending):
        ledger_pending_void(entry_key="p", idempotency_key="p:void")
    with pytest.raises(IdempotencyConflict):
        ledger_pending_void(entry_key="p", idempotency_key="p:post")
    assert snapshot() == before
    assert_ledger_ok()


def test_void_releases_pending_amounts(asset, alice, bob) -> None:
    _fund(alice, asset, "10")
    ledger_transfer_create(
        idempotency_key="p",
        debit_account=alice,
        credit_account=bob,
        asset=asset,
        amount=Decimal(6),
        pending=True,
    )
    ledger_pending_void(entry_key="p", idempotency_key="p:void")
    assert available(alice, asset) == 10 and posted(bob, asset) == 0 and available(bob, asset) == 0
    assert JournalEntry.objects.get(idempotency_key="p").status == EntryStatus.VOIDED
    with pytest.raises(EntryNotPending):
        ledger_pending_post(entry_key="p", idempotency_key="p:post")
    assert_ledger_ok()


def test_post_of_a_single_phase_entry_or_an_unknown_key_is_refused(asset, alice) -> None:
    _fund(alice, asset, "1")
    key = f"fund:{alice}:{asset}"
    with pytest.raises(EntryNotPending):
        ledger_pending_post(entry_key=key, idempotency_key="x")
    with pytest.raises(EntryNotFound):
        ledger_pending_void(entry_key="nope", idempotency_key="y")


def test_a_resolution_key_resolves_only_one_entry(asset, alice, bob) -> None:
    _fund(alice, asset, "10")
    for key in ("p1", "p2"):
        ledger_transfer_create(
            idempotency_key=key,
            debit_account=alice,
            credit_account=bob,
            asset=asset,
            amount=Decimal(1),
            pending=True,
        )
    ledger_pending_post(entry_key="p1", idempotency_key="same")
    before = snapshot()
    with pytest.raises(IdempotencyConflict):
        ledger_pending_post(entry_key="p2", idempotency_key="same")
    assert snapshot() == before


def test_inside_a_caller_transaction_a_refused_entry_rolls_back_only_itself(
    asset, alice, bob
) -> None:
    _fund(alice, asset, "1")
    with transaction.atomic():
        ledger_transfer_create(
            idempotency_key="ok",
            debit_account=M,
            credit_account=bob,
            asset=asset,
            amount=Decimal(1),
        )
        with pytest.raises(InsufficientFunds):
            ledger_transfer_create(
                idempotency_key="no",
                debit_account=alice,
                credit_account=bob,
                asset=asset,
                amount=Decimal(5),
            )
    assert JournalEntry.objects.filter(idempotency_key="ok").exists()
    assert not JournalEntry.objects.filter(idempotency_key="no").exists()
    assert posted(bob, asset) == 1
    assert_ledger_ok()


def test_a_caller_transaction_that_rolls_back_takes_the_entry_with_it(asset, alice) -> None:
    before = snapshot()
    with pytest.raises(RuntimeError), transaction.atomic():
        _fund(alice, asset, "5")
        raise RuntimeError("order transition failed")
    assert snapshot() == before


def test_every_database_keeps_eighteen_decimals_exactly(asset, alice) -> None:
    # SQLite included: decimals are stored as text there (mrmarket.db.sqlite3).
    _fund(alice, asset, "99999999999.123456789012345678")
    deposit_credit(
        idempotency_key="d2",
        user_id=alice.split(":")[1],
        asset=asset,
        amount=Decimal("0.000000000000000001"),
        snapshot_id="s",
    )
    assert posted(alice, asset) == Decimal("99999999999.123456789012345679")
    assert_ledger_ok()


def test_a_transaction_marked_for_rollback_takes_no_entry(asset, alice) -> None:
    with transaction.atomic():
        transaction.set_rollback(True)
        with pytest.raises(TransactionManagementError):
            ledger_transfer_create(
                idempotency_key="late",
                debit_account=M,
                credit_account=alice,
                asset=asset,
                amount=Decimal(1),
            )
    assert not JournalEntry.objects.filter(idempotency_key="late").exists()
