"""Re-encrypt every stored exchange secret under the current FIELD_ENCRYPTION_KEY (safe to rerun)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from exchanges.services import venue_secrets_rotate


class Command(BaseCommand):
    help = (
        "After setting a new FIELD_ENCRYPTION_KEY and listing the old one in "
        "FIELD_ENCRYPTION_OLD_KEYS, re-encrypt every venue account's secrets with the new key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = venue_secrets_rotate()
        self.stdout.write(f"re-encrypted {rotated} venue account(s)")
