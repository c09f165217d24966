"""Print a bearer token for a user (development and tests). Creates the Mixin user if missing."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mrmarket.models import User
from mrmarket.services import user_token_issue


class Command(BaseCommand):
    help = "Issue a bearer token for the user with this id (a Mixin user_id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")
        parser.add_argument("--name", default="", help="full name when the user is created")

    def handle(self, *args: Any, user_id: str, name: str, **options: Any) -> None:
        try:
            uid = uuid.UUID(user_id)
        except ValueError as exc:
            raise CommandError(f"user_id must be a UUID, got {user_id!r}") from exc
        user, created = User.objects.get_or_create(
            pk=uid,
            defaults={"username": f"mixin-{uid}", "is_mixin_user": True, "full_name": name},
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        raw, _ = user_token_issue(user=user, label="issue_token")
        self.stdout.write(raw)
