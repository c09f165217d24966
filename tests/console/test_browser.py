"""The console in a real browser: Debian's Chromium, headless, driven by Playwright (no
browser download). Login, the overview, an order page with its charts, a halt and its
release. Screenshots of each page land in var/browser/ (CI keeps var/ as artifacts)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from mrmarket.models import AuditEvent
from mrmarket.services import operator_ensure
from strategy.models import KillSwitch

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "browser"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt)"),
]


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Any:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test
    # body are still synchronous. Scoped to this test (never leaks into later processes).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_operator_finds_why_an_order_stopped_and_halts_and_releases(
    paper_run: Any, live_server: Any, browser_page: Any
) -> None:
    run = paper_run(ticks=4)
    operator_ensure(username="desk", password="a long console password 42")
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # login
    page.goto(f"{live_server.url}/console/login/")
    shot(page, "01-login")
    page.fill("#id_username", "desk")
    page.fill("#id_password", "a long console password 42")
    page.click("input[type=submit]")
    page.wait_for_selector("#overview")
    shot(page, "02-overview")

    # halt the order's pair through the console form
    page.goto(f"{live_server.url}/console/strategy/killswitch/add/")
    page.select_option("#id_scope", "pair")
    page.fill("#id_key", run.market.symbol)
    page.check("#id_active")
    page.fill("#id_reason", "desk drill")
    shot(page, "03-halt-form")
    page.click("input[name=_save]")
    assert KillSwitch.objects.get(key=run.market.symbol).active

    # the landing page says why, and links to the order page (2 clicks from landing)
    page.goto(f"{live_server.url}/console/")
    assert "desk drill" in page.inner_text("#ov-attention")
    shot(page, "04-overview-halted")
    page.click("#ov-attention a")
    page.wait_for_selector("#why")
    assert "desk drill" in page.inner_text("#why")
    page.wait_for_selector(".chart .uplot, .chart p")
    shot(page, "05-order-page")
    assert page.locator(".chart .uplot").count() >= 1  # charts drawn by the vendored uPlot

    # release with its own reason
    switch = KillSwitch.objects.get(key=run.market.symbol)
    page.goto(f"{live_server.url}/console/strategy/killswitch/{switch.pk}/change/")
    assert page.input_value("#id_reason") == ""
    page.uncheck("#id_active")
    page.fill("#id_reason", "drill over")
    shot(page, "06-release-form")
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert not KillSwitch.objects.get(pk=switch.pk).active
    assert AuditEvent.objects.filter(
        action="strategy.kill_switch.off", reason="drill over"
    ).exists()
    page.goto(f"{live_server.url}/console/")
    shot(page, "07-overview-released")
    assert "desk drill" not in page.inner_text("#ov-attention")
    assert errors == []
