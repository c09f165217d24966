"""`manage.py replay [--order ID] [--since T] [--json]`: rebuild orders from their facts and
compare with the live rows (`reports.replay`); `--decisions --order ID` re-runs the pure
quote builder on each recorded decision (`reports.decisions`). Exit 1 on any difference."""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from reports.decisions import replay_decisions
from reports.replay import Difference, orders_to_replay, replay


class Command(BaseCommand):
    help = "Rebuild orders from append-only facts and report every field that differs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--order", help="One order id.")
        parser.add_argument("--since", help="Orders touched at or after this ISO 8601 time.")
        parser.add_argument(
            "--decisions",
            action="store_true",
            help="Re-run the quote builder on the order's recorded decisions.",
        )
        parser.add_argument("--json", action="store_true", help="Machine-readable output.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None or since.tzinfo is None:
                raise CommandError(
                    "--since must be an ISO 8601 time with a zone, e.g. 2026-01-01T00:00:00Z"
                )
        if options["order"]:
            try:
                uuid.UUID(options["order"])
            except ValueError as exc:
                raise CommandError(
                    f"--order must be an order id (a UUID), got {options['order']!r}"
                ) from exc
        if options["decisions"]:
            if not options["order"]:
                raise CommandError("--decisions needs --order")
            checked, decision_diffs = replay_decisions(order_id=options["order"])
            self._finish(checked, decision_diffs, options, what="decision(s)")
            return
        ids = orders_to_replay(order_id=options["order"], since=since)
        if options["order"] and not ids:
            raise CommandError(f"no order {options['order']}")
        progress = not options["no_progress"] and not options["json"] and len(ids) > 20
        results = replay(ids)
        diffs: list[Difference] = []
        for _order_id, found in tqdm(
            results,
            total=len(ids),
            desc="replay",
            unit="order",
            file=sys.stderr,
            disable=not progress,
        ):
            diffs.extend(found)
        self._finish(len(ids), diffs, options, what="order(s)")

    def _finish(
        self, checked: int, diffs: list[Difference], options: dict[str, Any], *, what: str
    ) -> None:
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {"checked": checked, "differences": [d.as_dict() for d in diffs]}, indent=2
                )
            )
        else:
            for d in diffs:
                self.stdout.write(
                    f"{d.order_id}  {d.field}: facts say {d.expected}, row says {d.actual}"
                )
            self.stdout.write(f"replay: {checked} {what} checked, {len(diffs)} difference(s)")
        if diffs:
            sys.exit(1)
