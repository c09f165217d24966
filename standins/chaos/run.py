"""The chaos run: web, two workers and beat as separate processes on PostgreSQL + Redis, users
placing and paying orders (good, split, doubled, bad), controls racing each other, workers and
beat killed with SIGKILL and restarted, task messages duplicated, custody and venue faults;
then the faults stop, every order is exited, and every coin is accounted for (`checks`).

Bounded in time: `--seconds` of chaos, then at most `--settle` seconds for the system to
settle. Exit status 0 only if every check passes. The database must be one for this run (its
name contains "chaos"): its schema is dropped and migrated again at the start.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable  # the interpreter of the run (the project's virtualenv)
BIN = Path(sys.executable).parent

# The service's timing for the run: short timeouts and fast sweeps, so a run fits minutes.
SERVICE_ENV = {
    "DEBUG": "false",
    "CUSTODY_BACKEND": "fake",
    "CUSTODY_FAKE_CONFIRM_SECONDS": "2",
    "ORDER_MEMO_TIMEOUT_SECONDS": "40",
    "ORDER_PAYMENT_TIMEOUT_SECONDS": "40",
    "ORDER_STEP_POLL_SECONDS": "1",
    "ORDER_SWEEP_SECONDS": "2",
    "ORDER_INTAKE_POLL_SECONDS": "1",
    "ORDER_STEP_LEASE_SECONDS": "20",
    "ORDER_QUEUE_LEASE_SECONDS": "10",
    "CUSTODY_TRANSFER_RETRY_BASE_SECONDS": "1",
    "CUSTODY_TRANSFER_RETRY_MAX_SECONDS": "8",
    "CUSTODY_SNAPSHOT_OVERLAP_SECONDS": "5",
    "RECONCILE_SECONDS": "20",
    "RECONCILE_LASTING_SECONDS": "60",
    "ORDER_JOIN_CAMPAIGNS": "false",
    "BEAT_HEARTBEAT_SECONDS": "5",
    "CACHE_KEY_PREFIX": "chaos",
    "LOG_LEVEL": "WARNING",
    "CHAOS_QUEUE": "chaos",  # the Celery queue of the run (see launch.py)
    "THROTTLE_USER": "6000/min",  # the driver is six busy users, not an attack
}


@dataclass
class Fleet:
    """The service's processes; each can be killed (SIGKILL) and started again."""

    env: dict[str, str]
    port: int
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: int = 0

    def argv(self, name: str) -> list[str]:
        if name == "web":
            return [
                str(BIN / "gunicorn"),
                "mrmarket.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--timeout",
                "60",
                "--config",
                "python:standins.chaos.gunicorn_conf",
            ]
        if name == "beat":
            return [PY, "-m", "standins.chaos.launch", "beat", "--loglevel", "WARNING",
                    "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]  # fmt: skip
        return [PY, "-m", "standins.chaos.launch", "worker", "--loglevel", "WARNING",
                "--pool", "threads", "--concurrency", "4", "--without-gossip",
                "--without-mingle", "--hostname", f"{name}@chaos",
                "--queues", SERVICE_ENV["CHAOS_QUEUE"]]  # fmt: skip

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
            self.argv(name), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str) -> None:
        proc = self.procs.get(name)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            self.kills += 1

    def ensure(self) -> None:
        for name, proc in list(self.procs.items()):
            if proc.poll() is not None:
                self.start(name)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _reset_database(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    if "chaos" not in name:
        raise SystemExit(f"refusing to wipe database {name!r}: its name must contain 'chaos'")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def _prepare(env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603
        [PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m standins.chaos")
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument(
        "--seconds", type=int, default=150, help="chaos after every order is placed and paid"
    )
    parser.add_argument("--settle", type=int, default=300, help="bound on settling, seconds")
    parser.add_argument("--fault-rate", type=float, default=0.15)
    parser.add_argument("--dup-rate", type=float, default=0.2)
    parser.add_argument("--port", type=int, default=int(os.environ.get("CHAOS_PORT", "19200")))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--out", default=str(ROOT / "var" / "chaos" / "last.json"))
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url.startswith("redis"):
        print("make chaos needs DATABASE_URL=postgres://... and REDIS_URL=redis://...")
        return 2
    random.seed(args.seed)
    env = {**os.environ, **SERVICE_ENV}
    os.environ.update(SERVICE_ENV)
    logs = Path(args.out).parent
    logs.mkdir(parents=True, exist_ok=True)
    _reset_database(database_url)
    _prepare(env)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mrmarket.settings")
    django.setup()
    import redis

    from mrmarket.celery import app
    from standins.chaos import checks, scenario

    app.conf.task_default_queue = SERVICE_ENV["CHAOS_QUEUE"]
    from standins.chaos.faults import Plan

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("chaos*"):  # the run's queue, plan and cache; nothing else
        client.delete(key)
    plan = Plan(redis_url)
    plan.reset()
    world = scenario.World.seed(users=args.users, port=args.port)
    fleet = Fleet(env=env, port=args.port, logs=logs)
    started = time.monotonic()
    try:
        for name in ("web", "w1", "w2", "beat"):
            fleet.start(name)
        world.wait_for_web()
        plan.set(rate=args.fault_rate, dup=args.dup_rate)
        stop = threading.Event()
        killer = threading.Thread(target=_kill_loop, args=(fleet, stop), daemon=True)
        killer.start()
        world.drive(orders=args.orders, seconds=args.seconds)
        stop.set()
        killer.join()
        plan.set(rate=0, dup=0)
        fleet.ensure()
        faults_stopped = time.monotonic()
        settled = world.settle(bound=args.settle, fleet=fleet)
        settle_seconds = time.monotonic() - faults_stopped
        report = checks.run(
            world=world,
            plan_counts=plan.counts(),
            kills=fleet.kills,
            settled=settled,
            settle_seconds=settle_seconds,
            total_seconds=time.monotonic() - started,
            seed=args.seed,
        )
    finally:
        fleet.stop()
    Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    checks.print_report(report)
    return 0 if report["ok"] else 1


def _kill_loop(fleet: Fleet, stop: threading.Event) -> None:
    """Every few seconds: SIGKILL a worker or beat, then start it again."""
    while not stop.wait(random.uniform(6, 14)):  # noqa: S311
        name = random.choice(["w1", "w2", "beat"])  # noqa: S311
        fleet.kill(name)
        time.sleep(random.uniform(0.5, 3))  # noqa: S311
        fleet.start(name)


if __name__ == "__main__":
    sys.exit(main())
