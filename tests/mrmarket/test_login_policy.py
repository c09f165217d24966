"""One login policy for the API and the console; throttles that hold under concurrency."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from mrmarket import throttles
from mrmarket.enums import AuditOutcome
from mrmarket.models import AuditEvent, AuthToken
from mrmarket.services import operator_ensure

pytestmark = pytest.mark.django_db

PASSWORD = "Right-Password-42"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def console_operator(settings):  # type: ignore[no-untyped-def]
    settings.ADMIN_PASSWORD = PASSWORD
    return operator_ensure(password=PASSWORD)


def _console_login(client: Client, password: str, username: str = "admin") -> bool:
    client.post("/console/login/?next=/console/", {"username": username, "password": password})
    return "_auth_user_id" in client.session


def test_console_login_is_throttled_and_the_right_password_is_then_refused(
    console_operator, settings
) -> None:
    settings.LOGIN_LOCKOUT_FAILURES = 10
    client = Client()
    results = [_console_login(client, f"guess-{i}") for i in range(12)]
    assert results == [False] * 12
    # the 6th try onwards were refused before the password was looked at
    assert not _console_login(client, PASSWORD)
    refused = AuditEvent.objects.filter(action="auth.login", outcome=AuditOutcome.REJECTED)
    assert refused.filter(reason="invalid credentials").count() == 5
    assert refused.filter(reason="login throttled").count() == 8
    assert all(e.payload["channel"] == "console" for e in refused)


def test_console_and_api_share_one_throttle_per_address(console_operator) -> None:
    # given 5 wrong console tries from one address
    client = Client()
    for i in range(5):
        _console_login(client, f"guess-{i}")
    # then the API refuses the right password from the same address
    response = APIClient().post("/auth/login", {"password": _sha(PASSWORD)}, format="json")
    assert response.status_code == 429
    assert not AuthToken.objects.exists()


def test_an_account_is_locked_out_after_repeated_failures_from_many_addresses(
    console_operator, settings
) -> None:
    settings.LOGIN_LOCKOUT_FAILURES = 3
    for i in range(3):
        client = Client(REMOTE_ADDR=f"10.0.0.{i + 1}")
        assert not _console_login(client, f"guess-{i}")
    # a fresh address with the right password is refused while the lock lasts
    assert not _console_login(Client(REMOTE_ADDR="10.0.0.99"), PASSWORD)
    assert AuditEvent.objects.filter(reason="login locked").count() == 1
    # another account is not locked
    operator_ensure(username="other-op", password=PASSWORD)
    assert _console_login(Client(REMOTE_ADDR="10.0.0.99"), PASSWORD, username="other-op")


def test_a_successful_console_login_is_audited(console_operator) -> None:
    assert _console_login(Client(), PASSWORD)
    event = AuditEvent.objects.get(action="auth.login", outcome=AuditOutcome.OK)
    assert event.actor == console_operator
    assert event.payload == {"channel": "console"}


def test_failed_bearer_authentications_are_throttled(api, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "auth_failure": "3/hour",  # hour windows: a busy machine cannot outlast them
        },
    }
    api.credentials(HTTP_AUTHORIZATION="Bearer mmu_not-a-token")
    statuses = [api.get("/auth/me").status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert api.get("/auth/me")["Retry-After"]


def test_rejected_audit_rows_are_rate_limited_per_address(api, settings) -> None:
    settings.AUDIT_REJECTED_PER_MINUTE = 5
    api.credentials(HTTP_AUTHORIZATION="Bearer mmu_not-a-token")
    for _ in range(40):
        api.get("/auth/me")
    rows = AuditEvent.objects.all()
    assert rows.filter(action="GET /auth/me").count() == 5
    assert rows.filter(action="audit.suppressed").count() == 1
    assert rows.count() == 6


def test_the_throttle_window_resets_on_the_injected_clock(monkeypatch, settings) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr(throttles, "clock", lambda: now[0])
    hits = [throttles.counter_hit("t:window", 60).count for _ in range(3)]
    assert hits == [1, 2, 3]
    assert throttles.counter_hit("t:window", 60).wait == 60.0
    now[0] += 30
    assert throttles.counter_hit("t:window", 60).wait == 30.0


# ----------------------------------------------------------------- concurrency (real Redis)


def _parallel(n: int, call) -> list[Any]:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)

    def one(i: int) -> int:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.redis
@pytest.mark.parametrize("clients", [8, 32])
def test_counters_are_exact_under_parallel_hits(clients: int) -> None:
    counts = _parallel(clients, lambda _: throttles.counter_hit("t:race", 3600).count)
    assert sorted(counts) == list(range(1, clients + 1))


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_login_lets_exactly_five_of_32_parallel_clients_through(settings) -> None:
    settings.ADMIN_PASSWORD = PASSWORD
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "5/hour",  # an hour window: a busy machine cannot outlast it
        },
    }

    def attempt(i: int) -> int:
        client = APIClient()
        return client.post("/auth/login", {"password": _sha(f"g{i}")}, format="json").status_code

    statuses = _parallel(32, attempt)
    assert statuses.count(401) == 5
    assert statuses.count(429) == 27


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_anonymous_rate_holds_with_8_parallel_clients(settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "20/hour",  # hour windows: a busy machine cannot outlast them
        },
    }

    def burst(_: int) -> list[int]:
        client = APIClient()
        return [client.get("/campaigns").status_code for _ in range(50)]

    statuses = [s for batch in _parallel(8, burst) for s in batch]
    assert len(statuses) == 400
    assert statuses.count(429) == 380
