"""Seed the embedded demo: the operator account, a demo user with a token, and each app's demo data.

Safe to run on every start: everything is get-or-create.
"""

from __future__ import annotations

import importlib
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from mrmarket.models import User
from mrmarket.services import operator_ensure, user_token_issue

DEMO_USER_ID = uuid.UUID("5e7d1a2b-0c3f-4d5e-8f60-7a8b9c0d1e2f")
# Apps that ship demo data expose `demo.seed() -> list[str]` (lines to print).
DEMO_MODULES = ["exchanges.demo", "orders.demo", "strategy.demo", "campaigns.demo"]


class Command(BaseCommand):
    help = "Create the operator account, a demo user and token, and the apps' demo data."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            # Demo users, tokens and fake balances have no place next to real money.
            raise CommandError("seed_demo is refused in production (MRMARKET_ENV=production)")
        with transaction.atomic():
            operator_ensure(password=settings.ADMIN_PASSWORD)
            user, created = User.objects.get_or_create(
                pk=DEMO_USER_ID,
                defaults={
                    "username": "demo",
                    "full_name": "Demo User",
                    "is_mixin_user": True,
                    "identity_number": "7000000001",
                },
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            token, _ = user_token_issue(user=user, label="seed_demo")
        lines = [
            f"operator login : {settings.ADMIN_USERNAME} / {settings.ADMIN_PASSWORD}",
            f"demo user id   : {DEMO_USER_ID}",
            f"demo user token: {token}",
        ]
        for module_name in DEMO_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            lines.extend(module.seed())
        self.stdout.write("\n".join(lines))
