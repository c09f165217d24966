"""`manage.py report ORDER [--from T] [--to T] [--out FILE]` writes an order's report bundle
(report, facts, SHA-256); `manage.py report --verify FILE` recomputes a bundle from its facts
and checks its hash (exit 1 when it does not hold)."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.models import MarketMakingOrder
from reports.bundle import bundle_build, bundle_verify


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise CommandError(
            f"--{name} must be an ISO 8601 time with a zone, e.g. 2026-01-01T00:00:00Z"
        )
    return parsed


class Command(BaseCommand):
    help = "Write an order's verifiable report bundle, or verify one."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("order", nargs="?", help="The order id.")
        parser.add_argument("--from", dest="start", help="Window start (default: first run).")
        parser.add_argument("--to", dest="end", help="Window end (default: now).")
        parser.add_argument("--out", help="Write the bundle here (default: standard output).")
        parser.add_argument("--verify", metavar="FILE", help="Verify a bundle file instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verify"]:
            bundle = json.loads(Path(options["verify"]).read_text(encoding="utf-8"))
            problems = bundle_verify(bundle)
            for p in problems:
                self.stdout.write(f"report: {p}")
            self.stdout.write(
                f"report: {'FAILED' if problems else 'ok'} sha256 {bundle.get('hash')}"
            )
            if problems:
                sys.exit(1)
            return
        if not options["order"]:
            raise CommandError("give an order id, or --verify FILE")
        try:
            uuid.UUID(options["order"])
        except ValueError as exc:
            raise CommandError(f"the order id must be a UUID, got {options['order']!r}") from exc
        if not MarketMakingOrder.objects.filter(pk=options["order"]).exists():
            raise CommandError(f"no order {options['order']}")
        start = _when(options["start"], "from")
        end = _when(options["end"], "to") or timezone.now()
        if start is not None and start >= end:
            raise CommandError("--from must be before --to")
        bundle = bundle_build(order_id=options["order"], start=start, end=end)
        text = json.dumps(bundle, indent=2, sort_keys=True)
        if options["out"]:
            Path(options["out"]).write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"report: wrote {options['out']} sha256 {bundle['hash']}")
        else:
            self.stdout.write(text)
