"""`manage.py strategy_bench_tick` (`make bench-tick`): the tick under load.

1,000 running sessions (2 layers a side, 10 s refresh) over 20 paper pairs, on PostgreSQL
and Redis. The parent process is beat: every STRATEGY_TICK_MS it runs the real tick
(`strategy.tick.strategy_tick`: claim with SKIP LOCKED and a lease, batches by pair) and
runs the per-tick checks (`sessions_guard`, in the tick as `strategy_tick_task` does) and
hands the batches to forked worker processes, which run the real `sessions_run` (shared
market snapshots in Redis, quotes, diff, STP, risk, intents written in PostgreSQL) — what
`strategy_sessions_run_task` does inside Celery, without the broker hop. Intents are
recorded in dry-run mode: executing 400 paper orders a second is the paper venue's
benchmark, not the tick's (every paper operation re-matches the pair's whole book).

Printed: lateness of each run against its session's due time, taken when that session's
own run starts (p50/p99/max; includes up to one tick of quantization, since a session due
between two ticks is claimed at the next — `--tick-ms` sets the tick), session runs/s,
shed runs (started over STRATEGY_MAX_LATENESS_MS late: skipped to their next slot) and
other skipped runs by reason, intents/s, CPU per session run in the workers and in their
PostgreSQL backends (read from /proc: the server is local), the tick's own CPU and the
machine's load average at start and end. `--background-load` keeps one core busy with a
spinning process for the whole run (the overloaded case); `--sessions` sets the count.
"""

from __future__ import annotations

import cProfile
import glob
import io
import logging
import multiprocessing as mp
import os
import pstats
import queue
import statistics
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils import timezone

from mrmarket.pg import database_create_if_missing
from strategy.enums import SessionState
from strategy.management.bench_tick_setup import (
    VENUE,
    backend_cpu_seconds,
    backend_pid,
    bench_setup,
)
from strategy.marketdata import market_data_refresh
from strategy.models import StrategySession
from strategy.pmm.guard import sessions_guard
from strategy.runner import sessions_run
from strategy.saturation import Load
from strategy.tick import MarketNeed, messages, refreshes_for_checks, strategy_tick


def _worker(tasks: Any, results: Any, profile: str) -> None:
    logging.disable(logging.CRITICAL)
    backend = backend_pid()
    profiler = cProfile.Profile(time.process_time) if profile else None
    while True:
        item = tasks.get()
        if item is None:
            if profiler is not None:
                profiler.dump_stats(f"{profile}.{os.getpid()}")
            return
        _handle(item, results, backend, profiler)


class _Inline:
    """--workers 0: the tick's messages handled in the tick's own process as they are sent
    (one worker, no queue): CPU per run in the real tick's batch mix without IPC noise."""

    def __init__(self, results: Any, backend: int) -> None:
        self.results, self.backend, self.cpu = results, backend, 0.0

    def put(self, item: Any) -> None:
        started = time.process_time()
        _handle(item, self.results, self.backend, None)
        self.cpu += time.process_time() - started


def _handle(item: Any, results: Any, backend: int, profiler: Any) -> None:
    """One message, as strategy_tick_task sends it: a batch of session ids or a market-data
    refresh (exchange_id, symbol, with_last, record)."""
    if isinstance(item, tuple):  # market_data_refresh_task: no outcome to report
        exchange_id, symbol, with_last, record = item
        market_data_refresh(
            exchange_id=exchange_id, symbol=symbol, with_last=with_last, record=record
        )
        return
    outcomes, cpu, db_cpu = _timed_run(item, backend, profiler)
    results.put(
        [(o.ran, o.lateness_ms, len(o.intent_ids), o.reason) for o in outcomes]
        + [("cpu", cpu, db_cpu)]
    )


def _timed_run(ids: list[int], backend: int, profiler: Any) -> tuple[list[Any], float, float]:
    """`sessions_run` on one batch, with the worker's and its backend's CPU seconds."""
    cpu, db_cpu = time.process_time(), backend_cpu_seconds(backend)
    if profiler is not None:
        profiler.enable()
    outcomes = sessions_run(session_ids=ids)
    if profiler is not None:
        profiler.disable()
    return outcomes, time.process_time() - cpu, backend_cpu_seconds(backend) - db_cpu


