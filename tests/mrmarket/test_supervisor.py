"""make run's supervisor: a dead process is restarted with backoff, the others keep running."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mrmarket import supervisor as sup

ROOT = Path(__file__).resolve().parents[2]


class FakeProc:
    _next_pid = 1000

    def __init__(self) -> None:
        FakeProc._next_pid += 1
        self.pid = FakeProc._next_pid
        self.code: int | None = None
        self.stdout = None

    def poll(self) -> int | None:
        return self.code

    def wait(self) -> int | None:
        return self.code


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _supervisor(tmp_path: Path, clock: Clock) -> tuple[sup.Supervisor, dict[str, list[FakeProc]]]:
    spawned: dict[str, list[FakeProc]] = {}

    def spawner(spec: sup.ProcessSpec) -> FakeProc:
        proc = FakeProc()
        spawned.setdefault(spec.name, []).append(proc)
        return proc

    specs = [sup.ProcessSpec("web", "w"), sup.ProcessSpec("worker", "k")]
    s = sup.Supervisor(
        specs,
        status_path=tmp_path / "processes.json",
        out=io.StringIO(),
        spawner=spawner,  # type: ignore[arg-type]
        clock=clock,
        wall=clock,
    )
    return s, spawned


def test_the_procfile_lists_web_worker_and_beat() -> None:
    specs = sup.procfile_read(ROOT / "Procfile")
    assert [s.name for s in specs] == ["web", "worker", "tick", "beat", "coingecko"]
    assert all(s.command.startswith(".venv/bin/") for s in specs)


def test_the_tick_queue_has_a_worker_of_its_own_and_the_worker_helps() -> None:
    # decision 0610: the tick is never stuck behind the worker's slow tasks
    commands = {s.name: s.command for s in sup.procfile_read(ROOT / "Procfile")}
    assert "--queues ${STRATEGY_TICK_QUEUE:-tick} " in commands["tick"]
    assert "--hostname tick@%h" in commands["tick"]
    assert "--queues celery,${STRATEGY_TICK_QUEUE:-tick}" in commands["worker"]


def test_a_bad_procfile_line_is_refused(tmp_path) -> None:
    (tmp_path / "Procfile").write_text("web .venv/bin/gunicorn\n")
    with pytest.raises(ValueError, match="bad Procfile line"):
        sup.procfile_read(tmp_path / "Procfile")


def test_backoff_doubles_up_to_a_minute() -> None:
    assert [sup.backoff_delay(n) for n in (1, 2, 3, 4, 7, 8, 20)] == [1, 2, 4, 8, 60, 60, 60]


def test_a_crashed_worker_is_restarted_with_backoff_and_web_is_left_alone(tmp_path) -> None:
    # given
    clock = Clock()
    s, spawned = _supervisor(tmp_path, clock)
    s.start()
    web = spawned["web"][0]
    # when: the worker dies
    spawned["worker"][0].code = 1
    clock.now += 5
    s.step()
    # then: it waits out its backoff, counted; web untouched
    status = json.loads((tmp_path / "processes.json").read_text())["processes"]
    assert status["worker"]["state"] == "backoff"
    assert status["worker"]["crashes"] == 1
    assert status["worker"]["lastExit"]["code"] == 1
    assert (status["web"]["state"], status["web"]["starts"], status["web"]["crashes"]) == (
        "running",
        1,
        0,
    )
    clock.now += 0.5
    s.step()
    assert len(spawned["worker"]) == 1
    clock.now += 0.6
    s.step()
    assert len(spawned["worker"]) == 2
    # when: it dies again at once, the next wait doubles
    spawned["worker"][1].code = -9
    s.step()
    worker = next(c for c in s.children if c.spec.name == "worker")
    assert worker.restart_at == clock.now + 2
    assert worker.last_exit is not None and worker.last_exit["signal"] == "SIGKILL"
    clock.now += 2
    s.step()
    assert len(spawned["worker"]) == 3 and len(spawned["web"]) == 1 and web.code is None
    final = json.loads((tmp_path / "processes.json").read_text())["processes"]["worker"]
    assert (final["state"], final["starts"], final["crashes"]) == ("running", 3, 2)


def test_a_long_run_resets_the_backoff(tmp_path) -> None:
    clock = Clock()
    s, spawned = _supervisor(tmp_path, clock)
    s.start()
    for n in range(3):  # a crash loop: 1, 2, 4 s
        spawned["worker"][-1].code = 1
        s.step()
        clock.now += sup.backoff_delay(n + 1)
        s.step()
    # when: the next run lasts longer than RESET_AFTER before dying
    clock.now += sup.RESET_AFTER + 1
    spawned["worker"][-1].code = 1
    s.step()
    worker = next(c for c in s.children if c.spec.name == "worker")
    assert worker.restart_at == clock.now + sup.INITIAL_BACKOFF
    assert worker.crashes == 4


def _wait_for(predicate, bound: float = 60.0) -> bool:
    deadline = time.monotonic() + bound  # a bound on waiting, not an assertion on speed
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _status(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_real_processes_crash_restart_and_all_stop_on_sigint_to_the_group(tmp_path) -> None:
    # given: a long-lived process and one that exits at once, under the real supervisor
    (tmp_path / "Procfile").write_text("steady: sleep 300\ncrashy: sh -c 'exit 3'\n")
    status_file = tmp_path / "processes.json"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mrmarket.supervisor",
            "--procfile",
            str(tmp_path / "Procfile"),
            "--status-file",
            str(status_file),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # when: the crashy one has died twice
        assert _wait_for(
            lambda: (
                _status(status_file).get("processes", {}).get("crashy", {}).get("crashes", 0) >= 2
            )
        )
        processes = _status(status_file)["processes"]
        steady_pid = processes["steady"]["pid"]
        # then: the steady one was never restarted
        assert processes["steady"]["starts"] == 1 and processes["steady"]["state"] == "running"
        assert processes["crashy"]["lastExit"]["code"] == 3
        # when: Ctrl-C reaches the process group
        os.killpg(run.pid, signal.SIGINT)
        out, _ = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    # then: the supervisor and every child stopped
    assert run.returncode == 0
    assert not _alive(steady_pid)
    final = _status(status_file)["processes"]
    assert {p["state"] for p in final.values()} == {"stopped"}
    log = out.decode()
    assert '"event": "process_exited"' in log and '"event": "supervisor_stopped"' in log
