"""The user-order API of CONTRACT.md: shapes, ownership, controls, lifecycle, outbox, fees."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mrmarket.models import AuditEvent
from orders.models import MarketMakingOrder
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db
MM = "/user-orders/market-making"


def test_intent_creates_an_order_and_answers_the_memo(user_api, user, demo) -> None:
    response = user_api.post(f"{MM}/intent", {"marketMakingPairId": str(demo.pk)}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == {"orderId", "memo", "expiresAt"}
    order = MarketMakingOrder.objects.get(pk=body["orderId"])
    assert (order.user, order.state, order.memo) == (user, "payment_pending", body["memo"])


def test_intent_for_an_unknown_or_disabled_pair_is_404(user_api, demo) -> None:
    unknown = user_api.post(
        f"{MM}/intent",
        {"marketMakingPairId": "6b1f6c8e-1111-4a2b-9c3d-0e1f2a3b4c5d"},
        format="json",
    )
    assert unknown.status_code == 404
    demo.enable = False
    demo.save(update_fields=["enable"])
    disabled = user_api.post(f"{MM}/intent", {"marketMakingPairId": str(demo.pk)}, format="json")
    assert disabled.status_code == 404
    assert disabled.json()["error"] == "pair_not_found"
    assert not MarketMakingOrder.objects.exists()


def test_intent_with_bad_strategy_parameters_is_400_and_creates_nothing(
    user_api, demo, sent_tasks
) -> None:
    response = user_api.post(
        f"{MM}/intent",
        {"marketMakingPairId": str(demo.pk), "strategy": {"bidSpread": "2", "numberOfLayers": 50}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("bidSpread:")
    assert not MarketMakingOrder.objects.exists()
    assert AuditEvent.objects.filter(outcome="rejected").count() == 1
    assert sent_tasks == []


def test_intent_for_another_users_id_is_403(user_api, other_user, demo) -> None:
    response = user_api.post(
        f"{MM}/intent",
        {"marketMakingPairId": str(demo.pk), "userId": str(other_user.pk)},
        format="json",
    )
    assert response.status_code == 403
    assert not MarketMakingOrder.objects.exists()


def test_payment_state_follows_the_payments(user_api, new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    body = user_api.get(f"/user-orders/payment-state/market-making/{order.pk}").json()
    assert (body["code"], body["message"]) == (200, "Found")
    data = body["data"]
    assert data["state"] == "payment_incomplete"
    assert data["baseAssetAmount"] == "0.01" and data["quoteAssetAmount"] == "0"
    assert data["requiredBaseWithdrawalFee"] == "0.00001"
    assert data["type"] == "market_making" and data["symbol"] == "BTC/USDT"
    assert data["baseAssetSnapshotId"] is not None and data["quoteAssetSnapshotId"] is None


def test_another_users_order_is_404_everywhere(api, other_user, new_order) -> None:
    from mrmarket.services import user_token_issue

    order = new_order()
    raw, _ = user_token_issue(user=other_user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for path in (
        f"{MM}/{order.pk}",
        f"/user-orders/payment-state/market-making/{order.pk}",
        f"{MM}/lifecycle/{order.pk}",
    ):
        assert api.get(path).status_code == 404, path
    assert api.post(f"{MM}/{order.pk}/exit-withdrawal").status_code == 404
    order.refresh_from_db()
    assert order.state == "payment_pending"


def test_order_lists_show_only_the_callers_orders(user_api, user, other_user, new_order) -> None:
    mine = new_order()
    new_order(user=other_user)
    listed = user_api.get(f"{MM}/all", {"userId": str(user.pk)}).json()
    assert [o["orderId"] for o in listed] == [str(mine.pk)]
    required = {
        "orderId",
        "userId",
        "pair",
        "exchangeName",
        "state",
        "createdAt",
        "bidSpread",
        "askSpread",
        "orderAmount",
        "orderRefreshTime",
        "numberOfLayers",
        "priceSourceType",
        "amountChangePerLayer",
        "amountChangeType",
        "ceilingPrice",
        "floorPrice",
        "balanceA",
        "balanceB",
        "rewardAddress",
    }
    assert required <= set(listed[0])
    everything = user_api.get("/user-orders/all").json()
    assert everything["total"] == 1 and everything["simply_grow"] == []


def test_controls_are_idempotent_and_illegal_moves_are_409(user_api, new_order) -> None:
    order = new_order()
    response = user_api.post(f"{MM}/{order.pk}/resume")
    assert response.status_code == 409
    assert "payment_pending" in response.json()["message"]
    assert response.json()["error"] == "illegal_transition"
    # exit from payment_pending is not allowed either: nothing is funded yet
    assert user_api.post(f"{MM}/{order.pk}/exit-withdrawal").status_code == 409


def test_exit_through_the_api_is_idempotent(user_api, new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "100")
    first = user_api.post(f"{MM}/{order.pk}/exit-withdrawal")
    again = user_api.post(f"{MM}/{order.pk}/exit-withdrawal")
    assert (first.status_code, first.json()) == (200, {"ok": True, "state": "exit_requested"})
    assert (again.status_code, again.json()["ok"]) == (200, True)
    order = play_beat(order, until={"exit_complete"})
    assert order.state == "exit_complete"
    assert user_api.post(f"{MM}/{order.pk}/exit-withdrawal").json()["state"] == "exit_complete"
    assert user_api.post(f"{MM}/{order.pk}/resume").status_code == 409


def test_lifecycle_bundle_has_events_transfers_and_ledger(user_api, new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "100")
    play_beat(order, until={"created"})
    body = user_api.get(f"{MM}/lifecycle/{order.pk}").json()
    assert body["ok"] is True and body["orderId"] == str(order.pk)
    assert {
        "intents",
        "openOrders",
        "history",
        "trades",
        "ledgerEntries",
        "outboxSummary",
        "outbox",
        "strategyKey",
    } <= set(body)
    assert body["outboxSummary"]["total"] == len(body["outbox"]) == 8
    assert body["outboxSummary"]["topicCounts"]["order.deposit_confirmed"] == 1
    assert len(body["transfers"]) == 2
    assert {e["kind"] for e in body["ledgerEntries"]} >= {
        "allocation",
        "service_fee",
        "custody_move",
    }


def test_admin_outbox_filters_by_order_and_topic(admin_api, user_api, new_order) -> None:
    order = new_order()
    new_order()
    pay(order, BTC, "0.01")
    body = admin_api.get("/admin/outbox", {"orderId": str(order.pk)}).json()
    assert body["ok"] is True
    assert [e["toState"] for e in body["events"]] == ["payment_incomplete", "payment_pending"]
    only = admin_api.get("/admin/outbox", {"topic": "payment.partial"}).json()["events"]
    assert [e["orderId"] for e in only] == [str(order.pk)]
    assert user_api.get("/admin/outbox").status_code == 403


def test_fee_quote_for_deposit_to_exchange(api, demo) -> None:
    body = api.get(
        "/fees/market-making/fee",
        {"exchange": "paper", "pair": "BTC/USDT", "direction": "deposit_to_exchange"},
    ).json()
    assert body["base_asset_id"] == BTC and body["quote_asset_id"] == USDT
    assert Decimal(body["base_fee_amount"]) == Decimal("0.00001")
    assert Decimal(body["quote_fee_amount"]) == Decimal(1)
    assert body["base_fee_symbol"] == "BTC"
    assert body["direction"] == "deposit_to_exchange"
    assert (
        api.get("/fees/market-making/fee", {"exchange": "paper", "pair": "NOPE/USDT"}).status_code
        == 404
    )
