"""Benchmark: N concurrent socket.io clients on one pair cost one upstream fetch per refresh.

Serves the ASGI app (uvicorn, loopback) in this process, connects `--clients` python-socketio
clients (websocket transport) to `/market`, subscribes each to the same paper order book,
and for `--seconds` counts: venue order-book fetches (the gateway calls behind the shared
market-data cache), the hub's fetches of that topic, market-data slots elapsed, and the
order books each client received. Prints the figures with the load average.

Uses the configured database (the demo venue is seeded if missing).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from exchanges import demo as exchanges_demo
from exchanges.models import Exchange
from strategy import marketdata


class Command(BaseCommand):
    help = "N socket clients on one pair: upstream fetches per refresh (prints figures)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--clients", type=int, default=200)
        parser.add_argument("--seconds", type=float, default=15.0)
        parser.add_argument("--symbol", default="BTC/USDT")
        parser.add_argument("--port", type=int, default=19580)

    def handle(self, *args: Any, **opts: Any) -> None:
        import socketio
        import uvicorn

        from mrmarket.asgi import django_application
        from realtime.server import socket_server

        if not Exchange.objects.filter(exchange_id="paper").exists():
            exchanges_demo.seed()
        settings.MARKET_SOCKET_MAX_SUBSCRIPTIONS = max(settings.MARKET_SOCKET_MAX_SUBSCRIPTIONS, 1)
        venue_fetches = self.venue_fetches = [0]
        original = marketdata._fetch

        def counted(exchange_id: str, symbol: str, *, with_last: bool) -> Any:
            venue_fetches[0] += 1
            return original(exchange_id, symbol, with_last=with_last)

        marketdata._fetch = counted
        sio, namespace = socket_server()
        self.hub = namespace.hub
        app = socketio.ASGIApp(sio, other_asgi_app=django_application)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=opts["port"], log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(600):
            if server.started:
                break
            time.sleep(0.1)
        url = f"http://127.0.0.1:{opts['port']}"
        try:
            result = asyncio.run(
                self._clients(url, opts["clients"], opts["symbol"], opts["seconds"])
            )
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            marketdata._fetch = original
        received, elapsed, first_slot, last_slot, fetched, rounds, pushes = result
        slots = last_slot - first_slot + 1
        load = os.getloadavg()
        books = sorted(received)
        self.stdout.write(
            f"clients={opts['clients']} pair=paper {opts['symbol']} seconds={elapsed:.1f} "
            f"refresh={settings.MARKET_SOCKET_REFRESH_MS}ms market-data slots={slots}\n"
            f"topic fetches (pump rounds) in the window={rounds}, room emits={pushes}: "
            f"one fetch per round for all {opts['clients']} subscribers\n"
            f"venue order-book fetches in the window={fetched} "
            f"({fetched / slots:.2f} per slot, for {opts['clients']} clients)\n"
            f"order books received per client in the window: min={books[0]} median={books[len(books) // 2]} "
            f"max={books[-1]} (total {sum(books)})\n"
            f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
        )

    async def _clients(
        self, url: str, count: int, symbol: str, seconds: float
    ) -> tuple[list[int], float, int, int, int, int, int]:
        import socketio

        received = [0] * count
        clients = []

        async def one(i: int) -> None:
            client = socketio.AsyncClient(reconnection=False)

            async def on_book(payload: Any) -> None:
                received[i] += 1

            client.on("orderBookData", on_book, namespace="/market")
            await client.connect(
                url, namespaces=["/market"], transports=["websocket"], wait_timeout=60
            )
            await client.emit(
                "subscribeOrderBook", {"exchange": "paper", "symbol": symbol}, namespace="/market"
            )
            clients.append(client)

        await asyncio.gather(*(one(i) for i in range(count)))
        for _ in range(600):  # the window starts once every client has its first book
            if all(received):
                break
            await asyncio.sleep(0.1)
        first_slot = marketdata.slot_of(marketdata.tick_of(_now()))
        started = time.monotonic()
        fetched_at_start = self.venue_fetches[0]
        rounds_at_start = sum(self.hub.fetches.values())
        pushes_at_start = sum(self.hub.pushes.values())
        received_at_start = list(received)
        await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        last_slot = marketdata.slot_of(marketdata.tick_of(_now()))
        fetched = self.venue_fetches[0] - fetched_at_start
        rounds = sum(self.hub.fetches.values()) - rounds_at_start
        pushes = sum(self.hub.pushes.values()) - pushes_at_start
        in_window = [now - before for now, before in zip(received, received_at_start, strict=True)]
        await asyncio.gather(*(c.disconnect() for c in clients))
        return in_window, elapsed, first_slot, last_slot, fetched, rounds, pushes


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
