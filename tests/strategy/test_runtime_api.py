"""The /strategy endpoints, the order history rows and the execution report."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from mrmarket.models import AuditEvent
from orders.services.seams import order_terms
from strategy.enums import SessionState
from strategy.models import StrategySession
from strategy.services import session_start_for_order
from tests.strategy.runtime_support import committed, funded_order, paper_market, pmm_params, tick

pytestmark = pytest.mark.django_db


def test_operator_runs_and_stops_a_pure_mm_session(
    monkeypatch: pytest.MonkeyPatch, admin_api: Any, operator: Any
) -> None:
    market = paper_market(monkeypatch)
    body = {**pmm_params(market), "clientId": "c1", "userId": str(operator.pk)}
    response = admin_api.post("/strategy/execute-pure-market-making", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["session"]["status"] == "running"
    again = admin_api.post("/strategy/execute-pure-market-making", body, format="json")
    assert again.json()["session"]["id"] == response.json()["session"]["id"]
    running = admin_api.get("/strategy/running").json()
    assert [r["clientId"] for r in running] == ["c1"]
    stop = admin_api.get("/strategy/stop-marketmaking", {"clientId": "c1"})
    assert stop.status_code == 200 and stop.json() == {"ok": True}
    assert StrategySession.objects.get().state == SessionState.STOPPED
    assert admin_api.get("/strategy/running").json() == []
    assert AuditEvent.objects.filter(action="strategy.pure_market_making.stop").count() == 1


def test_invalid_dto_is_a_400_with_the_field(
    monkeypatch: pytest.MonkeyPatch, admin_api: Any
) -> None:
    market = paper_market(monkeypatch)
    body = {**pmm_params(market), "clientId": "c1", "bidSpred": "0.01"}
    response = admin_api.post("/strategy/execute-pure-market-making", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "bidSpred" in response.json()["message"]
    assert not StrategySession.objects.exists()


def test_users_cannot_trade_house_accounts_nor_spoof_user_id(
    monkeypatch: pytest.MonkeyPatch, user_api: Any, other_user: Any
) -> None:
    market = paper_market(monkeypatch)
    body = {**pmm_params(market), "clientId": "c1"}
    response = user_api.post("/strategy/execute-pure-market-making", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "user_sessions_disabled"
    spoof = user_api.get(
        "/strategy/stop-marketmaking", {"clientId": "c1", "userId": str(other_user.pk)}
    )
    assert spoof.status_code == 403
    assert not StrategySession.objects.exists()


def test_admin_stop_needs_admin_jwt_and_audits(
    monkeypatch: pytest.MonkeyPatch, admin_api: Any, user_api: Any
) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=order))
    denied = user_api.post(
        "/admin/strategy/stop", {"sessionId": session.pk, "reason": "x"}, format="json"
    )
    assert denied.status_code == 403
    start = admin_api.post(
        "/admin/strategy/start", {"sessionId": session.pk, "reason": "x"}, format="json"
    )
    assert start.status_code == 409  # an order's session is controlled through the order
    stop = admin_api.post(
        "/admin/strategy/stop", {"sessionId": session.pk, "reason": "incident"}, format="json"
    )
    assert stop.status_code == 200
    session.refresh_from_db()
    assert session.state == SessionState.STOPPED
    assert AuditEvent.objects.filter(action="strategy.session.stop", reason="incident").count() == 1


def test_history_report_and_intents_of_an_order(
    monkeypatch: pytest.MonkeyPatch, api: Any, other_user: Any
) -> None:
    from mrmarket.services import user_token_issue

    market = paper_market(monkeypatch, volatility=Decimal("0.004"), print_amount=Decimal("0.6"))
    params = pmm_params(
        market, bidSpread="0.002", askSpread="0.002", orderAmount="0.5", orderRefreshTime=2000
    )
    order = funded_order(market, base=Decimal("10"), quote=Decimal("1000"), params=params)
    committed(session_start_for_order, terms=order_terms(order=order))
    for _ in range(20):
        tick(market)
        market.clock.advance(2)
    raw, _ = user_token_issue(user=order.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    rows = api.get(f"/user-orders/market-making/history/instance/{order.pk}").json()
    assert {r["status"] for r in rows} <= {"open", "closed", "canceled"}
    assert "open" in {r["status"] for r in rows}
    assert set(rows[0]) >= {"amount", "price", "side", "status", "executedAt"}
    report = api.get("/metrics/execution-report", {"orderId": str(order.pk)}).json()
    assert report["orderId"] == str(order.pk)
    assert report["totals"]["trades"] >= 1
    assert Decimal(report["totals"]["volume"]) == Decimal(report["totals"]["buyVolume"]) + Decimal(
        report["totals"]["sellVolume"]
    )
    assert sum(d["trades"] for d in report["byDay"]) == report["totals"]["trades"]
    intents = api.get("/strategy/intents/by-client", {"clientId": str(order.pk), "limit": 3}).json()
    assert len(intents) == 3
    assert (
        api.get(
            "/strategy/intents/by-client", {"clientId": str(order.pk), "limit": 501}
        ).status_code
        == 400
    )
    # another user's order is a 404
    raw2, _ = user_token_issue(user=other_user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw2}")
    assert api.get(f"/user-orders/market-making/history/instance/{order.pk}").status_code == 404
    assert api.get("/metrics/execution-report", {"orderId": str(order.pk)}).status_code == 404
    assert api.get("/strategy/intents/by-client", {"clientId": str(order.pk)}).json() == []
    # the lifecycle parts
    from strategy.selectors import order_lifecycle_parts

    parts = order_lifecycle_parts(order_id=order.pk)
    assert parts["strategyKey"].endswith("pure_market_making")
    assert parts["openOrders"] and parts["trades"] and parts["intents"] and parts["history"]


def test_console_pauses_with_a_reason_and_flips_kill_switches(
    monkeypatch: pytest.MonkeyPatch, client: Any, operator: Any
) -> None:
    from strategy.models import KillSwitch

    market = paper_market(monkeypatch)
    body = {**pmm_params(market), "clientId": "c1"}
    from strategy.services import pure_mm_session_execute

    session = committed(pure_mm_session_execute, user=operator, dto=body)
    client.force_login(operator)
    url = "/console/strategy/strategysession/"
    assert client.get(url).status_code == 200
    ask = client.post(url, {"action": "pause_sessions", "_selected_action": [session.pk]})
    assert ask.status_code == 200 and b"reason" in ask.content
    done = client.post(
        url,
        {
            "action": "pause_sessions",
            "_selected_action": [session.pk],
            "apply": "1",
            "reason": "drill",
        },
    )
    assert done.status_code == 302
    session.refresh_from_db()
    assert session.state == SessionState.PAUSED
    add = client.post(
        "/console/strategy/killswitch/add/",
        {"scope": "global", "key": "", "active": "on", "reason": "incident 7"},
    )
    assert add.status_code == 302, add.content[:2000]
    switch = KillSwitch.objects.get()
    assert switch.active and switch.actor == operator
    assert AuditEvent.objects.filter(action="strategy.kill_switch.on", reason="incident 7").exists()
    for page in ("orderintent", "trackedorder", "fill", "killswitch"):
        assert client.get(f"/console/strategy/{page}/").status_code == 200
