"""PostgreSQL: real concurrent transactions, and the invariants the database enforces itself."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction

from ledger import codes
from ledger import services as ledger
from ledger.exceptions import InsufficientFunds
from ledger.models import Account, JournalEntry, Posting
from tests.ledger.helpers import assert_ledger_ok, available, new_asset, posted

pytestmark = pytest.mark.postgres

D = Decimal
M = codes.CUSTODY_MIXIN


def _race(n: int, work: Callable[[int], object]) -> list[object]:
    """Run `work(i)` in n threads released at once; each thread closes its own connection."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the outcome is the assertion subject
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_spenders_exactly_the_affordable_ones_succeed() -> None:
    # given: 10 units, 24 threads each allocating 1 to its own order
    asset, user = new_asset(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="dep", user_id=user, asset=asset, amount=D(10), snapshot_id="s"
    )
    orders = [uuid.uuid4() for _ in range(24)]

    # when
    results = _race(
        24,
        lambda i: ledger.order_allocate(
            idempotency_key=f"alloc-{i}", user_id=user, order_id=orders[i], asset=asset, amount=D(1)
        ),
    )

    # then
    ok = [r for r in results if isinstance(r, JournalEntry)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert (len(ok), len(refused)) == (10, 14)
    assert posted(codes.user_available(user), asset) == 0
    assert sum(posted(codes.order_account(o), asset) for o in orders) == D(10)
    assert JournalEntry.objects.filter(kind="allocation").count() == 10
    assert_ledger_ok()


@pytest.mark.django_db(transaction=True)
def test_concurrent_pending_and_posted_spends_never_overdraw() -> None:
    asset, user = new_asset(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="dep", user_id=user, asset=asset, amount=D(7), snapshot_id="s"
    )

    def spend(i: int) -> object:
        if i % 2:
            return ledger.refund_start(
                idempotency_key=f"refund-{i}",
                user_id=user,
                asset=asset,
                amount=D(1),
                reference=str(i),
            )
        return ledger.order_allocate(
            idempotency_key=f"alloc-{i}",
            user_id=user,
            order_id=uuid.uuid4(),
            asset=asset,
            amount=D(1),
        )

    results = _race(16, spend)
    assert sum(isinstance(r, JournalEntry) for r in results) == 7
    assert all(isinstance(r, JournalEntry | InsufficientFunds) for r in results)
    assert available(codes.user_available(user), asset) == 0
    assert_ledger_ok()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_one_key_make_one_entry() -> None:
    asset, user = new_asset(), uuid.uuid4()
    results = _race(
        8,
        lambda i: (
            ledger.deposit_credit(
                idempotency_key="same", user_id=user, asset=asset, amount=D(5), snapshot_id="s"
            ).pk
        ),
    )
    assert len(set(results)) == 1 and isinstance(results[0], int)
    assert posted(codes.user_available(user), asset) == D(5)
    assert_ledger_ok()


@pytest.mark.django_db(transaction=True)
def test_crossing_transfers_between_two_accounts_do_not_deadlock() -> None:
    asset, a, b = new_asset(), uuid.uuid4(), uuid.uuid4()
    for u in (a, b):
        ledger.deposit_credit(
            idempotency_key=f"d{u}", user_id=u, asset=asset, amount=D(100), snapshot_id=str(u)
        )
    ca, cb = codes.user_available(a), codes.user_available(b)

    def move(i: int) -> object:
        src, dst = (ca, cb) if i % 2 else (cb, ca)
        return ledger.ledger_transfer_create(
            idempotency_key=f"x{i}", debit_account=src, credit_account=dst, asset=asset, amount=D(1)
        )

    results = _race(16, move)
    assert all(isinstance(r, JournalEntry) for r in results), results
    assert posted(ca, asset) == posted(cb, asset) == D(100)
    assert_ledger_ok()


def _crossing_steps(*, up_front: bool) -> tuple[list[object], tuple[str, str], tuple[str, str]]:
    """Two order-step-like transactions, each writing two entries over the same two shared
    accounts (custody:mixin in two assets) in opposite orders: user 0 deposits X then Y,
    user 1 deposits Y then X. Each writes its first entry, waits (at most 1.5 s) until the
    other has written its own first one, then writes its second. `up_front`: each first
    locks every account of its group (`ledger_accounts_lock`), as the order steps do."""
    x, y = new_asset(), new_asset()
    users = [uuid.uuid4(), uuid.uuid4()]
    first_written = [threading.Event(), threading.Event()]

    def deposit(user: uuid.UUID, asset: str) -> JournalEntry:
        return ledger.deposit_credit(
            idempotency_key=f"dep:{user}:{asset}",
            user_id=user,
            asset=asset,
            amount=D(1),
            snapshot_id=f"{user}:{asset}",
        )

    def step(i: int) -> object:
        user, order = users[i], ((x, y) if i == 0 else (y, x))
        with transaction.atomic():
            if up_front:
                ledger.ledger_accounts_lock(
                    accounts=[(M, a) for a in order]
                    + [(codes.user_available(user), a) for a in order]
                )
            deposit(user, order[0])
            first_written[i].set()
            first_written[1 - i].wait(timeout=1.5)
            return deposit(user, order[1])

    return _race(2, step), (x, y), (str(users[0]), str(users[1]))


@pytest.mark.django_db(transaction=True)
def test_steps_writing_several_entries_over_shared_accounts_in_opposite_orders_both_commit() -> (
    None
):
    # when: two steps cross over custody:mixin X and Y, each locking its group up front
    results, (x, y), _users = _crossing_steps(up_front=True)
    # then: no deadlock; both committed both entries
    assert all(isinstance(r, JournalEntry) for r in results), results
    assert posted(M, x) == posted(M, y) == D(2)
    assert JournalEntry.objects.filter(kind="deposit").count() == 4
    assert_ledger_ok()


@pytest.mark.django_db(transaction=True)
def test_without_the_up_front_lock_the_same_steps_deadlock() -> None:
    # The race above is real: entry by entry (each entry locking only its own accounts),
    # PostgreSQL finds the cycle and aborts one of the two steps, with everything it wrote.
    results, (x, y), _users = _crossing_steps(up_front=False)
    failed = [r for r in results if not isinstance(r, JournalEntry)]
    assert len(failed) == 1 and "deadlock detected" in str(failed[0]), results
    assert posted(M, x) == posted(M, y) == D(1)
    assert_ledger_ok()


@pytest.mark.django_db
def test_raw_sql_unbalanced_entry_is_rejected_by_the_database() -> None:
    account = ledger.account_ensure(code=M, asset=new_asset())
    with pytest.raises(IntegrityError, match="unbalanced"), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO ledger_journal_entry (idempotency_key, content_hash, kind, reference, "
                "status, two_phase, description, metadata, created_at) "
                "VALUES ('raw', '', 'transfer', '', 'posted', false, '', '{}', now()) RETURNING id"
            )
            entry_id = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO ledger_posting (entry_id, account_id, debit, credit) VALUES (%s, %s, 5, 0), (%s, %s, 0, 4)",
                [entry_id, account.id, entry_id, account.id],
            )
            # the constraint triggers are deferred to COMMIT; make them fire now
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not JournalEntry.objects.filter(idempotency_key="raw").exists()


