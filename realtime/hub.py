"""Shared upstream subscriptions of the market socket.

Design:
- A *topic* is (kind, venue, symbols, timeframe) (`realtime.feeds.Topic`). However many
  clients subscribe to one topic, the hub runs one pump for it: every refresh period it
  fetches the topic once (in a worker thread: the fetch reads the shared market-data cache
  and the database) and emits the payload once to the topic's socket.io room, which
  python-socketio fans out to every member. Upstream cost is per topic, not per client.
- The pump starts with the first subscriber and ends when the last one leaves; a client
  joining a running topic gets the last payload at once instead of waiting a period.
- Each client holds at most `max_per_client` topics (a subscription past that is refused
  with an `error` event), and every topic of a client is dropped when it disconnects.
- The period is the market-data refresh rate (`MARKET_SOCKET_REFRESH_MS`, by default the
  strategy's market-data slot), so a socket sees each new book once.
- All state is in this process; the venue fetch behind an order-book topic is
  single-flight across processes too (`strategy.marketdata.market_data_refresh`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.db import close_old_connections

from realtime.feeds import Topic, feed_fetch

log = structlog.get_logger(__name__)
Emit = Callable[[str, Any, str], Awaitable[None]]  # (event, payload, room)


class SubscriptionLimit(Exception):
    pass


@dataclass
class _TopicState:
    topic: Topic
    subscribers: set[str] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    last: Any = None


def _fetch_in_thread(fetch: Callable[[Topic], Any], topic: Topic) -> Any:
    close_old_connections()
    try:
        return fetch(topic)
    finally:
        close_old_connections()


@dataclass
class Hub:
    emit: Emit
    period_s: float
    max_per_client: int
    fetch: Callable[[Topic], Any] = feed_fetch
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    topics: dict[str, _TopicState] = field(default_factory=dict)
    clients: dict[str, set[str]] = field(default_factory=dict)
    fetches: dict[str, int] = field(default_factory=dict)  # upstream fetches per room
    pushes: dict[str, int] = field(default_factory=dict)  # emits per room

    async def subscribe(self, sid: str, topic: Topic, *, send_to: Emit | None = None) -> bool:
        """Add `sid` to `topic`; False if it already was. SubscriptionLimit past the bound."""
        rooms = self.clients.setdefault(sid, set())
        if topic.room in rooms:
            return False
        if len(rooms) >= self.max_per_client:
            raise SubscriptionLimit(
                f"at most {self.max_per_client} subscriptions per connection; "
                "unsubscribe from one first"
            )
        rooms.add(topic.room)
        state = self.topics.get(topic.room)
        if state is None:
            state = self.topics[topic.room] = _TopicState(topic=topic)
        state.subscribers.add(sid)
        if state.task is None or state.task.done():
            state.task = asyncio.create_task(self._pump(topic.room), name=f"pump {topic.room}")
        elif state.last is not None and send_to is not None:
            await send_to(topic.event, {"data": state.last}, sid)
        return True

    async def unsubscribe(self, sid: str, match: Callable[[Topic], bool]) -> list[str]:
        """Remove `sid` from its topics that `match`; returns their rooms."""
        left = [r for r in self.clients.get(sid, set()) if match(self.topics[r].topic)]
        for room in left:
            self._leave(sid, room)
        return left

    async def drop(self, sid: str) -> None:
        for room in list(self.clients.get(sid, set())):
            self._leave(sid, room)
        self.clients.pop(sid, None)

    def _leave(self, sid: str, room: str) -> None:
        self.clients.get(sid, set()).discard(room)
        state = self.topics.get(room)
        if state is None:
            return
        state.subscribers.discard(sid)
        if not state.subscribers:
            if state.task is not None:
                state.task.cancel()
            del self.topics[room]

    def rooms_of(self, sid: str) -> set[str]:
        return set(self.clients.get(sid, set()))

    async def _pump(self, room: str) -> None:
        state = self.topics[room]
        topic = state.topic
        while self.topics.get(room) is state and state.subscribers:
            try:
                payload = await asyncio.to_thread(_fetch_in_thread, self.fetch, topic)
                self.fetches[room] = self.fetches.get(room, 0) + 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a venue fault must not end the topic: try next period
                log.warning("market_socket_fetch_failed", room=room, error_type=type(exc).__name__)
                payload = None
            if payload is not None and self.topics.get(room) is state:
                state.last = payload
                await self.emit(topic.event, {"data": payload}, room)
                self.pushes[room] = self.pushes.get(room, 0) + 1
            await self.sleep(self.period_s)
