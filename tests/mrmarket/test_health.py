from __future__ import annotations

import json
import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from mrmarket import broker, health
from mrmarket.heartbeats import Scheduler, WorkerHeartbeat
from mrmarket.models import Heartbeat
from mrmarket.services import heartbeat_beat, heartbeat_outcome

pytestmark = pytest.mark.django_db

PERIOD = 5  # seconds: the beat and worker heartbeat periods in these tests


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path) -> None:
    """Own broker folder and var dir: nothing left by a `make run` in var/ leaks in."""
    (tmp_path / "queue").mkdir()
    settings.VAR_DIR = tmp_path
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "queue")}
    settings.BEAT_HEARTBEAT_SECONDS = PERIOD
    settings.WORKER_HEARTBEAT_SECONDS = PERIOD
    settings.STRATEGY_TICK_MS = 1000


def _worker(hostname: str = "celery@test") -> SimpleNamespace:
    return SimpleNamespace(hostname=hostname)


def _everything_beats(at) -> None:
    """Beat, one worker and the strategy tick all write their heartbeats at `at`."""
    heartbeat_beat(name=health.BEAT, at=at)
    WorkerHeartbeat(SimpleNamespace(hostname="x")).beat(_worker(), at=at)
    heartbeat_beat(name="strategy_tick", at=at)


def _status(api, now=None):
    if now is None:
        response = api.get("/health/system-status")
        return response.status_code, response.json()
    body = health.system_status(now=now)
    return (200 if body["ok"] else 503), body


def _components(body) -> list[str]:
    return [issue["component"] for issue in body["issues"]]


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


def test_health_is_cheap_liveness_even_when_parts_are_down(api) -> None:
    # nothing has ever beaten: system status is 503, liveness is still 200
    response = api.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert isinstance(body["exchanges"], list)
    assert "timestamp" in body
    assert api.get("/health/system-status").status_code == 503


def test_ping_answers_pong(api) -> None:
    response = api.get("/health/ping")
    assert response.status_code == 200
    assert response.json() == "pong"


def test_nothing_running_is_503_naming_beat_workers_and_tick(api) -> None:
    code, body = _status(api)
    assert code == 503
    assert body["ok"] is False
    assert _components(body) == ["beat", "workers", "tick"]
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
    assert body["queues"]["celery"] == {"waiting": 0, "oldestAgeSeconds": None}


def test_all_parts_beating_is_200_with_no_issues(api) -> None:
    _everything_beats(timezone.now())
    heartbeat_beat(name=health.BEAT)  # twice: a heartbeat is safe to repeat
    code, body = _status(api)
    assert (code, body["ok"], body["issues"]) == (200, True, [])
    assert body["beat"]["count"] == 2 and body["beat"]["ok"] is True
    assert body["workers"]["alive"] == 1
    assert body["workers"]["list"][0]["name"] == "celery@test"


def test_a_killed_worker_is_503_naming_workers_within_two_periods_and_restart_clears_it() -> None:
    # given: everything beat at t0, then the worker was killed (it never beats again)
    t0 = timezone.now()
    _everything_beats(t0)
    # when: one period later, beat and the tick carry on; the worker is only one beat late
    heartbeat_beat(name=health.BEAT, at=t0 + timedelta(seconds=PERIOD))
    heartbeat_beat(name="strategy_tick", at=t0 + timedelta(seconds=PERIOD))
    assert _status(None, now=t0 + timedelta(seconds=PERIOD))[0] == 200
    # then: two periods after its last beat the status is 503 and names the workers, since t0
    heartbeat_beat(name=health.BEAT, at=t0 + timedelta(seconds=2 * PERIOD))
    heartbeat_beat(name="strategy_tick", at=t0 + timedelta(seconds=2 * PERIOD))
    code, body = _status(None, now=t0 + timedelta(seconds=2 * PERIOD))
    assert code == 503
    assert _components(body) == ["workers"]
    assert body["issues"][0]["since"] == health.iso(t0)
    assert "celery@test" in body["issues"][0]["message"]
    assert body["workers"]["list"][0]["state"] == "silent"
    # when: the supervisor restarts it and it beats again, the issue clears
    t1 = t0 + timedelta(seconds=3 * PERIOD)
    WorkerHeartbeat(SimpleNamespace(hostname="x")).beat(_worker(), at=t1)
    heartbeat_beat(name=health.BEAT, at=t1)
    heartbeat_beat(name="strategy_tick", at=t1)
    code, body = _status(None, now=t1)
    assert (code, body["issues"]) == (200, [])


