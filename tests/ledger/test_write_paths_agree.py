"""The two ledger write paths, against each other (issue 18).

On PostgreSQL a new entry is written by the stored function `ledger_entry_write`; the
step-by-step Python write (`services.write._entry_create_portable`, the only one on SQLite)
is a second implementation of the same money write. Hypothesis generates random sequences
of deposits, transfers, pending transfers with their post or void, replays and conflicting
keys; each sequence runs once through each path on fresh accounts, and the two runs must
agree on every outcome (done, or refused and why) and on every balance column afterwards,
with `ledger_verify` clean for both.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import codes
from ledger import services as ledger
from ledger.models import Account
from ledger.selectors import ledger_verify_report
from ledger.services import write as ledger_write
from mrmarket.exceptions import DomainError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

USERS = 4
# Up to 18 decimals and 20 integer digits: the full NUMERIC(38, 18) range the paths share.
amounts = st.one_of(
    st.decimals(min_value=Decimal("1e-18"), max_value=Decimal(50), places=18),
    st.decimals(min_value=Decimal(1), max_value=Decimal("9" * 12), places=6),
)
users = st.integers(0, USERS - 1)
ops = st.one_of(
    st.tuples(st.just("deposit"), users, amounts),
    st.tuples(st.just("transfer"), users, users, amounts, st.booleans()),
    st.tuples(st.just("post"), st.integers(0, 30)),
    st.tuples(st.just("void"), st.integers(0, 30)),
    st.tuples(st.just("replay"), st.integers(0, 30)),
    st.tuples(st.just("conflict"), st.integers(0, 30)),
)


def _run(sequence: list[tuple], *, function: bool) -> tuple[list[str], dict[str, tuple]]:
    ledger_write.POSTGRES_FUNCTION = function
    asset = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:8]
    people = [uuid.UUID(int=i + 1) for i in range(USERS)]
    written: list[dict] = []  # kwargs of every transfer call made, for replays
    pending: list[str] = []
    outcomes: list[str] = []
    for n, op in enumerate(sequence):
        key = f"{tag}:{n}"
        try:
            if op[0] == "deposit":
                ledger.deposit_credit(
                    idempotency_key=key,
                    user_id=people[op[1]],
                    asset=asset,
                    amount=op[2],
                    snapshot_id=key,
                )
            elif op[0] == "transfer":
                call = {
                    "idempotency_key": key,
                    "debit_account": codes.user_available(people[op[1]]),
                    "credit_account": codes.user_available(people[op[2]]),
                    "asset": asset,
                    "amount": op[3],
                    "pending": op[4],
                }
                if op[1] == op[2]:
                    call["credit_account"] = codes.CUSTODY_MIXIN
                    call["debit_account"], call["credit_account"] = (
                        call["credit_account"],
                        call["debit_account"],
                    )
                written.append(call)
                ledger.ledger_transfer_create(**call)
                if op[4]:
                    pending.append(key)
            elif op[0] in ("post", "void") and pending:
                target = pending[op[1] % len(pending)]
                resolve = (
                    ledger.ledger_pending_post if op[0] == "post" else ledger.ledger_pending_void
                )
                resolve(entry_key=target, idempotency_key=f"{target}:{op[0]}")
            elif op[0] == "replay" and written:
                ledger.ledger_transfer_create(**written[op[1] % len(written)])
            elif op[0] == "conflict" and written:
                call = dict(written[op[1] % len(written)])
                call["amount"] = call["amount"] + Decimal("1e-18")
                ledger.ledger_transfer_create(**call)
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(type(exc).__name__)
    balances = {
        code.replace(tag, ""): columns
        for code, *columns in Account.objects.filter(asset=asset).values_list(
            "code", "debits_posted", "credits_posted", "debits_pending", "credits_pending"
        )
    }
    return outcomes, {k: tuple(v) for k, v in balances.items()}


@pytest.mark.parametrize("ledger_write_path", ["python"], indirect=True)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(ops, min_size=1, max_size=25))
def test_the_stored_function_and_the_python_write_agree(ledger_write_path, sequence) -> None:  # type: ignore[no-untyped-def]
    try:
        by_function = _run(sequence, function=True)
        by_python = _run(sequence, function=False)
    finally:
        ledger_write.POSTGRES_FUNCTION = False  # the fixture's pinned path
    assert by_function[0] == by_python[0]
    assert by_function[1] == by_python[1]
    assert ledger_verify_report().violations == []
