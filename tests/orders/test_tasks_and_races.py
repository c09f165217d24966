"""Replay safety of every order task, the sweeper re-driving a crashed step, and races on
PostgreSQL between controls."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from mrmarket.celery import app as celery_app
from mrmarket.exceptions import DomainError
from orders import tasks
from orders.models import MarketMakingOrder, OrderEvent, PaymentSnapshot
from orders.services import controls, lifecycle
from standins.custody.gateway import fake_custody_pay
from standins.custody.tasks import fake_chain_relay_task
from tests.support.order_flow import BTC, USDT, pay


@pytest.fixture
def eager():  # type: ignore[no-untyped-def]
    """Tasks sent from inside tasks run inline (the sweeper's sends)."""
    before = (celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates)
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=True)
    yield
    celery_app.conf.update(task_always_eager=before[0], task_eager_propagates=before[1])


@pytest.mark.django_db
def test_snapshot_tasks_run_twice_credit_once(new_order, eager) -> None:
    order = new_order()
    fake_custody_pay(
        user_id=str(order.user_id), asset_id=BTC, amount=Decimal("0.01"), memo_text=order.memo
    )
    tasks.custody_snapshots_poll_task()
    tasks.custody_snapshots_poll_task()
    snapshot = PaymentSnapshot.objects.get()
    tasks.payment_snapshot_process_task(snapshot.pk)
    tasks.payment_snapshot_process_task(snapshot.pk)
    order.refresh_from_db()
    assert order.state == "payment_incomplete"
    assert OrderEvent.objects.filter(order=order, to_state="payment_incomplete").count() == 1


@pytest.mark.django_db
def test_order_step_task_twice_runs_the_step_once(new_order, eager) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "100")
    tasks.order_step_task(str(order.pk))
    tasks.order_step_task(str(order.pk))
    order.refresh_from_db()
    assert order.state in {"withdrawing", "withdrawal_confirmed"}
    assert OrderEvent.objects.filter(order=order, to_state="withdrawing").count() == 1
    assert order.transfers.count() == 2


@pytest.mark.django_db
def test_sweeper_re_drives_a_step_whose_worker_died(new_order, lifecycle_settings, eager) -> None:
    # given a paid order whose step was claimed by a worker that then died
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "100")
    assert lifecycle.order_step_claim(order_id=order.pk)
    # while the lease holds, nobody else runs the step
    assert lifecycle.order_step(order_id=order.pk) is None
    assert lifecycle.orders_due() == []
    # when the lease runs out, the sweeper finds and runs it
    MarketMakingOrder.objects.filter(pk=order.pk).update(
        next_step_at=timezone.now() - timedelta(seconds=1)
    )
    tasks.orders_sweep_task()
    tasks.orders_sweep_task()
    order.refresh_from_db()
    assert order.state in {"withdrawing", "withdrawal_confirmed"}
    assert order.transfers.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pause_racing_exit_gives_one_consistent_outcome(new_order, monkeypatch) -> None:
    monkeypatch.setattr("orders.services.seams.session_pause", lambda **_: None)
    monkeypatch.setattr("orders.services.seams.session_stop", lambda **_: None)
    order = new_order()
    MarketMakingOrder.objects.filter(pk=order.pk).update(state="running")
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(name: str, call) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            outcomes[name] = call(order_id=order.pk, actor=None).state
        except DomainError as exc:
            outcomes[name] = f"refused: {exc.code}"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("pause", controls.order_pause)),
        threading.Thread(target=run, args=("exit", controls.order_exit)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    order.refresh_from_db()
    assert order.state == "exit_requested"
    assert outcomes["exit"] == "exit_requested"
    assert outcomes["pause"] in {"paused", "refused: illegal_transition"}
    events = list(
        OrderEvent.objects.filter(order=order).order_by("id").values_list("to_state", flat=True)
    )
    expected_tail = (
        ["paused", "exit_requested"] if outcomes["pause"] == "paused" else ["exit_requested"]
    )
    assert events[1:] == expected_tail


@pytest.mark.django_db
def test_fake_chain_relay_task_twice_delivers_once(new_order) -> None:
    from exchanges.paper.models import PaperDeposit

    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "100")
    lifecycle.order_step(order_id=order.pk)  # withdrawals persisted
    lifecycle.order_step(order_id=order.pk)  # sent and confirmed by the fake custody
    fake_chain_relay_task()
    fake_chain_relay_task()
    assert PaperDeposit.objects.count() == 2


@pytest.mark.django_db
def test_custody_reconcile_task_twice_is_two_clean_runs(new_order) -> None:
    from orders.models import ReconciliationRun

    order = new_order()
    pay(order, BTC, "0.01")
    tasks.custody_reconcile_task()
    tasks.custody_reconcile_task()
    assert list(ReconciliationRun.objects.values_list("ok", "persistent")) == [(True, False)] * 2