def test_a_dead_beat_is_503_naming_beat_within_two_periods_and_restart_clears_it() -> None:
    t0 = timezone.now()
    _everything_beats(t0)
    later = t0 + timedelta(seconds=2 * PERIOD)
    WorkerHeartbeat(SimpleNamespace(hostname="x")).beat(_worker(), at=later)
    heartbeat_beat(name="strategy_tick", at=later)
    code, body = _status(None, now=later)
    assert code == 503 and _components(body) == ["beat"]
    assert body["issues"][0]["since"] == health.iso(t0)
    heartbeat_beat(name=health.BEAT, at=later)
    code, body = _status(None, now=later)
    assert (code, body["issues"]) == (200, [])


def test_a_stale_tick_is_503_naming_tick_and_a_new_tick_clears_it() -> None:
    t0 = timezone.now()
    _everything_beats(t0)
    heartbeat_beat(name="strategy_tick", at=t0, payload={})
    later = t0 + timedelta(seconds=5)  # five 1 s ticks
    heartbeat_beat(name=health.BEAT, at=later)
    WorkerHeartbeat(SimpleNamespace(hostname="x")).beat(_worker(), at=later)
    code, body = _status(None, now=later)
    assert code == 503 and _components(body) == ["tick"]
    assert body["tick"]["running"] is False and body["tick"]["recentlyTicked"] is False
    assert body["issues"][0]["since"] == health.iso(t0)
    heartbeat_beat(name="strategy_tick", at=later)
    code, body = _status(None, now=later)
    assert (code, body["issues"]) == (200, [])
    assert body["tick"]["tickCount"] == 3 and body["tick"]["running"] is True


def test_a_cleanly_stopped_worker_beside_a_live_one_is_no_issue() -> None:
    t0 = timezone.now()
    _everything_beats(t0)
    step = WorkerHeartbeat(SimpleNamespace(hostname="x"))
    step.beat(_worker("celery@old"), at=t0)
    step.beat(_worker("celery@old"), stopped=True, at=t0)
    code, body = _status(None, now=t0)
    assert (code, body["issues"]) == (200, [])
    assert [w["state"] for w in body["workers"]["list"]] == ["stopped", "alive"]


def test_old_waiting_messages_are_an_issue_naming_the_queue(settings, tmp_path) -> None:
    # given: a task message published 100 s ago that nobody took
    _everything_beats(timezone.now())
    published = timezone.now() - timedelta(seconds=100)
    broker.write_atomically(
        tmp_path / "queue",
        broker.message_name("celery", now_ns=int(published.timestamp() * 1e9)),
        b"{}",
    )
    settings.HEALTH_QUEUE_MAX_WAIT_SECONDS = 30
    # when
    code, body = _status(None, now=timezone.now())
    # then
    assert code == 503 and _components(body) == ["queues"]
    assert body["queues"]["celery"]["waiting"] == 1
    assert body["queues"]["celery"]["oldestAgeSeconds"] >= 100
    assert "celery" in body["issues"][0]["message"]


def test_a_process_in_backoff_under_make_run_is_an_issue(settings, tmp_path) -> None:
    _everything_beats(timezone.now())
    status = {
        "supervisorPid": os.getpid(),
        "stopping": False,
        "processes": {
            "web": {
                "state": "running",
                "pid": 1,
                "starts": 1,
                "crashes": 0,
                "lastExit": None,
                "since": 1.0,
            },
            "worker": {
                "state": "backoff",
                "pid": 2,
                "starts": 3,
                "crashes": 3,
                "lastExit": {"code": None, "signal": "SIGKILL", "at": 2.0, "uptime": 1.0},
                "since": 1_700_000_000.0,
            },
        },
    }
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "processes.json").write_text(json.dumps(status))
    code, body = _status(None, now=timezone.now())
    assert code == 503 and _components(body) == ["processes"]
    assert body["processes"]["worker"]["crashes"] == 3
    assert body["issues"][0]["message"].startswith("worker down: worker exited (signal SIGKILL), 3")
    assert body["issues"][0]["since"] == "2023-11-14T22:13:20Z"


