"""End to end through a real Celery worker on Redis, with PostgreSQL: a user's order from
intent to running on the paper venue, then exit to exit_complete with the money back."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from ledger.selectors import ledger_verify_report, order_balances
from mrmarket.celery import app
from orders.models import CustodyTransfer, MarketMakingOrder
from standins.custody.gateway import FakeCustody
from tests.support.order_flow import BTC, USDT

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEAT_TASKS = (
    "custody_snapshots_poll_task",
    "fake_chain_relay_task",
    "orders_sweep_task",
    "strategy_tick_task",
)


def wait_for(order_id: str, states: set[str], *, seconds: float = 90) -> MarketMakingOrder:
    """Play beat (send the periodic tasks through the broker) until the order gets there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name in BEAT_TASKS:
            if name in app.tasks:
                app.tasks[name].apply_async(queue="e2e")
        order = MarketMakingOrder.objects.get(pk=order_id)
        if order.state in states:
            return order
        time.sleep(0.3)
    raise AssertionError(f"order stayed {MarketMakingOrder.objects.get(pk=order_id).state}")


def test_order_runs_on_the_paper_venue_and_exits_with_the_money_back(
    demo, user_api, user, lifecycle_settings, capsys
) -> None:
    from celery.contrib.testing.worker import start_worker

    lifecycle_settings.ORDER_STEP_POLL_SECONDS = 1
    app.conf.task_default_queue = "e2e"  # a private queue: no other worker takes our tasks
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=4,
            queues=["e2e"],
            perform_ping_check=False,
            shutdown_timeout=20,
        ):
            body = user_api.post(
                "/user-orders/market-making/intent",
                {"marketMakingPairId": str(demo.pk)},
                format="json",
            ).json()
            order_id = body["orderId"]
            call_command("demo_pay", order_id, "--base", "0.02", "--quote", "2000")
            order = wait_for(order_id, {"running", "failed"})
            assert order.state == "running", order.failure_reason
            assert user_api.post(f"/user-orders/market-making/{order_id}/exit-withdrawal").json()[
                "ok"
            ]
            order = wait_for(order_id, {"exit_complete", "failed", "refunded"})
            assert order.state == "exit_complete", order.failure_reason
    finally:
        app.conf.task_default_queue = "celery"
    refunds = CustodyTransfer.objects.filter(order_id=order_id, purpose="refund")
    assert {r.asset_id for r in refunds} == {BTC, USDT}
    assert all(r.status == "confirmed" for r in refunds)
    custody = FakeCustody()
    for refund in refunds:
        tx = custody.transaction(request_id=refund.request_id)
        assert tx is not None and tx.status == "confirmed" and tx.amount == refund.amount
    assert all(b.posted == Decimal(0) for b in order_balances(order_id=order_id).values())
    report = ledger_verify_report()
    assert report.ok, report
