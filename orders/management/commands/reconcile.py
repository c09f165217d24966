"""`manage.py reconcile [--venue V] [--asset A] [--json] [--release]`: custody reconciliation
now, recorded like the periodic run; exit status 1 on a drift (or an account it could not
read), 0 when every account is in balance."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from orders.models import ReconciliationRun
from orders.services.reconcile import custody_reconcile, reconcile_release

COLUMNS = ("account", "assetId", "expected", "actual", "inTransitOut", "inTransitIn", "drift")
HEADERS = ("account", "asset", "expected", "actual", "in transit out", "in transit in", "drift")


class Command(BaseCommand):
    help = "Compare the ledger's custody accounts with the wallet and the venues now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--venue", help='Only this venue (exchange id), or "mixin".')
        parser.add_argument("--asset", help="Only this asset id.")
        parser.add_argument("--json", action="store_true", help="Print the run as JSON.")
        parser.add_argument(
            "--release",
            action="store_true",
            help="Release the venue halts reconciliation set where this run finds no drift.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        bar = None
        if not options["no_progress"] and not options["json"]:
            bar = tqdm(total=0, desc="reading balances", unit="account", file=sys.stderr)

        def progress(done: int, total: int, label: str) -> None:
            if bar is not None:
                bar.total = total
                bar.set_postfix_str(label)
                bar.update(1)

        run = custody_reconcile(
            venue=options["venue"], asset=options["asset"], source="command", progress=progress
        )
        if bar is not None:
            bar.close()
        released = []
        self._asked_release = bool(options["release"])
        if options["release"]:
            released = reconcile_release(run=run)
        if options["json"]:
            self.stdout.write(json.dumps(_payload(run), indent=2))
        else:
            self._table(run, released)
        if not run.ok:
            raise CommandError(
                f"reconciliation run {run.pk}: {len(run.drifts)} drift(s), "
                f"{len(run.errors)} account(s) unread",
                returncode=1,
            )

    def _table(self, run: ReconciliationRun, released: list[dict[str, str]]) -> None:
        rows = [[str(r[c]) for c in COLUMNS] for r in run.rows]
        widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(HEADERS)]
        line = "  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True))
        self.stdout.write(line)
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
        for drift in run.drifts:
            state = "lasting" if drift["lasting"] else "new"
            self.stdout.write(
                f"drift ({state}) {drift['account']} {drift['assetId']}: {drift['drift']}"
            )
        for error in run.errors:
            self.stdout.write(f"unread: {error}")
        for action in run.actions:
            self.stdout.write(f"{'halted' if 'halt' in action else 'released'}: {action['reason']}")
        if not released and not any("release" in a for a in run.actions):
            self.stdout.write("released: nothing" if self._asked_release else "")
        self.stdout.write(f"run {run.pk}: {'in balance' if run.ok else 'drift'}")


def _payload(run: ReconciliationRun) -> dict[str, Any]:
    return {
        "runId": run.pk,
        "createdAt": run.created_at.isoformat(),
        "ok": run.ok,
        "lasting": run.persistent,
        "rows": run.rows,
        "drifts": run.drifts,
        "errors": run.errors,
        "actions": run.actions,
    }
