"""`manage.py ledger_bench`: concurrent writers against the real ledger write path.

`make bench-ledger` runs it on PostgreSQL. Each writer is a forked process (its own DB
connection, no shared GIL) calling `ledger_transfer_create` exactly as the apps do. Every
run uses a fresh asset id, so its accounts are new and runs never interfere; the accounts
are funded first (not timed), then the writers start together on a barrier.

Transfers pick two distinct user accounts at random; with probability `--hot-share` one
side is one of the `--hot` hot accounts, which is where row-lock contention lives. Amounts
are small against the funding, so nearly all transfers are affordable; the refused ones
(insufficient funds) are counted separately and are not failures. Any other error is.

Besides throughput and latency it prints the machine's load average around the timed run
(the figures mean little on a busy machine) and the CPU time per transfer spent in the
writers (Python) and, when PostgreSQL runs on this host, in their server backends (read
from /proc). `--python-path` runs the step-by-step Python write instead of the stored
function, for comparison.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import random
import resource
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections

from ledger import codes
from ledger.exceptions import InsufficientFunds
from ledger.selectors import ledger_verify_report
from ledger.services import deposit_credit, ledger_transfer_create
from ledger.services import write as ledger_write
from mrmarket.pg import database_create_if_missing

Transfer = tuple[str, str, str, str]  # key, debit code, credit code, amount


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def _process_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a local process from /proc, or None (not Linux, or not on this host)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu_seconds() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            values = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # user..steal; guest time is already inside user
    return (total - idle) / tick, total / tick


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _writer(
    transfers: list[Transfer],
    asset: str,
    barrier: Any,
    results: Any,
    quiet: bool,
    python_path: bool,
) -> None:
    # The parent closed its connections before forking: this child opens its own.
    if quiet:
        logging.getLogger("ledger").setLevel(logging.WARNING)
    ledger_write.POSTGRES_FUNCTION = not python_path
    latencies: list[float] = []
    ok = refused = errors = 0
    first_error = ""
    connection.ensure_connection()
    backend = _backend_pid()
    barrier.wait()
    server_start = _process_cpu_seconds(backend)
    client_start = _own_cpu_seconds()
    for key, debit_code, credit_code, amount in transfers:
        start = time.perf_counter()
        try:
            ledger_transfer_create(
                idempotency_key=key,
                debit_account=debit_code,
                credit_account=credit_code,
                asset=asset,
                amount=Decimal(amount),
            )
            ok += 1
        except InsufficientFunds:
            refused += 1
        except Exception as exc:  # reported, and the run fails
            errors += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
        latencies.append(time.perf_counter() - start)
    client_cpu = _own_cpu_seconds() - client_start
    server_end = _process_cpu_seconds(backend)
    server_cpu = (
        server_end - server_start if server_start is not None and server_end is not None else None
    )
    connections.close_all()
    results.put((ok, refused, errors, first_error, latencies, client_cpu, server_cpu))


class Command(BaseCommand):
    help = "Benchmark concurrent ledger transfers, then run ledger_verify."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--writers", type=int, default=8)
        parser.add_argument("--transfers", type=int, default=20_000)
        parser.add_argument("--accounts", type=int, default=1_000)
        parser.add_argument("--hot", type=int, default=4, help="Hot accounts.")
        parser.add_argument(
            "--hot-share",
            type=float,
            default=0.2,
            help="Share of transfers touching a hot account.",
        )
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--prepare",
            action="store_true",
            help="Create the PostgreSQL database if missing and migrate it first.",
        )
        parser.add_argument("--log-entries", action="store_true", help="Keep per-entry INFO logs.")
        parser.add_argument(
            "--python-path",
            action="store_true",
            help="Write through the step-by-step Python path instead of the stored function.",
        )

    def handle(self, *args: Any, **o: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("ledger_bench writes test money; it refuses to run in production.")
        if not settings.IS_POSTGRES:
            raise CommandError("ledger_bench needs PostgreSQL: set DATABASE_URL=postgres://...")
        if o["prepare"]:
            database_create_if_missing()
            call_command("migrate", verbosity=0)
        quiet = not o["log_entries"]
        if quiet:
            logging.getLogger("ledger").setLevel(logging.WARNING)

        rng = random.Random(o["seed"])  # noqa: S311 - workload shape, not security
        run = uuid.uuid4().hex[:12]
        asset = str(uuid.uuid4())
        users = [
            codes.user_available(uuid.UUID(int=rng.getrandbits(128))) for _ in range(o["accounts"])
        ]
        hot = users[: o["hot"]]
        path = "python (step by step)" if o["python_path"] else "stored function"
        self.stdout.write(
            f"ledger_bench: run {run}, {o['accounts']} accounts ({len(hot)} hot, "
            f"{o['hot_share']:.0%} of transfers), {o['transfers']} transfers, "
            f"{o['writers']} writers, write path: {path}"
        )
        fund_start = time.perf_counter()
        for i, code in enumerate(users):
            deposit_credit(
                idempotency_key=f"bench:{run}:fund:{i}",
                user_id=code.split(":")[1],
                asset=asset,
                amount=Decimal(1000),
                snapshot_id=f"bench:{run}:{i}",
            )
        self.stdout.write(
            f"  funded {len(users)} accounts in {time.perf_counter() - fund_start:.1f}s"
        )

        transfers: list[Transfer] = []
        for n in range(o["transfers"]):
            a, b = rng.sample(users, 2)
            if hot and rng.random() < o["hot_share"]:
                h = rng.choice(hot)
                a, b = (h, b if b != h else a) if rng.random() < 0.5 else (a if a != h else b, h)
            amount = f"{rng.randint(1, 500) / 100:.2f}"
            transfers.append((f"bench:{run}:t:{n}", a, b, amount))

        connections.close_all()
        ctx = mp.get_context("fork")
        barrier = ctx.Barrier(o["writers"] + 1)
        results = ctx.Queue()
        procs = [
            ctx.Process(
                target=_writer,
                args=(
                    transfers[w :: o["writers"]],
                    asset,
                    barrier,
                    results,
                    quiet,
                    o["python_path"],
                ),
            )
            for w in range(o["writers"])
        ]
        for p in procs:
            p.start()
        load_before = os.getloadavg()
        machine_before = _machine_cpu_seconds()
        barrier.wait()
        start = time.perf_counter()
        collected = [results.get() for _ in procs]
        wall = time.perf_counter() - start
        load_after = os.getloadavg()
        machine_after = _machine_cpu_seconds()
        for p in procs:
            p.join()

        ok = sum(r[0] for r in collected)
        refused = sum(r[1] for r in collected)
        errors = sum(r[2] for r in collected)
        latencies = sorted(x for r in collected for x in r[4])
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        self.stdout.write(
            f"  {ok} posted, {refused} refused (insufficient funds), {errors} errors in {wall:.2f}s"
        )
        self.stdout.write(
            f"  throughput: {len(latencies) / wall:,.0f} transfers/s; "
            f"latency p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        )
        client_ms = sum(r[5] for r in collected) / len(latencies) * 1000
        servers = [r[6] for r in collected]
        server = (
            f"{sum(servers) / len(latencies) * 1000:.3f} ms"
            if all(x is not None for x in servers)
            else "n/a (server not on this host)"
        )
        self.stdout.write(
            f"  cpu per transfer: writers {client_ms:.3f} ms, server backends {server}; "
            f"{os.cpu_count()} cpus, load average {load_before[0]:.2f} before, "
            f"{load_after[0]:.2f} after (1 min)"
        )
        if machine_before and machine_after and all(x is not None for x in servers):
            # The machine's busy CPU during the run minus this run's own (writers + backends):
            # what other work took, in CPUs (0-2 on a 2-core machine).
            busy = machine_after[0] - machine_before[0]
            ours = sum(r[5] for r in collected) + sum(x for x in servers if x is not None)
            self.stdout.write(
                f"  machine during the run: {busy / wall:.2f} CPUs busy, "
                f"{max(busy - ours, 0.0) / wall:.2f} of them other work"
            )
        report = ledger_verify_report()
        self.stdout.write(
            f"  ledger_verify: {report.entries} entries, {report.accounts} accounts, "
            f"{len(report.violations)} violations"
        )
        for line in report.violations[:20]:
            self.stdout.write(f"    VIOLATION {line}")
        if errors:
            first = next(r[3] for r in collected if r[3])
            raise CommandError(f"ledger_bench: {errors} transfer errors, first: {first}")
        if not report.ok:
            raise CommandError(f"ledger_bench: {len(report.violations)} ledger violations")
