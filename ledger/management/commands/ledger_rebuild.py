"""`manage.py ledger_rebuild`: recompute every cached balance from postings (recovery, replay)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ledger.services import ledger_balances_rebuild


class Command(BaseCommand):
    help = "Recompute every account's cached balances from its postings and entry statuses."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--chunk-size", type=int, default=500, help="Accounts per transaction.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(chunks: Iterable[int]) -> Iterable[int]:
            return tqdm(chunks, desc="ledger_rebuild (chunks)", unit="chunk", file=sys.stderr)

        changed = ledger_balances_rebuild(
            progress=None if options["no_progress"] else progress,
            chunk_size=options["chunk_size"],
        )
        self.stdout.write(f"ledger_rebuild: {changed} account(s) corrected")
