"""Settings defaults, read in a fresh interpreter with a clean environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, django
from django.conf import settings
django.setup()
from mrmarket.celery import app
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "options": db.get("OPTIONS", {}),
    "broker": settings.CELERY_BROKER_URL, "cache": settings.CACHES["default"]["BACKEND"],
    "secret_len": len(settings.SECRET_KEY), "debug": settings.DEBUG,
    "acks_late": settings.CELERY_TASK_ACKS_LATE, "accept": settings.CELERY_ACCEPT_CONTENT,
    "scheduler": settings.CELERY_BEAT_SCHEDULER, "log_level": settings.LOG_LEVEL,
    "allowed_hosts": settings.ALLOWED_HOSTS, "time_limit": settings.CELERY_TASK_TIME_LIMIT,
    "routes": {
        name: app.amqp.router.route({}, name)["queue"].name
        for name in ("strategy_tick_task", "strategy_sessions_run_task",
                     "order_intent_execute_task", "venue_account_sync_task")
    },
}))
"""


def _run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "LOG_LEVEL",
            "MRMARKET_ENV",
            "ADMIN_PASSWORD",
        }
    }
    clean.update(
        {"MRMARKET_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "mrmarket.settings"}
    )
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,  # a bound, not a timing assertion: busy machines are slow
    )


def test_defaults_are_the_embedded_mode(tmp_path: Path) -> None:
    result = _run({}, tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["engine"] == "mrmarket.db.sqlite3"
    assert values["name"] == str(tmp_path / "var" / "mrmarket.sqlite3")
    assert values["options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in values["options"]["init_command"]
    assert "busy_timeout" in values["options"]["init_command"]
    assert values["broker"] == "filesystem://"
    assert values["cache"].endswith("FileBasedCache")
    assert values["secret_len"] >= 50
    assert values["debug"] is True
    assert values["acks_late"] is True
    assert values["accept"] == ["json"]
    assert values["scheduler"] == "mrmarket.heartbeats:Scheduler"
    assert values["log_level"] == "INFO"
    assert values["time_limit"] == 300
    # the tick and its runs have their own queue on the embedded broker (decision 0610)
    assert values["routes"] == {
        "strategy_tick_task": "tick",
        "strategy_sessions_run_task": "tick",
        "order_intent_execute_task": "celery",
        "venue_account_sync_task": "celery",
    }
    # the generated development secret is kept, so a restart reuses it
    assert (tmp_path / "var" / "secret_key").exists()
    again = json.loads(_run({}, tmp_path).stdout.strip().splitlines()[-1])
    assert again["secret_len"] == values["secret_len"]


def test_environment_overrides_defaults(tmp_path: Path) -> None:
    result = _run(
        {
            "REDIS_URL": "redis://127.0.0.1:6399/3",
            "LOG_LEVEL": "debug",
            "ALLOWED_HOSTS": "a.example,b.example",
            "DATABASE_URL": "postgres://u@127.0.0.1:5432/mm",
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["broker"] == "redis://127.0.0.1:6399/3"
    assert values["cache"].endswith("RedisCache")
    assert values["log_level"] == "DEBUG"
    assert values["allowed_hosts"] == ["a.example", "b.example"]
    assert set(values["routes"].values()) == {"celery"}  # Redis: one queue unless opted in


def test_production_fails_fast_without_secrets(tmp_path: Path) -> None:
    result = _run({"MRMARKET_ENV": "production"}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is required in production" in result.stderr
    assert not (tmp_path / "var" / "secret_key").exists()
