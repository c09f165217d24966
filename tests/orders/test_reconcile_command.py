"""`manage.py reconcile`: against the demo, a venue balance changed behind the ledger's back
(exit 1), the same after undoing it, and `--release`."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F

from exchanges.paper.models import PaperBalance
from mrmarket.models import AuditEvent
from orders.models import ReconciliationRun
from strategy.models import KillSwitch
from tests.support.order_flow import BTC, USDT, pay, play_beat

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(new_order):  # type: ignore[no-untyped-def]
    order = new_order()
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    return play_beat(order, until={"created"})


def reconcile(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("reconcile", "--no-progress", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def test_against_the_demo_every_account_is_in_balance(funded) -> None:
    code, out = reconcile()
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "account",
        "asset",
        "expected",
        "actual",
        "in",
        "transit",
        "out",
        "in",
        "transit",
        "in",
        "drift",
    ]
    assert any(line.startswith("custody:venue:paper:0") for line in lines)
    run = ReconciliationRun.objects.get()
    assert (run.source, run.ok) == ("command", True)


def test_a_venue_balance_changed_behind_the_ledgers_back_exits_1_then_0_once_undone(
    funded,
) -> None:
    PaperBalance.objects.filter(asset="BTC").update(free=F("free") - Decimal("0.001"))
    code, out = reconcile("--venue", "paper", "--json")
    assert code == 1
    body = json.loads(out)
    [drift] = body["drifts"]
    assert (drift["account"], drift["assetId"], drift["drift"]) == (
        "custody:venue:paper:0",
        BTC,
        "-0.001",
    )
    assert {r["account"] for r in body["rows"]} == {"custody:venue:paper:0"}  # --venue
    # undone: in balance again
    PaperBalance.objects.filter(asset="BTC").update(free=F("free") + Decimal("0.001"))
    code, out = reconcile("--venue", "paper", "--asset", BTC)
    assert code == 0 and "in balance" in out
    assert ReconciliationRun.objects.count() == 2


def test_release_frees_a_reconciliation_halt_once_the_drift_is_gone(funded, settings) -> None:
    settings.RECONCILE_LASTING_SECONDS = 0
    settings.RECONCILE_AUTO_RELEASE = False
    PaperBalance.objects.filter(asset="BTC").update(free=F("free") - Decimal("0.001"))
    reconcile()
    code, out = reconcile()
    assert code == 1 and "halted: reconciliation:" in out
    assert KillSwitch.objects.get(scope="venue", key="paper").active
    # --release while the drift is still there releases nothing
    code, out = reconcile("--release")
    assert code == 1 and KillSwitch.objects.get(scope="venue", key="paper").active
    PaperBalance.objects.filter(asset="BTC").update(free=F("free") + Decimal("0.001"))
    code, out = reconcile()  # auto-release is off: still halted
    assert code == 0 and KillSwitch.objects.get(scope="venue", key="paper").active
    code, out = reconcile("--release")
    assert code == 0 and "released: reconciliation: drift cleared" in out
    assert not KillSwitch.objects.get(scope="venue", key="paper").active
    assert AuditEvent.objects.filter(action="strategy.kill_switch.off").count() == 1
