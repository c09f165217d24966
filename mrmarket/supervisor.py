"""`make run`'s process supervisor: the Procfile's processes, each restarted when it dies.

Design. The process list stays in one place, the `Procfile` (`name: command`, commands run
by bash so `${VAR:-default}` works): changing the web server is a one-line change there.
Each process runs in its own process group with the parent-death signal set, so

- a crash of one process stops nothing else: the supervisor logs the exit
  (`process_exited`: code or signal, uptime), counts it and restarts the process after a
  backoff (1 s, doubling to 60 s, back to 1 s once a run lasted RESET_AFTER seconds);
- Ctrl-C (SIGINT, from the terminal or to the process group, as `.ci/run` sends it) or
  SIGTERM stops restarts, sends SIGTERM to every process group, and SIGKILL to what is still
  alive after GRACE seconds; and if the supervisor itself is killed, the kernel ends its
  children (PR_SET_PDEATHSIG).

The state of every process (pid, state, starts, crashes, last exit) is written atomically to
a JSON status file (`var/run/processes.json`) that `/health/system-status` reads: a process
waiting to be restarted is an issue there, and the crash counts are shown.

Standard library only; no Django here (the supervisor must outlive what it supervises).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

INITIAL_BACKOFF = 1.0  # seconds before the first restart
MAX_BACKOFF = 60.0  # the backoff doubles up to this
RESET_AFTER = 60.0  # a run this long resets the backoff: the crash was not a loop
GRACE = 10.0  # seconds between SIGTERM and SIGKILL on shutdown
POLL = 0.2  # seconds between looks at the children

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: str


def procfile_read(path: Path) -> list[ProcessSpec]:
    """`name: command` lines; blank lines and `#` comments are skipped."""
    specs = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip().isidentifier() or not command.strip():
            raise ValueError(f"bad Procfile line: {raw!r}")
        specs.append(ProcessSpec(name=name.strip(), command=command.strip()))
    if len({s.name for s in specs}) != len(specs):
        raise ValueError("duplicate process names in the Procfile")
    return specs


def backoff_delay(consecutive_crashes: int) -> float:
    """Seconds before restart number `consecutive_crashes` (1, 2, ...) of a crash loop."""
    delay: float = INITIAL_BACKOFF * 2 ** max(consecutive_crashes - 1, 0)
    return min(delay, MAX_BACKOFF)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass  # not Linux: the process group is still signalled on a clean shutdown


def spawn(spec: ProcessSpec) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - the command is the operator's own Procfile line
        ["/bin/bash", "-c", f"exec {spec.command}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        process_group=0,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads hold locks it needs
    )


@dataclass
class Child:
    spec: ProcessSpec
    proc: subprocess.Popen[bytes] | None = None
    state: str = "starting"  # running | backoff | stopped
    starts: int = 0
    crashes: int = 0
    streak: int = 0  # crashes since the last run that lasted RESET_AFTER
    started_at: float = 0.0  # monotonic
    since: float = 0.0  # wall clock of the last state change
    restart_at: float | None = None  # monotonic
    last_exit: dict[str, Any] | None = None
    pumps: list[threading.Thread] = field(default_factory=list)


def _describe(returncode: int) -> dict[str, Any]:
    if returncode < 0:
        return {"code": None, "signal": signal.Signals(-returncode).name}
    return {"code": returncode, "signal": None}


class Supervisor:
    def __init__(
        self,
        specs: list[ProcessSpec],
        *,
        status_path: Path | None,
        out: IO[str] = sys.stdout,
        spawner: Callable[[ProcessSpec], subprocess.Popen[bytes]] = spawn,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.children = [Child(spec=s) for s in specs]
        self.status_path = status_path
        self.out = out
        self.spawner = spawner
        self.clock = clock
        self.wall = wall
        self.stopping = False
        self._out_lock = threading.Lock()
        self._width = max((len(s.name) for s in specs), default=4)

    # -- output --------------------------------------------------------------------------
    def _line(self, name: str, text: str) -> None:
        with self._out_lock:
            stamp = time.strftime("%H:%M:%S")
            self.out.write(f"{stamp} {name.ljust(self._width)} | {text}\n")
            self.out.flush()

    def event(self, event: str, **fields: Any) -> None:
        """A log event of the supervisor itself: a constant name and its context, as JSON."""
        self._line("run", json.dumps({"event": event, **fields}, sort_keys=True))

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self._line(name, raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    # -- lifecycle -----------------------------------------------------------------------
    def _start(self, child: Child) -> None:
        child.proc = self.spawner(child.spec)
        child.starts += 1
        child.state = "running"
        child.started_at = self.clock()
        child.since = self.wall()
        child.restart_at = None
        if child.proc.stdout is not None:
            pump = threading.Thread(
                target=self._pump, args=(child.spec.name, child.proc.stdout), daemon=True
            )
            pump.start()
            child.pumps = [pump]
        self.event(
            "process_started", process=child.spec.name, pid=child.proc.pid, start=child.starts
        )

    def start(self) -> None:
        for child in self.children:
            self._start(child)
        self.write_status()

    def step(self) -> None:
        """Reap exited children, schedule their restarts, start the ones that are due."""
        changed = False
        now = self.clock()
        for child in self.children:
            if child.state == "running" and child.proc is not None:
                code = child.proc.poll()
                if code is None:
                    continue
                uptime = now - child.started_at
                child.crashes += 1
                child.streak = 1 if uptime >= RESET_AFTER else child.streak + 1
                delay = backoff_delay(child.streak)
                child.last_exit = _describe(code) | {"at": self.wall(), "uptime": round(uptime, 3)}
                child.state = "backoff"
                child.since = self.wall()
                child.restart_at = now + delay
                self.event(
                    "process_exited",
                    process=child.spec.name,
                    pid=child.proc.pid,
                    crashes=child.crashes,
                    restart_in=delay,
                    **child.last_exit,
                )
                changed = True
            elif (
                child.state == "backoff"
                and child.restart_at is not None
                and now >= child.restart_at
            ):
                self._start(child)
                changed = True
        if changed:
            self.write_status()

    def shutdown(self, grace: float = GRACE) -> None:
        """SIGTERM every process group, SIGKILL what is left after `grace` seconds."""
        self.stopping = True
        alive = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        self.event("supervisor_stopping", processes=[c.spec.name for c in alive])
        for child in alive:
            _signal_group(child, signal.SIGTERM)
        deadline = self.clock() + grace
        while self.clock() < deadline and any(c.proc.poll() is None for c in alive if c.proc):
            time.sleep(POLL)
        for child in alive:
            _signal_group(child, signal.SIGKILL)  # also reaps stragglers left in the group
            if child.proc is not None:
                child.proc.wait()
            child.state = "stopped"
            child.since = self.wall()
        for child in self.children:
            child.state = "stopped"
            for pump in child.pumps:
                pump.join(timeout=2)
        self.write_status()
        self.event("supervisor_stopped")

    def run(self) -> int:
        def _stop(signum: int, _frame: Any) -> None:
            self.stopping = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        self.start()
        while not self.stopping:
            self.step()
            time.sleep(POLL)
        self.shutdown()
        return 0

    # -- status file ---------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "supervisorPid": os.getpid(),
            "stopping": self.stopping,
            "updatedAt": self.wall(),
            "processes": {
                c.spec.name: {
                    "pid": c.proc.pid if c.proc is not None else None,
                    "state": c.state,
                    "since": c.since,
                    "starts": c.starts,
                    "crashes": c.crashes,
                    "lastExit": c.last_exit,
                    "restartIn": (
                        max(c.restart_at - self.clock(), 0.0) if c.restart_at is not None else None
                    ),
                }
                for c in self.children
            },
        }

    def write_status(self) -> None:
        if self.status_path is None:
            return
        self.status_path.parent.mkdir(parents=True, exist_ok=True)
        part = self.status_path.with_name(self.status_path.name + ".part")
        part.write_text(json.dumps(self.status(), sort_keys=True))
        os.replace(part, self.status_path)  # readers see the old or the new file, never half


def _signal_group(child: Child, signum: signal.Signals) -> None:
    if child.proc is None:
        return
    try:
        os.killpg(child.proc.pid, signum)
    except ProcessLookupError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procfile", type=Path, default=Path("Procfile"))
    parser.add_argument("--status-file", type=Path, default=None)
    args = parser.parse_args(argv)
    supervisor = Supervisor(procfile_read(args.procfile), status_path=args.status_file)
    return supervisor.run()


if __name__ == "__main__":
    raise SystemExit(main())
