"""`make soak`: `make run`'s processes with running demo orders, under CPU pressure, bounded.

Starts `scripts/run.sh` (migrate, seed, the supervised Procfile) on this process's
MRMARKET_VAR_DIR and port, opens `--orders` demo orders through the API and pays them
through the fake custody, starts `--burners` busy-loop processes (both cores busy), and
watches for `--minutes`: `/health` every few seconds (web answering), `/health/system-status`
(every flip of `ok` and of each issue's part), the supervisor's status file (crashes and
restarts). Every `--report-every` seconds, and at the end, it prints the orders quoting (a
session with resting orders and a place intent younger than QUOTE_FRESH_SECONDS) out of all,
the messages waiting per queue and the load average. Then it stops everything with SIGINT to
the process group (as Ctrl-C), runs `ledger_verify` and prints the figures. Exit status 1
when a figure fails its bar: a worker crash (`worker` or `tick`), web not answering once, an
order not quoting at the end, ledger_verify not clean.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from exchanges.models import MarketMakingPair
from mrmarket.broker import waiting
from mrmarket.models import User
from mrmarket.services import user_token_issue
from orders.enums import OrderState
from orders.models import MarketMakingOrder
from strategy.enums import IntentKind, TrackedStatus
from strategy.models import OrderIntent, TrackedOrder

DEMO_USER_ID = "5e7d1a2b-0c3f-4d5e-8f60-7a8b9c0d1e2f"  # seed_demo's demo user
BURN = "import time\nwhile True:\n    sum(i * i for i in range(10000))\n"
QUOTE_FRESH_SECONDS = 120  # a quoting order placed an order this recently
WORKERS = ("worker", "tick")  # the Procfile's Celery workers: none may crash


@dataclass
class Watch:
    polls: int = 0
    web_failures: int = 0
    health_flips: list[tuple[str, str]] = field(default_factory=list)  # (time, what)
    first_look: str = ""
    last_ok: bool | None = None
    last_parts: frozenset[str] = frozenset()
    down_seconds: dict[str, float] = field(default_factory=dict)


class Command(BaseCommand):
    help = "Soak make run's processes with running demo orders under CPU pressure."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--minutes", type=float, default=30.0)
        parser.add_argument("--orders", type=int, default=20)
        parser.add_argument("--burners", type=int, default=os.cpu_count() or 2)
        parser.add_argument("--poll", type=float, default=5.0, help="seconds between looks")
        parser.add_argument("--start-timeout", type=float, default=600.0)
        parser.add_argument(
            "--report-every", type=float, default=60.0, help="seconds between progress lines"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        port = int(os.environ.get("MRMARKET_PORT", "8000"))
        base = f"http://127.0.0.1:{port}"
        log_path = Path(settings.VAR_DIR) / "soak-run.log"
        # The CoinGecko stand-in beside this port, so two soaks (or a make run) do not collide.
        env = {**os.environ}
        env.setdefault("COINGECKO_STANDIN_PORT", str(port + 10))
        self.out(
            f"soak: var {settings.VAR_DIR}, port {port}, coingecko stand-in "
            f"{env['COINGECKO_STANDIN_PORT']}, run log {log_path}"
        )
        run = subprocess.Popen(  # noqa: S603 - our own script
            [str(Path(settings.BASE_DIR) / "scripts" / "run.sh")],
            stdout=log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        burners: list[subprocess.Popen[bytes]] = []
        client = httpx.Client(base_url=base, timeout=10.0)
        watch = Watch()
        verdict = 1
        try:
            self._wait_up(client, run, opts["start_timeout"])
            orders = self._open_orders(client, opts["orders"])
            burners = [
                subprocess.Popen([sys.executable, "-c", BURN])  # noqa: S603
                for _ in range(opts["burners"])
            ]
            self.out(f"soak: {len(orders)} orders paid, {len(burners)} burners, load {_load()}")
            deadline = time.monotonic() + opts["minutes"] * 60
            every = max(opts["report_every"], opts["poll"])
            next_report = time.monotonic() + every
            while time.monotonic() < deadline:
                self._poll(client, watch, opts["poll"])
                if time.monotonic() >= next_report:
                    next_report += every
                    self.out(f"soak: {time.strftime('%H:%M:%S')} {self._progress(orders, watch)}")
                time.sleep(opts["poll"])
            quoting = self._quoting(orders)
            backlog = _backlog()
            processes = _read_json(Path(settings.VAR_DIR) / "run" / "processes.json")
        finally:
            for burner in burners:
                burner.kill()
                burner.wait()
            os.killpg(run.pid, signal.SIGINT)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait()
        verdict = self._report(orders, quoting, processes, watch, backlog)
        if verdict:
            raise SystemExit(verdict)

    # -- steps ---------------------------------------------------------------------------
    def out(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()

    def _wait_up(self, client: httpx.Client, run: subprocess.Popen[bytes], bound: float) -> None:
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline:
            if run.poll() is not None:
                raise SystemExit(f"soak: make run exited with {run.returncode}")
            try:
                if client.get("/health/system-status").json().get("ok"):
                    self.out(f"soak: system status ok, load {_load()}")
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(2)
        raise SystemExit("soak: system status never became ok")

    def _open_orders(self, client: httpx.Client, count: int) -> list[str]:
        user = User.objects.get(pk=DEMO_USER_ID)
        token, _ = user_token_issue(user=user, label="soak")
        pairs = list(MarketMakingPair.objects.filter(enable=True).order_by("symbol"))
        orders = []
        for n in range(count):
            pair = pairs[n % len(pairs)]
            response = client.post(
                "/user-orders/market-making/intent",
                json={"marketMakingPairId": str(pair.pk)},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            order_id = response.json()["orderId"]
            call_command("demo_pay", order_id, stdout=open(os.devnull, "w"))  # noqa: SIM115
            orders.append(order_id)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            states = self._states(orders)
            if states.get(OrderState.RUNNING, 0) == len(orders):
                break
            time.sleep(5)
        self.out(f"soak: order states after payment {self._states(orders)}")
        return orders

    def _states(self, orders: list[str]) -> dict[str, int]:
        states: dict[str, int] = {}
        for state in MarketMakingOrder.objects.filter(pk__in=orders).values_list(
            "state", flat=True
        ):
            states[state] = states.get(state, 0) + 1
        return states

    def _poll(self, client: httpx.Client, watch: Watch, period: float) -> None:
        watch.polls += 1
        stamp = time.strftime("%H:%M:%S")
        try:
            client.get("/health").raise_for_status()
        except httpx.HTTPError:
            watch.web_failures += 1
            watch.health_flips.append((stamp, "web did not answer /health"))
            return
        try:
            body = client.get("/health/system-status").json()
        except (httpx.HTTPError, ValueError):
            watch.web_failures += 1
            return
        parts = frozenset(issue["component"] for issue in body.get("issues", []))
        for part in parts:
            watch.down_seconds[part] = watch.down_seconds.get(part, 0.0) + period
        if watch.last_ok is None:
            watch.first_look = f"{stamp} ok={body.get('ok')} down {sorted(parts)}"
        elif body.get("ok") != watch.last_ok or parts != watch.last_parts:
            went = sorted(parts - watch.last_parts)
            back = sorted(watch.last_parts - parts)
            detail = [i["message"][:120] for i in body.get("issues", []) if i["component"] in went]
            watch.health_flips.append(
                (stamp, f"ok={body.get('ok')} down+{went} up+{back} {detail}")
            )
            self.out(f"soak: {stamp} health ok={body.get('ok')} down+{went} up+{back}")
        watch.last_ok, watch.last_parts = body.get("ok"), parts

    def _quoting(self, orders: list[str]) -> dict[str, bool]:
        fresh = timezone.now() - timedelta(seconds=QUOTE_FRESH_SECONDS)
        result = {}
        for order in MarketMakingOrder.objects.filter(pk__in=orders).select_related(
            "strategy_session"
        ):
            session = getattr(order, "strategy_session", None)
            result[str(order.pk)] = bool(
                session
                and TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN).exists()
                and OrderIntent.objects.filter(
                    session=session, kind=IntentKind.PLACE, created_at__gte=fresh
                ).exists()
            )
        return result

    def _progress(self, orders: list[str], watch: Watch) -> str:
        processes = _read_json(Path(settings.VAR_DIR) / "run" / "processes.json")
        crashes = {n: p["crashes"] for n, p in processes.get("processes", {}).items()}
        quoting = sum(self._quoting(orders).values())
        return (
            f"orders quoting {quoting}/{len(orders)}, polls {watch.polls}, web failures "
            f"{watch.web_failures}, flips {len(watch.health_flips)}, crashes {crashes}, "
            f"waiting {_backlog()}, load {_load()}"
        )

    def _report(
        self,
        orders: list[str],
        quoting: dict[str, bool],
        processes: dict[str, Any],
        watch: Watch,
        backlog: dict[str, int],
    ) -> int:
        verify = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "ledger_verify"], capture_output=True, text=True
        )
        procs = processes.get("processes", {})
        self.out("\n== soak figures")
        self.out(f"load average at end: {_load()}")
        for name, p in sorted(procs.items()):
            self.out(
                f"process {name}: starts {p['starts']}, crashes {p['crashes']}, "
                f"restarts {max(p['starts'] - 1, 0)}, last exit {p['lastExit']}"
            )
        self.out(f"web: {watch.polls} polls, {watch.web_failures} without an answer")
        self.out(f"health at the first look: {watch.first_look}")
        self.out(f"health flips: {len(watch.health_flips)}")
        for stamp, what in watch.health_flips:
            self.out(f"  {stamp} {what}")
        self.out(f"seconds down by part (poll resolution): {watch.down_seconds}")
        self.out(f"orders quoting at the end: {sum(quoting.values())}/{len(orders)}")
        self.out(f"order states: {self._states(orders)}")
        self.out(f"messages waiting at the end: {backlog}")
        self.out((verify.stdout + verify.stderr).strip()[-2000:])
        worker_crashes = [procs.get(name, {}).get("crashes", -1) for name in WORKERS]
        ok = (
            worker_crashes == [0] * len(WORKERS)
            and watch.web_failures == 0
            and all(quoting.values())
            and len(quoting) == len(orders)
            and verify.returncode == 0
        )
        self.out(f"soak verdict: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    except (FileNotFoundError, ValueError):
        return {}


def _backlog() -> dict[str, int]:
    """Messages waiting per queue of the embedded broker (empty on another broker)."""
    folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in")
    if not folder:
        return {}
    return {queue: len(names) for queue, names in waiting(Path(str(folder))).items()}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