def _rounds(rounds: int, profile: str) -> tuple[int, float, float, dict[str, int]]:
    """--rounds: every session made due, the real tick's claim and batches run here, in
    this process, one after the other (no queue, no lateness): CPU per session run without
    the noise of scheduling. Returns (runs, worker CPU s, database CPU s, skipped)."""
    # Runs one after the other take longer than a slot: nothing is late, every snapshot fresh.
    settings.STRATEGY_MAX_LATENESS_MS = 10**9
    settings.STRATEGY_MARKET_DATA_MAX_AGE_MS = 10**9
    settings.STRATEGY_LEASE_SECONDS = 3600
    settings.STRATEGY_TICK_MAX_IN_FLIGHT = 10**9  # every due session claimed each round
    backend = backend_pid()
    profiler = cProfile.Profile(time.process_time) if profile else None
    runs, cpu, db_cpu = 0, 0.0, 0.0
    skipped: dict[str, int] = {}
    for _ in range(rounds):
        time.sleep(settings.STRATEGY_TICK_MS / 1000)  # a new market-data slot: books moved
        StrategySession.objects.filter(exchange_id=VENUE, state=SessionState.RUNNING).update(
            next_run_at=timezone.now(), lease_until=None
        )
        result = strategy_tick()
        for batch in result.batches:
            for need in result.markets:  # snapshots live 10 s: keep them cached (not timed)
                market_data_refresh(
                    exchange_id=need.exchange_id, symbol=need.symbol, with_last=need.with_last
                )
            outcomes, batch_cpu, batch_db_cpu = _timed_run(batch, backend, profiler)
            cpu += batch_cpu
            db_cpu += batch_db_cpu
            for outcome in outcomes:
                if outcome.ran:
                    runs += 1
                else:
                    skipped[outcome.reason] = skipped.get(outcome.reason, 0) + 1
    if profiler is not None:
        profiler.dump_stats(f"{profile}.{os.getpid()}")
    return runs, cpu, db_cpu, skipped


