"""A live ASGI server (uvicorn, in a thread) serving mrmarket.asgi's app on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

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
    """The demo venue seeded (committed, so the server thread sees it) and the app served."""
    import uvicorn

    settings.MARKET_SOCKET_REFRESH_MS = 200
    settings.MARKET_SOCKET_MAX_SUBSCRIPTIONS = 3
    exchanges_demo.seed()
    from mrmarket.asgi import django_application
    from realtime.server import asgi_application

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
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
