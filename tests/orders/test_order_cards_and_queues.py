"""The order card's figures (amount, profit, target), the health widget's queues, the 409."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import queues
from orders.services import controls
from orders.valuation import FillTotals, order_amount, order_profit
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db
MM = "/user-orders/market-making"


def test_profit_is_realized_plus_unrealized_in_quote(demo) -> None:
    # bought 0.02 for 1900, sold 0.01 for 960, fees 0.5 USDT and 0.0001 BTC; price now 96000
    totals = FillTotals(
        bought=Decimal("0.02"),
        sold=Decimal("0.01"),
        spent=Decimal(1900),
        received=Decimal(960),
        fees=((BTC, Decimal("0.0001")), (USDT, Decimal("0.5"))),
    )
    profit = order_profit(pair=demo, totals=totals, price=Decimal(96000))
    # 960 - 1900 + 0.01 * 96000 - 0.5 - 0.0001 * 96000
    assert profit == Decimal("9.9")


def test_profit_without_fills_is_zero_and_unpriced_is_none(demo) -> None:
    assert order_profit(pair=demo, totals=None, price=None) == 0
    assert order_profit(pair=demo, totals=FillTotals(bought=Decimal(1)), price=None) is None
    third = FillTotals(fees=(("another-asset", Decimal(1)),))
    assert order_profit(pair=demo, totals=third, price=Decimal(1)) is None


def test_amount_values_the_base_at_the_price(demo) -> None:
    balances = {BTC: Decimal("0.01"), USDT: Decimal(500)}
    assert order_amount(pair=demo, balances=balances, price=Decimal(95000)) == Decimal(1450)
    assert order_amount(pair=demo, balances=balances, price=None) is None
    assert order_amount(pair=demo, balances={USDT: Decimal(7)}, price=None) == Decimal(7)


def test_the_order_list_card_reads_amount_profit_target(user_api, new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    card = user_api.get(f"{MM}/all").json()[0]
    # the demo registry prices BTC at 95000 USD and USDT at 1 (no cached book in this test)
    assert card["amount"] == "1950"
    assert card["profit"] == "0"
    assert card["target"] is None


def test_resuming_an_exited_order_is_409_naming_the_state(user_api, new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    controls.order_exit(order_id=order.pk, actor=order.user)
    order = play_beat(order)
    assert order.state == "exit_complete"
    response = user_api.post(f"{MM}/{order.pk}/resume")
    assert response.status_code == 409
    assert response.json() == {
        "statusCode": 409,
        "message": "Cannot resume an order in state exit_complete.",
        "error": "illegal_transition",
    }
    assert user_api.post(f"{MM}/{order.pk}/pause").json()["message"] == (
        "Cannot pause an order in state exit_complete."
    )


def test_snapshot_and_order_queues_count_rows(new_order, lifecycle_settings) -> None:
    lifecycle_settings.ORDER_STEP_POLL_SECONDS = 30
    pending = new_order()
    paid = new_order()
    pay(paid, BTC, "0.01")
    pay(paid, USDT, "1000")
    now = timezone.now()
    # the paid order's step is due now; the pending one waits for its memo deadline
    assert queues.order_queue_counts(now=now) == {
        "waiting": 1,
        "delayed": 1,
        "active": 0,
        "completed": 0,
        "failed": 0,
    }
    assert queues.snapshot_queue_counts(now=now)["completed"] == 2
    assert queues.snapshot_queue_counts(now=now + timedelta(hours=1))["delayed"] == 0
    assert pending.state == "payment_pending"


def test_system_status_reports_both_queues(api, new_order) -> None:
    new_order()
    body = api.get("/health/system-status").json()
    for name in ("snapshots", "marketMaking"):
        assert set(body["queues"][name]) == {"waiting", "active", "completed", "failed", "delayed"}
        assert all(isinstance(v, int) for v in body["queues"][name].values())
    assert body["queues"]["marketMaking"]["delayed"] == 1
