"""Property-based: random transfers, pending/post/void and duplicate keys against a model.

Every operation's outcome (done or refused, and why) must match a plain-Python model of
TigerBeetle's rules, and after any sequence the cached balances must equal both the model
and the balances recomputed from postings, with every invariant holding.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import codes
from ledger import services as ledger
from ledger.exceptions import EntryNotPending, IdempotencyConflict, InsufficientFunds
from ledger.models import Account
from ledger.selectors import balances_recompute, ledger_verify_report

pytestmark = pytest.mark.django_db

# 0 is custody (asset: credits must not exceed debits), 1-4 liabilities (debits within credits)
N_ACCOUNTS = 5
PAIRS = [(d, c) for d in range(N_ACCOUNTS) for c in range(N_ACCOUNTS) if d != c]

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(40), places=2)
ops = st.one_of(
    st.tuples(st.just("transfer"), st.sampled_from(PAIRS), amounts, st.booleans()),
    st.tuples(st.just("post"), st.integers(0, 40)),
    st.tuples(st.just("void"), st.integers(0, 40)),
    st.tuples(st.just("replay"), st.integers(0, 40)),
    st.tuples(st.just("conflict"), st.integers(0, 40)),
    st.tuples(st.just("repost"), st.integers(0, 40)),
)


class Model:
    """The four balance columns per account, with the flag rules applied to every change."""

    def __init__(self) -> None:
        self.cols = [[Decimal(0)] * 4 for _ in range(N_ACCOUNTS)]

    def ok(self, i: int, c: list[Decimal]) -> bool:
        dp, cp, dpend, cpend = c
        return cp + cpend <= dp if i == 0 else dp + dpend <= cp

    def apply(self, changes: dict[int, list[Decimal]]) -> bool:
        new = {i: [a + b for a, b in zip(self.cols[i], d, strict=True)] for i, d in changes.items()}
        if not all(self.ok(i, c) for i, c in new.items()):
            return False
        for i, c in new.items():
            self.cols[i] = c
        return True


def _code(i: int, users: list[uuid.UUID]) -> str:
    return codes.CUSTODY_MIXIN if i == 0 else codes.user_available(users[i - 1])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(ops, min_size=1, max_size=30))
def test_random_operations_keep_every_invariant(steps) -> None:
    with transaction.atomic():
        _run(steps)
        transaction.set_rollback(True)


def _run(steps: list[tuple]) -> None:
    asset = str(uuid.uuid4())
    users = [uuid.uuid4() for _ in range(N_ACCOUNTS - 1)]
    model = Model()
    created: list[dict] = []  # accepted creations: args + status in the model
    for n, step in enumerate(steps):
        op = step[0]
        if op == "transfer":
            (d, c), amount, pending = step[1], step[2], step[3]
            args = dict(
                idempotency_key=f"t{n}",
                debit_account=_code(d, users),
                credit_account=_code(c, users),
                asset=asset,
                amount=amount,
                pending=pending,
            )
            changes = {d: [Decimal(0)] * 4, c: [Decimal(0)] * 4}
            changes[d][2 if pending else 0] += amount
            changes[c][3 if pending else 1] += amount
            expected = model.apply(changes)
            try:
                ledger.ledger_transfer_create(**args)  # type: ignore[arg-type]
                outcome = True
            except InsufficientFunds:
                outcome = False
            assert outcome == expected, (step, model.cols)
            if expected:
                created.append(
                    {"args": args, "d": d, "c": c, "status": "pending" if pending else "posted"}
                )
            continue
        if not created:
            continue
        item = created[step[1] % len(created)]
        key = item["args"]["idempotency_key"]
        if op == "replay":
            before = _cached(users)
            assert ledger.ledger_transfer_create(**item["args"]).idempotency_key == key  # type: ignore[arg-type]
            assert _cached(users) == before
        elif op == "conflict":
            with pytest.raises(IdempotencyConflict):
                ledger.ledger_transfer_create(
                    **{**item["args"], "amount": item["args"]["amount"] + 1}
                )  # type: ignore[arg-type]
        elif op in ("post", "void"):
            service = ledger.ledger_pending_post if op == "post" else ledger.ledger_pending_void
            if item["status"] != "pending":
                with pytest.raises(EntryNotPending):
                    service(entry_key=key, idempotency_key=f"{key}:{op}:{n}")
                continue
            a = item["args"]["amount"]
            changes = {item["d"]: [Decimal(0)] * 4, item["c"]: [Decimal(0)] * 4}
            changes[item["d"]][2] -= a
            changes[item["c"]][3] -= a
            if op == "post":
                changes[item["d"]][0] += a
                changes[item["c"]][1] += a
            assert model.apply(changes)
            service(entry_key=key, idempotency_key=f"{key}:{op}")
            item["status"] = op + "ed" if op == "post" else "voided"
        elif op == "repost" and item["status"] in ("posted", "voided") and item["args"]["pending"]:
            # replaying the resolution with its own key is a no-op
            service = (
                ledger.ledger_pending_post
                if item["status"] == "posted"
                else ledger.ledger_pending_void
            )
            resolution = f"{key}:{'post' if item['status'] == 'posted' else 'void'}"
            before = _cached(users)
            service(entry_key=key, idempotency_key=resolution)
            assert _cached(users) == before

    # then: cached == model == recomputed, and the verifier is happy
    cached = _cached(users)
    for i in range(N_ACCOUNTS):
        assert cached.get(i, [Decimal(0)] * 4) == model.cols[i], i
    ids = dict(Account.objects.filter(asset=asset).values_list("id", "code"))
    recomputed = balances_recompute(account_ids=list(ids))
    for account_id, code in ids.items():
        i = [_code(j, users) for j in range(N_ACCOUNTS)].index(code)
        assert list(recomputed.get(account_id, (Decimal(0),) * 4)) == model.cols[i]
    assert ledger_verify_report().violations == []


def _cached(users: list[uuid.UUID]) -> dict[int, list[Decimal]]:
    out = {}
    for i in range(N_ACCOUNTS):
        row = Account.objects.filter(code=_code(i, users)).values_list(
            "debits_posted", "credits_posted", "debits_pending", "credits_pending"
        )
        if row:
            out[i] = list(row[0])
    return out
