from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import F

from orders.custody.fake_models import FakeCustodyBalance
from orders.services.reconcile import custody_reconcile, persistent_drift_venues
from tests.orders.conftest import BTC, USDT, play_beat
from tests.orders.test_lifecycle_flow import pay

pytestmark = pytest.mark.django_db


def test_books_match_the_wallet_and_the_venue_after_a_deposit(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    play_beat(order, until={"created"})
    run = custody_reconcile()
    assert (run.ok, run.drifts, run.errors) == (True, [], [])


def test_a_drift_seen_twice_is_persistent_and_shows_in_system_status(new_order, api) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    FakeCustodyBalance.objects.filter(asset_id=BTC).update(balance=F("balance") - Decimal("0.001"))
    first = custody_reconcile()
    [drift] = first.drifts
    assert (drift["account"], drift["assetId"]) == ("custody:mixin", BTC)
    assert Decimal(drift["ledger"]) - Decimal(drift["actual"]) == Decimal("0.001")
    assert first.persistent is False
    assert all(
        i["component"] != "reconciliation"
        for i in api.get("/health/system-status").json()["issues"]
    )
    second = custody_reconcile()
    assert second.persistent is True
    assert persistent_drift_venues(second) == set()  # custody, not a venue
    issues = api.get("/health/system-status").json()["issues"]
    assert [i["component"] for i in issues if i["component"] == "reconciliation"] == [
        "reconciliation"
    ]


def test_a_persistent_venue_drift_halts_the_venue_and_custody_drift_holds_withdrawals(
    new_order,
) -> None:
    from exchanges.paper.models import PaperBalance
    from orders.services import lifecycle
    from strategy.models import KillSwitch

    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    play_beat(order, until={"created"})
    PaperBalance.objects.filter(asset="BTC").update(free=F("free") - Decimal("0.001"))
    custody_reconcile()
    custody_reconcile()
    halt = KillSwitch.objects.get(scope="venue", key="paper")
    assert halt.active and "custody drift" in halt.reason
    # a wallet drift holds the next paid order in payment_complete
    FakeCustodyBalance.objects.filter(asset_id=USDT).update(balance=F("balance") + Decimal(1))
    custody_reconcile()
    custody_reconcile()
    second = new_order()
    pay(second, BTC, "0.01")
    pay(second, USDT, "100")
    lifecycle.order_step(order_id=second.pk)
    second.refresh_from_db()
    assert second.state == "payment_complete"
