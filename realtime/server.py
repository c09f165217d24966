"""The ASGI application: socket.io (`/socket.io/`, namespace `/market`) beside Django.

`mrmarket.asgi.application` is what uvicorn serves in production and under `make run`:
engine.io requests go to python-socketio's server, everything else to Django's ASGI
handler (each request's sync code in its own thread, as Django does under ASGI).
"""

from __future__ import annotations

from typing import Any

import socketio
from django.conf import settings

from realtime.namespace import MarketNamespace


def socket_server() -> tuple[socketio.AsyncServer, MarketNamespace]:
    # CORS open (CONTRACT): the market data is public and needs no credentials.
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
    namespace = MarketNamespace(
        period_s=settings.MARKET_SOCKET_REFRESH_MS / 1000,
        max_per_client=settings.MARKET_SOCKET_MAX_SUBSCRIPTIONS,
    )
    sio.register_namespace(namespace)
    return sio, namespace


def asgi_application(django_app: Any) -> socketio.ASGIApp:
    sio, _ = socket_server()
    return socketio.ASGIApp(sio, other_asgi_app=django_app, socketio_path="socket.io")
