"""The report endpoints and the public proof page."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from mrmarket.models import AuditEvent
from mrmarket.services import user_token_issue
from reports.bundle import bundle_verify

pytestmark = pytest.mark.django_db


def _as(api: Any, user: Any) -> Any:
    raw, _ = user_token_issue(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def test_execution_report_has_the_contract_fields_and_the_new_sections(
    paper_run: Any, api: Any
) -> None:
    run = paper_run(ticks=6, until_traded=True)
    body = (
        _as(api, run.order.user)
        .get("/metrics/execution-report", {"orderId": str(run.order.pk)})
        .json()
    )
    assert set(body) >= {
        "orderId",
        "from",
        "to",
        "totals",
        "byDay",
        "facts",
        "performance",
        "quoting",
        "bundleHash",
    }
    assert set(body["totals"]) == {"trades", "volume", "buyVolume", "sellVolume"}
    assert set(body["facts"]) == {"source", "fields", "sample"}
    assert len(body["bundleHash"]) == 64
    assert body["performance"]["numTrades"] == body["totals"]["trades"]


def test_bad_windows_are_400s_and_another_users_order_is_404(
    paper_run: Any, api: Any, other_user: Any
) -> None:
    run = paper_run(ticks=1)
    client = _as(api, run.order.user)
    oid = str(run.order.pk)
    garbage = client.get("/metrics/execution-report", {"orderId": oid, "from": "garbage"})
    assert garbage.status_code == 400 and garbage.json()["error"] == "validation_error"
    backwards = client.get(
        "/metrics/execution-report",
        {"orderId": oid, "from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 400
    assert client.get("/metrics/execution-report", {"orderId": "x"}).status_code == 400
    _as(api, other_user)
    assert api.get("/metrics/execution-report", {"orderId": oid}).status_code == 404
    assert api.get("/metrics/execution-report/bundle", {"orderId": oid}).status_code == 404


def test_csv_export_has_a_row_per_day_and_a_total(paper_run: Any, api: Any) -> None:
    run = paper_run(ticks=6, until_traded=True)
    response = _as(api, run.order.user).get(
        "/metrics/execution-report.csv", {"orderId": str(run.order.pk)}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["date", "trades", "volume", "buyVolume", "sellVolume"]
    total = next(r for r in rows if r and r[0] == "total")
    assert sum(int(r[1]) for r in rows[1:] if r and r[0][:2] == "20") == int(total[1])
    assert rows[-1][0] == "bundleHash" and len(rows[-1][1]) == 64


def test_proof_page_is_off_by_default_and_opt_in_by_the_owner(
    paper_run: Any, api: Any, other_user: Any
) -> None:
    run = paper_run(ticks=4, until_traded=True)
    oid = str(run.order.pk)
    assert api.get(f"/proof/{oid}").status_code == 404
    client = _as(api, run.order.user)
    assert client.get(f"/user-orders/market-making/proof/{oid}").json()["enabled"] is False
    on = client.post(f"/user-orders/market-making/proof/{oid}", {"enabled": True}, format="json")
    assert on.status_code == 200 and on.json()["url"].endswith(f"/proof/{oid}")
    assert AuditEvent.objects.filter(action="report.proof_page_enabled", target_id=oid).count() == 1

    api.credentials()  # the public: no token
    page = api.get(f"/proof/{oid}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/uplot/uPlot.iife.min.js" in html and 'id="series"' in html
    link = re.search(r'id="bundle-link" href="([^"]+)"', html)
    assert link is not None
    bundle = api.get(link.group(1).replace("&amp;", "&")).json()
    assert bundle["hash"] in html  # the page's own window: the download hashes the same
    assert bundle_verify(bundle) == []

    _as(api, other_user)
    assert (
        api.post(
            f"/user-orders/market-making/proof/{oid}", {"enabled": False}, format="json"
        ).status_code
        == 404
    )
    client = _as(api, run.order.user)
    client.post(f"/user-orders/market-making/proof/{oid}", {"enabled": False}, format="json")
    api.credentials()
    assert api.get(f"/proof/{oid}").status_code == 404
    assert api.get("/proof/not-a-uuid").status_code == 404
