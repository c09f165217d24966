"""`manage.py ledger_verify`: check every ledger invariant; exit 1 on any violation."""

from __future__ import annotations

from typing import Any

import structlog
from django.core.management.base import BaseCommand, CommandError

from ledger.selectors import ledger_verify_report

log = structlog.get_logger(__name__)


class Command(BaseCommand):
    help = (
        "Check ledger invariants: every entry balances per asset, cached balances equal the "
        "sum of postings, no account breaks its balance flag (no negative liability)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--max-lines", type=int, default=200, help="Violations to print.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = ledger_verify_report()
        self.stdout.write(
            f"ledger_verify: {report.entries} entries, {report.postings} postings, "
            f"{report.accounts} accounts checked"
        )
        for line in report.violations[: options["max_lines"]]:
            self.stdout.write(f"  VIOLATION {line}")
        if len(report.violations) > options["max_lines"]:
            self.stdout.write(f"  ... and {len(report.violations) - options['max_lines']} more")
        if not report.ok:
            log.error("ledger_verify_failed", violations=len(report.violations))
            raise CommandError(f"ledger_verify: {len(report.violations)} violation(s)")
        log.info("ledger_verify_ok", entries=report.entries, accounts=report.accounts)
        self.stdout.write("ledger_verify: OK, 0 violations")
