from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mrmarket.models import Heartbeat
from mrmarket.tasks import system_heartbeat_task

pytestmark = pytest.mark.django_db


def test_root_describes_the_app(api, settings) -> None:
    settings.MIXIN_APP_ID = "app-123"
    response = api.get("/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "mixin_app_id",
        "app_hash",
        "recording_oracle_url",
        "campaign_launcher_url",
        "timestamp",
    }
    assert body["mixin_app_id"] == "app-123"
    assert body["timestamp"].endswith("Z")


def test_health_is_ok_with_a_database(api) -> None:
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert isinstance(body["exchanges"], list)
    assert "timestamp" in body


def test_ping_answers_pong(api) -> None:
    response = api.get("/health/ping")
    assert response.status_code == 200
    assert response.json() == "pong"


def test_system_status_reports_a_stale_beat_as_an_issue(api) -> None:
    response = api.get("/health/system-status")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert [issue["component"] for issue in body["issues"]] == ["beat"]
    assert set(body["tick"]) == {
        "running",
        "tickSizeMs",
        "lastTickAtMs",
        "lastTickAt",
        "tickCount",
        "recentlyTicked",
        "saturation",
    }
    assert body["tick"]["tickCount"] == 0
    assert body["tick"]["saturation"]["saturated"] is False
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert "celery" in body["queues"]


def test_system_status_is_ok_after_a_beat_heartbeat(api) -> None:
    # given: beat has just run its heartbeat (twice: the task is safe to repeat)
    system_heartbeat_task.run()
    system_heartbeat_task.run()
    # when
    body = api.get("/health/system-status").json()
    # then
    assert body["issues"] == []
    assert body["ok"] is True
    assert body["beat"]["count"] == 2
    assert body["beat"]["ok"] is True


def test_system_status_reports_tick_freshness(api) -> None:
    now = timezone.now()
    Heartbeat.objects.create(name="strategy_tick", last_beat_at=now, count=41)
    tick = api.get("/health/system-status").json()["tick"]
    assert tick["running"] is True and tick["recentlyTicked"] is True
    assert tick["tickCount"] == 41
    assert tick["lastTickAtMs"] == int(now.timestamp() * 1000)

    Heartbeat.objects.filter(name="strategy_tick").update(last_beat_at=now - timedelta(minutes=5))
    tick = api.get("/health/system-status").json()["tick"]
    assert tick["running"] is False and tick["recentlyTicked"] is False


def test_response_echoes_a_safe_request_id(api) -> None:
    response = api.get("/health/ping", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-Id"] == "abc-123"
    response = api.get("/health/ping", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-Id"] != "bad id\nwith newline"
    assert len(response["X-Request-Id"]) == 32
