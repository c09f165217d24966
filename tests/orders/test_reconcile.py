"""Reconciliation: money in transit is expected, a drift lasts only over time, halts it set
are released when the drift clears, and a duplicated run changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from exchanges.paper.models import PaperBalance
from mrmarket.models import AuditEvent
from orders.models import CustodyTransfer
from orders.services import lifecycle
from orders.services.reconcile import custody_reconcile, persistent_drift_venues
from standins.custody.models import FakeCustodyBalance
from strategy.models import KillSwitch
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db


@pytest.fixture
def lasting(lifecycle_settings):  # type: ignore[no-untyped-def]
    lifecycle_settings.RECONCILE_LASTING_SECONDS = 600
    return timedelta(seconds=600)


def test_books_match_the_wallet_and_the_venue_after_a_deposit(new_order) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    play_beat(order, until={"created"})
    run = custody_reconcile()
    assert (run.ok, run.drifts, run.errors) == (True, [], [])
    assert {(r["account"], r["drift"]) for r in run.rows} == {
        ("custody:mixin", "0"),
        ("custody:venue:paper:0", "0"),
    }


def test_a_refund_not_yet_sent_is_in_transit_not_a_drift(new_order) -> None:
    # given a rejected payment whose refund is persisted (pending entry) but not sent
    order = new_order()
    pay(order, BTC, "0.5", memo="garbage")
    refund = CustodyTransfer.objects.get()
    assert (refund.status, refund.attempts) == ("pending", 0)
    # when reconciliation runs twice (the wallet still holds the money)
    first, second = custody_reconcile(), custody_reconcile()
    # then the wallet is in balance: the pending refund explains the difference
    [row] = [r for r in second.rows if r["assetId"] == BTC]
    assert (row["expected"], row["actual"], row["inTransitOut"], row["drift"]) == (
        "0.5",
        "0.5",
        "0.5",
        "0",
    )
    assert first.ok and second.ok and not second.persistent


def test_a_drift_lasts_only_when_the_same_amount_is_off_over_the_window(
    new_order, api, lasting
) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    FakeCustodyBalance.objects.filter(asset_id=BTC).update(balance=F("balance") - Decimal("0.001"))
    t0 = timezone.now()
    first = custody_reconcile(now=t0)
    [drift] = first.drifts
    assert (drift["account"], drift["assetId"], drift["drift"]) == ("custody:mixin", BTC, "-0.001")
    # a duplicated run a second later changes nothing
    duplicate = custody_reconcile(now=t0 + timedelta(seconds=1))
    assert (first.persistent, duplicate.persistent) == (False, False)
    issues = api.get("/health/system-status").json()["issues"]
    assert all(i["component"] != "reconciliation" for i in issues)
    # the same amount still off once the window has passed: lasting
    later = custody_reconcile(now=t0 + lasting)
    assert later.persistent is True
    assert persistent_drift_venues(later) == set()  # custody, not a venue
    [issue] = [
        i
        for i in api.get("/health/system-status").json()["issues"]
        if i["component"] == "reconciliation"
    ]
    assert "custody:mixin" in issue["message"] and "-0.001" in issue["message"]


def test_a_changing_drift_never_lasts(new_order, lasting) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    t0 = timezone.now()
    for step in range(4):
        FakeCustodyBalance.objects.filter(asset_id=BTC).update(
            balance=F("balance") - Decimal("0.001")
        )
        run = custody_reconcile(now=t0 + step * lasting)
    assert run.drifts and run.persistent is False


def test_a_lasting_venue_drift_halts_the_venue_and_clearing_it_releases_the_halt(
    new_order, lasting
) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    play_beat(order, until={"created"})
    PaperBalance.objects.filter(asset="BTC").update(free=F("free") - Decimal("0.001"))
    t0 = timezone.now()
    custody_reconcile(now=t0)
    assert not KillSwitch.objects.filter(scope="venue", key="paper", active=True).exists()
    run = custody_reconcile(now=t0 + lasting)
    halt = KillSwitch.objects.get(scope="venue", key="paper")
    assert halt.active and halt.reason.startswith("reconciliation:")
    assert "custody:venue:paper:0" in halt.reason and "-0.001" in halt.reason
    assert run.actions == [{"halt": "paper", "reason": halt.reason}]
    # a duplicated run changes nothing
    again = custody_reconcile(now=t0 + lasting + timedelta(seconds=1))
    assert again.actions == []
    # when the drift is undone, the next run releases the halt it set, audited
    PaperBalance.objects.filter(asset="BTC").update(free=F("free") + Decimal("0.001"))
    cleared = custody_reconcile(now=t0 + 2 * lasting)
    halt.refresh_from_db()
    assert halt.active is False and cleared.ok
    assert [a.get("release") for a in cleared.actions] == ["paper"]
    assert AuditEvent.objects.filter(
        action="strategy.kill_switch.off", target_id="venue:paper"
    ).exists()


def test_an_operator_halt_is_never_released_by_reconciliation(new_order) -> None:
    from strategy.services import kill_switch_set

    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    play_beat(order, until={"created"})
    kill_switch_set(scope="venue", key="paper", active=True, actor=None, reason="maintenance")
    assert custody_reconcile().ok
    assert KillSwitch.objects.get(scope="venue", key="paper").active


def test_a_lasting_wallet_drift_holds_withdrawals_then_the_hold_times_out(
    new_order, lasting, lifecycle_settings
) -> None:
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "100")
    # money nobody booked appears in the wallet, lastingly
    FakeCustodyBalance.objects.filter(asset_id=USDT).update(balance=F("balance") + 1)
    t0 = timezone.now()
    custody_reconcile(now=t0 - lasting)
    custody_reconcile(now=t0)
    lifecycle.order_step(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == "payment_complete"  # held while the wallet drifts
    assert order.deadline_at is not None  # ... but not forever
    # when the hold times out, the order fails and its payment is refunded
    lifecycle_settings.ORDER_HOLD_TIMEOUT_SECONDS = 0
    type(order).objects.filter(pk=order.pk).update(
        deadline_at=timezone.now(), next_step_at=timezone.now()
    )
    order = play_beat(order, until={"refunded"})
    assert order.state == "refunded"
    assert "held too long" in order.failure_reason