def test_a_status_file_of_a_supervisor_that_is_gone_is_ignored(tmp_path) -> None:
    _everything_beats(timezone.now())
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "processes.json").write_text(
        json.dumps({"supervisorPid": 2**22 + 12345, "processes": {"worker": {"state": "backoff"}}})
    )
    code, body = _status(None, now=timezone.now())
    assert code == 200 and "processes" not in body


def test_unreachable_custody_is_an_issue_since_its_first_failure() -> None:
    t0 = timezone.now()
    _everything_beats(t0)
    heartbeat_outcome(name="custody", ok=True)
    heartbeat_outcome(name="custody", ok=False, error="CustodyTimeout: read timed out")
    first = Heartbeat.objects.get(name="custody").payload["failingSince"]
    heartbeat_outcome(name="custody", ok=False, error="CustodyTimeout: read timed out")
    code, body = _status(None, now=t0)
    assert code == 503 and _components(body) == ["custody"]
    assert Heartbeat.objects.get(name="custody").payload["failingSince"] == first
    assert "CustodyTimeout" in body["issues"][0]["message"]
    heartbeat_outcome(name="custody", ok=True)
    assert _status(None, now=t0)[0] == 200


def test_a_failing_check_is_reported_as_its_part_being_down(monkeypatch) -> None:
    _everything_beats(timezone.now())

    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(health._CHECKS, "broken", health._Check("broken", broken, False))
    code, body = _status(None, now=timezone.now())
    assert code == 503 and body["issues"][0]["component"] == "broken"
    assert "RuntimeError: boom" in body["issues"][0]["message"]


def test_apps_register_their_own_checks() -> None:
    assert {"tick", "marketData", "exchanges", "custody", "custody_held"} <= set(health.checks())
    assert health.checks()[:6] == ["database", "broker", "queues", "beat", "workers", "processes"]


def test_beat_writes_its_own_heartbeat_from_its_scheduling_loop(monkeypatch) -> None:
    # given: beat's scheduler, with the database scheduler's own work stubbed out
    monkeypatch.setattr("django_celery_beat.schedulers.DatabaseScheduler.tick", lambda self: 30.0)
    scheduler = Scheduler.__new__(Scheduler)
    clock = [100.0]
    scheduler.clock = lambda: clock[0]  # type: ignore[method-assign]
    # when: the loop ticks three times within one period, then once after it
    sleeps = [scheduler.tick()]
    clock[0] += 1
    sleeps.append(scheduler.tick())
    clock[0] += PERIOD
    sleeps.append(scheduler.tick())
    # then: two heartbeats, and beat never sleeps past the next one
    assert Heartbeat.objects.get(name="beat").count == 2
    assert sleeps == [PERIOD, PERIOD - 1, PERIOD]


def test_a_worker_heartbeat_stops_cleanly() -> None:
    cancelled = []
    timer = SimpleNamespace(
        call_repeatedly=lambda secs, fn, args, priority: SimpleNamespace(
            cancel=lambda: cancelled.append(secs)
        )
    )
    worker = SimpleNamespace(hostname="celery@w1", timer=timer)
    step = WorkerHeartbeat(worker)
    step.start(worker)
    assert Heartbeat.objects.get(name="worker:celery@w1").payload["stopped"] is False
    step.stop(worker)
    assert cancelled == [PERIOD]
    row = Heartbeat.objects.get(name="worker:celery@w1")
    assert row.payload["stopped"] is True and row.count == 2


def test_response_echoes_a_safe_request_id(api) -> None:
    response = api.get("/health/ping", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-Id"] == "abc-123"
    response = api.get("/health/ping", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-Id"] != "bad id\nwith newline"
    assert len(response["X-Request-Id"]) == 32


def test_beat_entries_keep_the_expiry_of_the_schedule() -> None:
    # django-celery-beat drops `options.expires`; our entries store it as expire_seconds
    from django_celery_beat.models import PeriodicTask

    from mrmarket.celery import app

    entry = Scheduler.Entry.from_entry(
        "tick-like",
        app=app,
        task="strategy_tick_task",
        schedule=1.0,
        options={"expires": 1.0},
    )
    assert PeriodicTask.objects.get(name="tick-like").expire_seconds == 1
    assert entry.options["expires"] == 1
    assert Scheduler.Entry._unpack_options(expires=0.25)["expire_seconds"] == 1
    assert Scheduler.Entry._unpack_options()["expire_seconds"] is None
