"""The payment's own state machine: what the payment page's poller reads (CONTRACT).

The page polls `/user-orders/payment-state/market-making/{id}` until `data.state ==
"payment_complete"`; the order passes that state in under a second on its way to the venue,
so the payment's state must stay `payment_complete` whatever the order does next.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from orders.models import MarketMakingOrder, PaymentState
from orders.services import controls, payments
from orders.services.transitions import order_transition
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db
PS = "/user-orders/payment-state/market-making"


def _poll(user_api, order: MarketMakingOrder) -> dict:  # type: ignore[no-untyped-def]
    response = user_api.get(f"{PS}/{order.pk}")
    assert response.status_code == 200, response.json()
    data: dict = response.json()["data"]
    return data


def test_a_new_order_has_a_pending_payment_row(user_api, new_order) -> None:
    order = new_order()
    payment = PaymentState.objects.get(pk=order.pk)
    assert (payment.state, payment.user_id, payment.symbol) == (
        "payment_pending",
        order.user_id,
        "BTC/USDT",
    )
    data = _poll(user_api, order)
    assert data["state"] == "payment_pending"
    assert data["baseAssetAmount"] == "0" and data["baseAssetSnapshotId"] is None
    assert data["requiredQuoteWithdrawalFee"] == "1"


def test_the_poller_reads_payment_complete_over_a_full_demo_payment_whatever_comes_next(
    user_api, new_order
) -> None:
    # given an order paid in two parts
    order = new_order()
    pay(order, BTC, "0.01")
    assert _poll(user_api, order)["state"] == "payment_incomplete"
    pay(order, USDT, "1000")
    assert order.state == "payment_complete"
    seen_order_states, seen_payment_states = [], []
    # when the order walks on to the venue, then exits and gets its money back
    order = play_beat(order, until={"created"})
    seen_order_states.append(order.state)
    seen_payment_states.append(_poll(user_api, order)["state"])
    controls.order_exit(order_id=order.pk, actor=order.user)
    order = play_beat(order)
    seen_order_states.append(order.state)
    seen_payment_states.append(_poll(user_api, order)["state"])
    # then the order moved far past payment_complete, and the payment stayed complete
    assert seen_order_states == ["created", "exit_complete"]
    assert seen_payment_states == ["payment_complete", "payment_complete"]
    data = _poll(user_api, order)
    assert data["baseAssetAmount"] == "0.01" and data["quoteAssetAmount"] == "1000"
    assert data["baseAssetSnapshotId"] and data["quoteAssetSnapshotId"]


def test_a_later_failure_of_the_order_leaves_the_payment_complete(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    with transaction.atomic():
        locked = MarketMakingOrder.objects.select_for_update().get(pk=order.pk)
        order_transition(order=locked, name="failed", trigger="test.fail", reason="withdrawal")
    assert PaymentState.objects.get(pk=order.pk).state == "payment_complete"


def test_memo_expiry_times_the_payment_out(user_api, new_order, lifecycle_settings) -> None:
    lifecycle_settings.ORDER_MEMO_TIMEOUT_SECONDS = 0
    order = new_order()
    order = play_beat(order)
    assert order.state == "deleted"
    assert _poll(user_api, order)["state"] == "timeout"


def test_a_timed_out_partial_payment_is_timeout_then_refunded(
    user_api, new_order, lifecycle_settings
) -> None:
    lifecycle_settings.ORDER_PAYMENT_TIMEOUT_SECONDS = 0
    order = new_order()
    pay(order, BTC, "0.01")
    order = play_beat(order, until={"failed"})
    assert _poll(user_api, order)["state"] == "timeout"
    order = play_beat(order)
    assert order.state == "refunded"
    data = _poll(user_api, order)
    assert data["state"] == "refunded"
    assert data["baseAssetAmount"] == "0.01"


def test_following_a_transition_twice_is_a_no_op(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    before = PaymentState.objects.get(pk=order.pk)
    payments.payment_state_follow(order=order, transition_name="payment_completed")
    payments.payment_state_follow(order=order, transition_name="memo_expired")
    after = PaymentState.objects.get(pk=order.pk)
    assert (after.state, after.updated_at) == ("payment_complete", before.updated_at)


def test_credited_amounts_add_up_per_role(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.004")
    pay(order, BTC, "0.006")
    payment = PaymentState.objects.get(pk=order.pk)
    assert payment.base_asset_amount == Decimal("0.01")
    assert payment.state == "payment_incomplete"