def _burn(until: float) -> None:
    """--background-load: keep one core busy (bounded in time)."""
    x = 0
    while time.monotonic() < until:
        for _ in range(100_000):
            x += 1


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Command(BaseCommand):
    help = (
        "Benchmark the strategy tick: lateness, runs/s, shed runs, CPU per run (worker, database)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--sessions", type=int, default=1000)
        parser.add_argument("--pairs", type=int, default=20)
        parser.add_argument("--refresh-ms", type=int, default=10_000)
        parser.add_argument("--seconds", type=int, default=40)
        parser.add_argument(
            "--workers",
            type=int,
            default=2,
            help="worker processes; 0 handles every message in the tick's process as it is "
            "sent (CPU per run in the real batch mix, without IPC)",
        )
        parser.add_argument(
            "--tick-ms",
            type=int,
            default=None,
            help="tick period (default STRATEGY_TICK_MS); lateness includes up to one tick",
        )
        parser.add_argument(
            "--prepare", action="store_true", help="create and migrate the database"
        )
        parser.add_argument(
            "--resting",
            action="store_true",
            help="give every session 4 open orders, so the per-tick checks have work",
        )
        parser.add_argument(
            "--profile",
            default="",
            help="cProfile the workers' session runs; write PATH.<pid> and print the top",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=0,
            help="in-process: make every session due N times and run the batches here; "
            "prints CPU per run only (no queue, no lateness)",
        )
        parser.add_argument(
            "--background-load",
            action="store_true",
            help="keep one core busy with another process for the whole run",
        )

    def _rounds_report(self, o: dict[str, Any]) -> None:
        load_start = os.getloadavg()
        runs, cpu, db_cpu, skipped = _rounds(o["rounds"], o["profile"])
        load_end = os.getloadavg()
        self.stdout.write(
            f"bench-tick --rounds {o['rounds']}: {o['sessions']} sessions in-process, "
            f"{runs} runs, skipped {skipped}"
        )
        self.stdout.write(
            f"  CPU per session run: worker {1000 * cpu / max(runs, 1):.2f} ms, "
            f"database {1000 * db_cpu / max(runs, 1):.2f} ms"
        )
        self._profile_print(o["profile"])
        self.stdout.write(
            f"  machine load average (1/5/15 min, {os.cpu_count()} CPUs): "
            f"{'/'.join(f'{x:.2f}' for x in load_start)} at start, "
            f"{'/'.join(f'{x:.2f}' for x in load_end)} at end"
        )

    def _profile_print(self, profile: str) -> None:
        if not profile:
            return
        files = glob.glob(f"{profile}.*")
        if files:
            out = io.StringIO()
            pstats.Stats(*files, stream=out).sort_stats("tottime").print_stats(45)
            self.stdout.write(out.getvalue())

    def handle(self, *args: Any, **o: Any) -> None:
        if not settings.IS_POSTGRES:
            raise CommandError("bench-tick runs on PostgreSQL: set DATABASE_URL")
        if not settings.REDIS_URL:
            raise CommandError("bench-tick shares market data through Redis: set REDIS_URL")
        logging.disable(logging.CRITICAL)
        if o["prepare"]:
            database_create_if_missing()
            call_command("migrate", verbosity=0)
        settings.STRATEGY_DRY_RUN = True
        if o["tick_ms"]:
            settings.STRATEGY_TICK_MS = o["tick_ms"]  # before the fork: workers share it
        bench_setup(o["sessions"], o["pairs"], o["refresh_ms"], o["resting"])
        if o["rounds"]:
            self._rounds_report(o)
            return
        connections.close_all()

        ctx = mp.get_context("fork")
        tasks: Any
        results: Any
        if o["workers"]:
            tasks, results = ctx.Queue(), ctx.Queue()
        else:
            results = queue.SimpleQueue()
            tasks = _Inline(results, backend_pid())
        workers = [
            ctx.Process(target=_worker, args=(tasks, results, o["profile"]))
            for _ in range(o["workers"])
        ]
        for w in workers:
            w.start()
        load_start = os.getloadavg()
        period = settings.STRATEGY_TICK_MS / 1000
        # Not measured: the warm-up, at least one refresh period and until every session has
        # run once. A session's first run is never shed (it has not quoted yet), so a start
        # that falls behind keeps first runs seconds late: a start-up transient, printed
        # as the warm-up's length, not the steady state the figures are about.
        min_warmup, max_warmup = o["refresh_ms"] / 1000, 6 * o["refresh_ms"] / 1000
        start = time.monotonic()
        end = start + max_warmup + o["seconds"]
        burner = None
        if o["background_load"]:
            burner = ctx.Process(target=_burn, args=(end + 5,), daemon=True)
            burner.start()
        never_ran = StrategySession.objects.filter(
            exchange_id=VENUE, state=SessionState.RUNNING, last_run_at__isnull=True
        )
        tick_backend = backend_pid()
        tick_db_cpu, tick_cpu = backend_cpu_seconds(tick_backend), time.process_time()
        ticks = 0
        measured_from = end  # set when the warm-up ends
        warmup = max_warmup
        tick_times: list[float] = []
        batches_sent: list[tuple[float, int]] = []
        loads: list[Load] = []  # what each measured tick saw (its heartbeat, system status)
        guards: list[Any] = []  # each tick's per-tick checks
        next_tick = start
        while time.monotonic() < end:
            t0, t0_wall = time.monotonic(), time.time()
            if measured_from == end and t0 - start >= min_warmup and ticks % 4 == 0:
                if t0 - start >= max_warmup or not never_ran.exists():
                    measured_from, warmup = t0, t0 - start
                    end = measured_from + o["seconds"]
            result = strategy_tick()
            tick_times.append((time.monotonic() - t0) * 1000)
            if result.load is not None and t0 >= measured_from:
                loads.append(result.load)
            ticks += 1
            for message in messages(result):  # in strategy_tick_task's order
                if isinstance(message, MarketNeed):
                    tasks.put((message.exchange_id, message.symbol, message.with_last, True))
                else:
                    tasks.put(message)
            # then the per-tick checks, in the tick itself (strategy_tick_task)
            g_cpu, g_db, g0 = time.process_time(), backend_cpu_seconds(tick_backend), time.time()
            guard = sessions_guard(fetch=False)
            guards.append(
                (
                    "guard",
                    guard.ran and not guard.age_only,
                    guard.orders,
                    (g0 - t0_wall) * 1000,  # after the tick's own claim and sends
                    time.process_time() - g_cpu,
                    backend_cpu_seconds(tick_backend) - g_db,
                    guard.age_only,
                    # done before the next tick was due (the loop's schedule, as beat's)
                    time.monotonic() <= next_tick + period,
                )
            )
            for refresh in refreshes_for_checks(result, guard.stale):
                tasks.put((*refresh, False))  # checks only: no decision-record row
            batches_sent.append((t0, len(result.batches)))
            next_tick += period
            time.sleep(max(0.0, next_tick - time.monotonic()))
        load_end = os.getloadavg()  # other processes share the machine: say so
        tick_cpu = time.process_time() - tick_cpu
        tick_db_cpu = backend_cpu_seconds(tick_backend) - tick_db_cpu
        if isinstance(tasks, _Inline):  # the tick's own share, without the inline messages
            tick_cpu -= tasks.cpu
            tick_db_cpu = float("nan")
        for _ in workers:
            tasks.put(None)
        # Collect everything; classify by when the batch was handed out.
        expected = sum(n for _, n in batches_sent)
        measured_batches = sum(n for t, n in batches_sent if t >= measured_from)
        measured_guards = sum(1 for t, _ in batches_sent if t >= measured_from)
        outcomes: list[Any] = []
        for _ in range(expected):
            outcomes.append(results.get())
        for w in workers:
            w.join()
        if burner is not None:
            burner.terminate()
            burner.join()
        elapsed = time.monotonic() - measured_from
        # Batches arrive roughly in order; measure the last `measured_batches` of them.
        measured = outcomes[-measured_batches:] if measured_batches else []
        lateness, intents, runs, cpu, db_cpu = [], 0, 0, 0.0, 0.0
        skipped: dict[str, int] = {}
        for batch in measured:
            for item in batch:
                if item[0] == "cpu":
                    cpu += item[1]
                    db_cpu += item[2]
                    continue
                ran, late, n_intents, reason = item
                if ran:
                    runs += 1
                    lateness.append(late)
                    intents += n_intents
                else:
                    skipped[reason] = skipped.get(reason, 0) + 1
        shed = skipped.pop("shed", 0)
        self.stdout.write(
            "bench-tick: {sessions} sessions, {pairs} pairs, refresh {refresh} ms, tick {tick} ms, "
            "{workers} workers, {seconds} s measured after a {warm:.0f} s warm-up (every session ran once; dry run){bg}".format(
                sessions=o["sessions"],
                pairs=o["pairs"],
                refresh=o["refresh_ms"],
                tick=settings.STRATEGY_TICK_MS,
                workers=o["workers"],
                seconds=o["seconds"],
                warm=warmup,
                bg=", one core kept busy" if o["background_load"] else "",
            )
        )
        self.stdout.write(
            f"  lateness of runs vs due: p50 {_pct(lateness, 0.5):.0f} ms, "
            f"p99 {_pct(lateness, 0.99):.0f} ms, max {max(lateness, default=float('nan')):.0f} ms"
        )
        self.stdout.write(
            f"  session runs/s: {runs / elapsed:.1f}  (runs {runs}, shed {shed} "
            f"[over {settings.STRATEGY_MAX_LATENESS_MS} ms late], skipped "
            f"{sum(skipped.values())} {dict(sorted(skipped.items()))})"
        )
        self.stdout.write(f"  intents/s: {intents / elapsed:.1f}")
        self.stdout.write(
            f"  CPU per session run: worker {1000 * cpu / max(runs, 1):.2f} ms, "
            f"database {1000 * db_cpu / max(runs, 1):.2f} ms (the workers' backends); "
            f"tick: claim p50 {statistics.median(tick_times):.1f} ms over {ticks} ticks, "
            f"CPU {1000 * tick_cpu / max(ticks, 1):.1f} ms + database "
            f"{1000 * tick_db_cpu / max(ticks, 1):.1f} ms per tick"
        )
        g = guards[-measured_guards:] if measured_guards else []
        g_ran = [x for x in g if x[1]]
        g_age = [x for x in g if x[6]]
        g_own = [x for x in g if x[7]]
        self.stdout.write(
            f"  per-tick checks (in the tick): {len(g_own)} of {len(g)} ticks done before the "
            f"next tick was due ({len(g_ran)} full passes, {len(g_age)} age-only, "
            f"{len(g) - len(g_ran) - len(g_age)} found their tick number already checked), "
            f"{statistics.mean([x[2] for x in g_ran] or [0]):.0f} open orders a pass, start "
            f"p50 {_pct([x[3] for x in g], 0.5):.0f} ms / max "
            f"{max((x[3] for x in g), default=float('nan')):.0f} ms into the tick, CPU "
            f"{1000 * statistics.mean([x[4] for x in g_ran] or [0]):.1f} ms + database "
            f"{1000 * statistics.mean([x[5] for x in g_ran] or [0]):.1f} ms a full pass "
            f"(in the tick's CPU above)"
        )
        saturated = [x for x in loads if x.saturated]
        self.stdout.write(
            f"  saturation (the tick's heartbeat, /health/system-status): saturated in "
            f"{len(saturated)} of {len(loads)} ticks; max runs in flight "
            f"{max((x.in_flight for x in loads), default=0)} "
            f"(cap {settings.STRATEGY_TICK_MAX_IN_FLIGHT}), max oldest wait "
            f"{max((x.oldest_wait_ms for x in loads), default=0)} ms, max shed in a minute "
            f"{max((x.shed_last_minute for x in loads), default=0)}"
        )
        self._profile_print(o["profile"])
        self.stdout.write(
            f"  machine load average (1/5/15 min, {os.cpu_count()} CPUs): "
            f"{'/'.join(f'{x:.2f}' for x in load_start)} at start, "
            f"{'/'.join(f'{x:.2f}' for x in load_end)} at end"
        )
