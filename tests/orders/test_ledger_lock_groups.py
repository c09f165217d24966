"""Order steps that write several ledger entries in one transaction lock every account of the
group up front (`ledger.ledger_accounts_lock`, one id order: no deadlock between two steps).
Here: the accounts the entries then touch are all in the group the step declared, through a
payment, the payment step, an exit and a refunded bad payment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from ledger import codes
from ledger import services as ledger_services
from ledger.services import moves as ledger_moves
from ledger.services import write as ledger_write
from orders.services.controls import order_exit
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db


class Groups:
    """Declared groups, each alive while the atomic block that declared it is open."""

    def __init__(self) -> None:
        self.declared: list[tuple[str | None, set[tuple[str, str]]]] = []
        self.covered = 0
        self.outside: list[tuple[str, set[tuple[str, str]], set[tuple[str, str]]]] = []

    def alive(self) -> set[tuple[str, str]] | None:
        open_ids = set(connection.savepoint_ids)
        for sid, accounts in reversed(self.declared):
            if sid in open_ids:
                return accounts
        return None


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> Iterator[Groups]:
    seen = Groups()
    lock, create = ledger_services.ledger_accounts_lock, ledger_write.ledger_entry_create

    def declare(*, accounts: Any) -> Any:
        accounts = list(accounts)
        sid = connection.savepoint_ids[-1] if connection.savepoint_ids else None
        seen.declared.append((sid, {(c, codes.asset_key(a)) for c, a in accounts}))
        return lock(accounts=accounts)

    def write(**kwargs: Any) -> Any:
        group = seen.alive()
        if group is not None:
            touched = {(p.account, codes.asset_key(p.asset)) for p in kwargs["postings"]}
            seen.covered += 1
            if not touched <= group:
                seen.outside.append((kwargs["idempotency_key"], touched - group, group))
        return create(**kwargs)

    monkeypatch.setattr(ledger_services, "ledger_accounts_lock", declare)
    monkeypatch.setattr(ledger_write, "ledger_entry_create", write)
    monkeypatch.setattr(ledger_moves, "ledger_entry_create", write)
    yield seen


def test_every_entry_of_a_step_that_declared_its_accounts_is_in_its_group(
    new_order: Any, user: Any, groups: Groups
) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    order = play_beat(order, until={"created"})
    order_exit(order_id=order.pk, actor=user)
    order = play_beat(order, until={"exit_complete"})
    assert order.state == "exit_complete", order.failure_reason
    # two credits (deposit + allocation each), the payment step (2 fees + 2 moves), the exit's
    # moves back and its refunds all wrote inside a declared group
    assert len(groups.declared) >= 5
    assert groups.covered >= 10
    assert groups.outside == []


def test_a_refunded_bad_payment_declares_its_deposit_and_refund(
    new_order: Any, groups: Groups
) -> None:
    order = new_order()
    pay(order, "43d61dcd-e413-450d-80b8-101d5e903357", "0.5")  # ETH: not this pair's
    assert groups.covered == 2 and groups.outside == []