@pytest.mark.django_db(transaction=True)
def test_raw_sql_entry_with_one_posting_fails_at_commit() -> None:
    account = ledger.account_ensure(code=M, asset=new_asset())
    with pytest.raises(IntegrityError, match="needs at least 2"), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(
                "INSERT INTO ledger_journal_entry (idempotency_key, content_hash, kind, reference, "
                "status, two_phase, description, metadata, created_at) "
                "VALUES ('raw1', '', 'transfer', '', 'posted', false, '', '{}', now()) RETURNING id"
            )
            entry_id = cur.fetchone()[0]
            cur.execute(
                "INSERT INTO ledger_posting (entry_id, account_id, debit, credit) VALUES (%s, %s, 5, 0)",
                [entry_id, account.id],
            )
    assert not JournalEntry.objects.filter(idempotency_key="raw1").exists()


@pytest.mark.django_db
def test_a_posting_added_later_to_a_balanced_entry_is_rejected() -> None:
    asset, user = new_asset(), uuid.uuid4()
    entry = ledger.deposit_credit(
        idempotency_key="d", user_id=user, asset=asset, amount=D(1), snapshot_id="s"
    )
    account = Account.objects.get(code=M, asset=asset)
    with pytest.raises(IntegrityError, match="unbalanced"), transaction.atomic():
        Posting.objects.create(entry=entry, account=account, debit=D(1))
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.django_db
def test_postings_are_append_only_and_entries_keep_their_content() -> None:
    entry = ledger.deposit_credit(
        idempotency_key="d", user_id=uuid.uuid4(), asset=new_asset(), amount=D(1), snapshot_id="s"
    )
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Posting.objects.filter(entry=entry).update(debit=D(2))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Posting.objects.filter(entry=entry).delete()
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(reference="other")
    with (
        pytest.raises(IntegrityError, match="cannot go from posted to pending"),
        transaction.atomic(),
    ):
        JournalEntry.objects.filter(pk=entry.pk).update(status="pending")


@pytest.mark.django_db
def test_balance_check_constraints_refuse_a_negative_liability_written_directly() -> None:
    asset, user = new_asset(), uuid.uuid4()
    ledger.deposit_credit(
        idempotency_key="d", user_id=user, asset=asset, amount=D(1), snapshot_id="s"
    )
    qs = Account.objects.filter(code=codes.user_available(user), asset=asset)
    with (
        pytest.raises(IntegrityError, match="ledger_account_debits_within_credits"),
        transaction.atomic(),
    ):
        qs.update(debits_posted=D(2))
    with (
        pytest.raises(IntegrityError, match="ledger_account_balances_non_negative"),
        transaction.atomic(),
    ):
        qs.update(debits_pending=D(-1))
    custody = Account.objects.filter(code=M, asset=asset)
    with (
        pytest.raises(IntegrityError, match="ledger_account_credits_within_debits"),
        transaction.atomic(),
    ):
        custody.update(credits_posted=D(5))


@pytest.mark.django_db(transaction=True)
def test_writers_creating_the_same_new_accounts_in_any_order_all_succeed() -> None:
    asset = new_asset()
    users = [codes.user_available(uuid.uuid4()) for _ in range(3)]

    def deposit(i: int) -> object:
        # half the writers name the accounts in the reverse order (custody last)
        postings = [ledger.debit(M, asset, D(3))] + [
            ledger.credit(code, asset, D(1)) for code in users
        ]
        return ledger.ledger_entry_create(
            idempotency_key=f"multi-{i}",
            kind="deposit",
            postings=postings if i % 2 else postings[::-1],
        )

    results = _race(12, deposit)
    assert all(isinstance(r, JournalEntry) for r in results), results
    assert Account.objects.filter(asset=asset).count() == 4
    assert all(posted(code, asset) == D(12) for code in users)
    assert_ledger_ok()
