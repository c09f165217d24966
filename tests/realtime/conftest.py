"""A live ASGI server (uvicorn, in a thread) serving mrmarket.asgi's app on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import DEFAULT_DB_ALIAS

from exchanges import demo as exchanges_demo


def free_port(first: int = 19500, last: int = 19599) -> int:
    """A free loopback port of this project's range (any free one if the range is full)."""
    for port in range(first, last + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_asgi(transactional_db, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The demo venue seeded (committed, so the server thread sees it) and the app served.

    The server's threads (Django's per-request threads, the hub's fetch threads) each open
    their own database connection. With the persistent connections of settings
    (CONN_MAX_AGE 60) nothing closes them when the server stops, and the test database cannot
    be dropped at the end of the session ("being accessed by other users"). For the server's
    life every connection is closed at the end of the work that opened it (end of request,
    end of fetch: Django's close_old_connections with CONN_MAX_AGE 0); the threads are joined
    before the test ends.
    """
    import uvicorn
    from django.db import connections

    db_settings = connections.settings[DEFAULT_DB_ALIAS]
    max_age = db_settings["CONN_MAX_AGE"]
    db_settings["CONN_MAX_AGE"] = 0

    settings.MARKET_SOCKET_REFRESH_MS = 200
    settings.MARKET_SOCKET_MAX_SUBSCRIPTIONS = 3
    exchanges_demo.seed()
    from mrmarket.asgi import django_application
    from realtime.server import asgi_application

    # Other tests' threads may still hold connections (closed when collected): only the
    # server's own must be gone at the end.
    before = _other_sessions(at_most=10**6)
    port = free_port()
    config = uvicorn.Config(
        asgi_application(django_application),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):  # bounded: started within 50 s on a loaded machine
        if server.started:
            break
        time.sleep(0.1)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # uvicorn's loop ends with asyncio.run, which joins its default executor (the hub's
        # fetch threads) before the thread ends. Bounded: a loaded machine, not a hang.
        thread.join(timeout=60)
        db_settings["CONN_MAX_AGE"] = max_age
    assert not thread.is_alive(), "uvicorn did not stop"
    assert _other_sessions(at_most=before) <= before, (
        "the server's threads left database connections open"
    )


def _other_sessions(*, at_most: int) -> int:
    """Backends on the test database other than this thread's (PostgreSQL; 0 elsewhere),
    polled until at most `at_most`: a closed connection's backend leaves pg_stat_activity a
    moment later (bounded)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    count = 0
    for _ in range(100):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            count = cursor.fetchone()[0]
        if count <= at_most:
            break
        time.sleep(0.1)
    return int(count)
