"""The operator's cockpit: the overview answers why an order is not quoting, the order page
shows it whole, and controls are safe."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from console.selectors import not_quoting_reason
from mrmarket.models import AuditEvent
from mrmarket.services import heartbeat_beat
from orders.models import MarketMakingOrder
from strategy.models import Fill, KillSwitch, StrategySession, TrackedOrder
from strategy.saturation import Load
from strategy.tick import strategy_tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(operator: Any) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def _halt(console: Client, scope: str, key: str, reason: str, *, active: bool = True) -> Any:
    data = {"scope": scope, "key": key, "reason": reason}
    if active:
        data["active"] = "on"
    return console.post("/console/strategy/killswitch/add/", data)


def test_a_halted_order_shows_why_on_the_landing_page_and_its_page_in_two_clicks(
    paper_run: Any, console: Client
) -> None:
    run = paper_run(ticks=3)
    # given: the operator halts the order's pair
    assert _halt(console, "pair", run.market.symbol, "venue incident").status_code == 302
    # when: the landing page
    landing = console.get("/console/").content.decode()
    # then: the reason is on it (0 clicks) with a link to the order page (1 click)
    assert "HALTED pair BTC/USDT" in landing
    assert f"halted (pair {run.market.symbol}): venue incident" in landing
    link = re.search(r'href="(/console/cockpit/order/[^"]+/)"', landing)
    assert link is not None and str(run.order.pk) in link.group(1)
    page = console.get(link.group(1)).content.decode()
    assert "not quoting" in page and "venue incident" in page
    assert 'id="series"' in page and "vendor/uplot/uPlot.iife.min.js" in page
    assert "BTC" in page and "UTC" in page  # symbols and times with the zone


def test_a_quoting_order_is_not_listed_and_the_json_poll_answers(
    paper_run: Any, console: Client
) -> None:
    run = paper_run(ticks=3)
    session = StrategySession.objects.get(order=run.order)
    sides = set(
        TrackedOrder.objects.filter(session=session, status="open").values_list("side", flat=True)
    )
    data = console.get("/console/cockpit/overview.json").json()
    if sides == {"buy", "sell"}:
        assert data["sessions"]["quoting"] == 1 and data["attention"] == []
    else:  # the paper market filled a whole side in the last tick: listed with the reason
        assert [a["reason"] for a in data["attention"]] == [not_quoting_reason(session, sides, [])]
    assert {"health", "halts", "ordersByState", "transfers", "today", "reconciliation"} <= set(data)
    fills = Fill.objects.filter(order=run.order).count()
    assert sum(r["trades"] for r in data["today"]) == fills
    assert Client().get("/console/cockpit/overview.json").status_code == 302  # login first


def test_halts_must_name_something_that_exists(paper_run: Any, console: Client) -> None:
    run = paper_run(ticks=1)
    for scope, key in (("pair", "BTCUSDT"), ("session", "99999"), ("venue", "nowhere")):
        response = _halt(console, scope, key, "test")
        assert response.status_code == 200, (scope, key)  # the form again, with the error
        assert "no " in response.content.decode()
    assert not KillSwitch.objects.exists()
    session = StrategySession.objects.get(order=run.order)
    assert _halt(console, "session", str(session.pk), "stuck").status_code == 302


def test_release_asks_its_own_reason_and_a_halt_can_be_reapplied(
    paper_run: Any, console: Client
) -> None:
    run = paper_run(ticks=1)
    _halt(console, "venue", run.market.venue, "maintenance")
    switch = KillSwitch.objects.get()
    form = console.get(f"/console/strategy/killswitch/{switch.pk}/change/").content.decode()
    assert "maintenance</textarea>" not in form  # not pre-filled with the halt's reason
    blank = console.post(f"/console/strategy/killswitch/{switch.pk}/change/", {"reason": "   "})
    assert blank.status_code == 200  # refused: a blank reason
    released = console.post(
        f"/console/strategy/killswitch/{switch.pk}/change/", {"reason": "maintenance over"}
    )
    assert released.status_code == 302
    assert (
        AuditEvent.objects.filter(
            action="strategy.kill_switch.off", reason="maintenance over"
        ).count()
        == 1
    )
    # re-halting the same venue through "add" re-applies the row
    again = _halt(console, "venue", run.market.venue, "again")
    assert again.status_code == 302, re.findall(
        r"errorlist[^<]*<li>([^<]*)", again.content.decode()
    )
    assert KillSwitch.objects.get().active is True


def test_the_order_record_is_read_only_and_controls_need_a_reason(
    paper_run: Any, console: Client
) -> None:
    run = paper_run(ticks=1)
    page = console.get(f"/console/orders/marketmakingorder/{run.order.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        console.post(
            f"/console/orders/marketmakingorder/{run.order.pk}/change/", {"state": "paused"}
        ).status_code
        == 403
    )
    blank = console.post(
        "/console/orders/marketmakingorder/",
        {
            "action": "pause_orders",
            "_selected_action": [str(run.order.pk)],
            "confirm": "1",
            "reason": "  ",
        },
    )
    assert blank.status_code == 200
    assert MarketMakingOrder.objects.get(pk=run.order.pk).state == "running"


def test_periodic_tasks_are_read_only_except_a_pause_with_a_reason(console: Client) -> None:
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(
        name="strategy tick", task="strategy_tick_task", interval=every
    )
    assert (
        console.post(
            f"/console/django_celery_beat/periodictask/{task.pk}/change/", {"name": "x"}
        ).status_code
        == 403
    )
    assert (
        console.post(
            f"/console/django_celery_beat/periodictask/{task.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    console.post(
        "/console/django_celery_beat/periodictask/",
        {"action": "pause_tasks", "_selected_action": [task.pk], "confirm": "1", "reason": ""},
    )
    task.refresh_from_db()
    assert task.enabled is True
    console.post(
        "/console/django_celery_beat/periodictask/",
        {
            "action": "pause_tasks",
            "_selected_action": [task.pk],
            "confirm": "1",
            "reason": "load test",
        },
    )
    task.refresh_from_db()
    assert task.enabled is False
    assert AuditEvent.objects.filter(action="beat.task_paused", reason="load test").count() == 1


def test_operator_api_halts_and_controls_with_an_admin_jwt_only(
    paper_run: Any, admin_api: Any, user_api: Any
) -> None:
    run = paper_run(ticks=1)
    body = {"scope": "pair", "key": run.market.symbol, "active": True, "reason": "scripted"}
    assert user_api.post("/admin/operator/halts", body, format="json").status_code == 403
    preview = admin_api.get(
        "/admin/operator/halts/preview", {"scope": "pair", "key": run.market.symbol}
    ).json()
    assert preview["runningSessions"] == 1
    assert admin_api.post("/admin/operator/halts", body, format="json").json()["active"] is True
    bad = admin_api.post("/admin/operator/halts", {**body, "key": "BTCUSDT"}, format="json")
    assert bad.status_code == 400
    oid = run.order.pk
    assert (
        admin_api.post(
            f"/admin/operator/orders/{oid}/pause", {"reason": ""}, format="json"
        ).status_code
        == 400
    )
    paused = admin_api.post(
        f"/admin/operator/orders/{oid}/pause", {"reason": "desk"}, format="json"
    )
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert (
        admin_api.post(
            "/admin/operator/orders/x/pause", {"reason": "desk"}, format="json"
        ).status_code
        == 404
    )
    assert (
        admin_api.post(
            f"/admin/operator/orders/{oid}/explode", {"reason": "desk"}, format="json"
        ).status_code
        == 400
    )


def test_the_order_page_shows_prices_and_amounts_to_the_paper_markets_tick_and_lot(
    paper_run: Any, console: Client
) -> None:
    # given: a run on a paper market with a tick of 0.01 and a lot of 0.001
    run = paper_run(ticks=3)
    assert TrackedOrder.objects.filter(session__order=run.order, status="open").exists()
    # when
    page = console.get(f"/console/cockpit/order/{run.order.pk}/").content.decode()
    # then: every open order's price has 2 decimals and its amounts 3, as on the venue
    table = page.split('id="open-orders"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<td class="num">([^<]*)</td><td class="num">([^<]*)</td><td class="num">([^<]*)</td>',
        table,
    )
    assert rows
    for price, amount, filled in rows:
        assert re.fullmatch(r"\d+\.\d{2}", price), price
        assert re.fullmatch(r"\d+\.\d{3}", amount), amount
        assert re.fullmatch(r"\d+\.\d{3}", filled), filled


def test_the_landing_page_says_when_the_tick_is_saturated_and_by_how_much(
    console: Client,
) -> None:
    strategy_tick()  # a fresh heartbeat, nothing due: keeping up
    page = console.get("/console/").content.decode()
    assert 'id="ov-tick"' in page and "Keeping up" in page
    # The runs fall behind: the tick's heartbeat records the load it saw when it claimed.
    load = Load(in_flight=640, oldest_wait_ms=4250, shed_last_minute=37)
    heartbeat_beat(name="strategy_tick", payload=load.as_payload())
    data = console.get("/console/cockpit/overview.json").json()
    assert data["tick"]["saturated"] is True
    assert (data["tick"]["inFlight"], data["tick"]["oldestWaitMs"]) == (640, 4250)
    assert data["tick"]["shedLastMinute"] == 37
    page = console.get("/console/").content.decode()
    tick_card = page[page.index('id="ov-tick"') : page.index('id="ov-halts"')]
    assert "Saturated" in tick_card and "4250 ms / 2000 ms" in tick_card
    assert "640 / 200" in tick_card and "37" in tick_card
