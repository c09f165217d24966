"""The `/market` socket.io namespace (CONTRACT "Market data socket").

Client → server: `subscribeOrderBook {exchange, symbol}`, `subscribeOHLCV {exchange, symbol,
timeframe}`, `subscribeTicker {exchange, symbol}`, `subscribeTickers {exchange, symbols}`,
`unsubscribeData {type, exchange, symbol}`. Server → client: `connected` on connect,
`orderBookData` / `OHLCVData` / `tickerData` / `tickersData` as `{data}`, `error {message}`
for anything refused (bad payload, unknown venue or symbol, too many subscriptions).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio
import structlog
from django.db import close_old_connections

from realtime.feeds import OHLCV, ORDERBOOK, TICKER, TICKERS, FeedError, Topic, topic_validate
from realtime.hub import Hub, SubscriptionLimit

log = structlog.get_logger(__name__)
NAMESPACE = "/market"
MAX_SYMBOLS = 50
VALIDATION_TTL_S = 30.0  # a venue's listing changes rarely; markets are cached longer anyway
# unsubscribeData's `type`, as the frontend spells it, to our kinds.
_TYPES = {"orderbook": ORDERBOOK, "ohlcv": OHLCV, "ticker": TICKER, "tickers": TICKERS}


def _text(data: dict[str, Any], key: str, limit: int = 41) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise FeedError(f"{key}: required, a string of at most {limit} characters")
    return value


def _check(topic: Topic) -> str | None:
    """Runs in a worker thread (it reads the database): like every request, it starts and ends
    with Django's close_old_connections, so the thread's connection is closed once too old
    (CONN_MAX_AGE) or broken, instead of staying open for the life of the thread."""
    close_old_connections()
    try:
        topic_validate(topic)
    except FeedError as exc:
        return str(exc)
    finally:
        close_old_connections()
    return None


class MarketNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # python-socketio ships no type hints
    def __init__(
        self, *, period_s: float, max_per_client: int, clock: Any = time.monotonic
    ) -> None:
        super().__init__(NAMESPACE)
        self.hub = Hub(emit=self._emit_room, period_s=period_s, max_per_client=max_per_client)
        self.clock = clock
        # Validation of a topic is shared too: one check for a burst of identical
        # subscriptions (in flight: one task; done: its answer for VALIDATION_TTL_S).
        self._checked: dict[str, tuple[float, str | None]] = {}
        self._checking: dict[str, asyncio.Task[str | None]] = {}

    async def _validate(self, topic: Topic) -> None:
        room = topic.room
        hit = self._checked.get(room)
        if hit is None or hit[0] <= self.clock():
            task = self._checking.get(room)
            if task is None:
                task = asyncio.create_task(asyncio.to_thread(_check, topic))
                self._checking[room] = task
            try:
                error = await asyncio.shield(task)
            finally:
                self._checking.pop(room, None)
            hit = (self.clock() + VALIDATION_TTL_S, error)
            if len(self._checked) > 10_000:
                self._checked.clear()
            self._checked[room] = hit
        if hit[1] is not None:
            raise FeedError(hit[1])

    async def _emit_room(self, event: str, payload: Any, room: str) -> None:
        await self.emit(event, payload, room=room)

    async def _emit_sid(self, event: str, payload: Any, sid: str) -> None:
        await self.emit(event, payload, to=sid)

    async def _error(self, sid: str, message: str) -> None:
        await self.emit("error", {"message": message}, to=sid)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self.emit("connected", {"message": "connected to /market", "clientId": sid}, to=sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await self.hub.drop(sid)

    async def _subscribe(self, sid: str, data: Any, kind: str) -> None:
        try:
            if not isinstance(data, dict):
                raise FeedError("payload must be an object")
            exchange = _text(data, "exchange", 32)
            timeframe = ""
            if kind == TICKERS:
                raw = data.get("symbols")
                if not isinstance(raw, list) or not raw or len(raw) > MAX_SYMBOLS:
                    raise FeedError(f"symbols: a list of 1 to {MAX_SYMBOLS} symbols")
                symbols = tuple(sorted({_text({"s": s}, "s") for s in raw}))
            else:
                symbols = (_text(data, "symbol"),)
            if kind == OHLCV:
                timeframe = _text(data, "timeframe", 4)
            topic = Topic(kind=kind, exchange=exchange, symbols=symbols, timeframe=timeframe)
            await self._validate(topic)
        except FeedError as exc:
            await self._error(sid, str(exc))
            return
        try:
            added = await self.hub.subscribe(sid, topic, send_to=self._emit_sid)
        except SubscriptionLimit as exc:
            await self._error(sid, str(exc))
            return
        if added:
            await self.enter_room(sid, topic.room)

    async def on_subscribeOrderBook(self, sid: str, data: Any = None) -> None:  # noqa: N802
        await self._subscribe(sid, data, ORDERBOOK)

    async def on_subscribeOHLCV(self, sid: str, data: Any = None) -> None:  # noqa: N802
        await self._subscribe(sid, data, OHLCV)

    async def on_subscribeTicker(self, sid: str, data: Any = None) -> None:  # noqa: N802
        await self._subscribe(sid, data, TICKER)

    async def on_subscribeTickers(self, sid: str, data: Any = None) -> None:  # noqa: N802
        await self._subscribe(sid, data, TICKERS)

    async def on_unsubscribeData(self, sid: str, data: Any = None) -> None:  # noqa: N802
        if not isinstance(data, dict) or str(data.get("type", "")).lower() not in _TYPES:
            await self._error(sid, f"type: one of {', '.join(_TYPES)}")
            return
        kind = _TYPES[str(data["type"]).lower()]
        exchange, symbol = data.get("exchange"), data.get("symbol")

        def match(topic: Topic) -> bool:
            return (
                topic.kind == kind
                and (exchange is None or topic.exchange == exchange)
                and (symbol is None or symbol in topic.symbols)
            )

        for room in await self.hub.unsubscribe(sid, match):
            await self.leave_room(sid, room)
