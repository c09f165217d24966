"""Shared fixtures. Tests run on SQLite by default; DATABASE_URL / REDIS_URL bring real services."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from mrmarket.services import admin_jwt_issue, operator_ensure, user_token_issue
from tests.factories import UserFactory

# Shared fixtures live in plugins, never in another test module.
pytest_plugins = ["tests.support.order_flow"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(
        reason="needs PostgreSQL: `make test` uses it when 127.0.0.1:5432 answers, or set DATABASE_URL"
    )
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://...")
    for item in items:
        if "postgres" in item.keywords and not settings.IS_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def sent_tasks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Tasks sent by code under test are recorded here instead of reaching a broker (tests
    can assert what was queued, or that nothing was). Eager mode still runs them inline;
    tests marked `redis` send for real."""
    sent: list[tuple] = []
    if "redis" in request.keywords:
        return sent
    from celery.app.task import Task

    original = Task.apply_async

    def capture(self: Task, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        if self.app.conf.task_always_eager:
            return original(self, args, kwargs, **options)
        sent.append((self.name, tuple(args or ()), dict(kwargs or {}), options))
        return None

    monkeypatch.setattr(Task, "apply_async", capture)
    return sent


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Throttle counters live in the cache; every test starts with none. Nor does any test
    inherit the params hashes an earlier (rolled-back) test stored, nor the decoded market
    snapshots of slots an earlier test's clock ran into."""
    from strategy.decisions import params_cache_clear
    from strategy.marketdata import local_snapshots_clear

    cache.clear()
    params_cache_clear()
    local_snapshots_clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def other_user(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def user_api(user) -> APIClient:  # type: ignore[no-untyped-def]
    raw, _ = user_token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def operator(db):  # type: ignore[no-untyped-def]
    return operator_ensure()


@pytest.fixture
def admin_api(operator) -> APIClient:  # type: ignore[no-untyped-def]
    encoded, _ = admin_jwt_issue(user=operator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {encoded}")
    return client
