"""The hub: one upstream fetch per topic per period, whatever the number of subscribers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from realtime.feeds import Topic
from realtime.hub import Hub, SubscriptionLimit

BOOK = Topic(kind="orderbook", exchange="paper", symbols=("BTC/USDT",))
ETH = Topic(kind="orderbook", exchange="paper", symbols=("ETH/USDT",))


class Periods:
    """A sleep that waits for the test to release each period (no wall clock)."""

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.waiting = 0

    async def __call__(self, seconds: float) -> None:
        self.waiting += 1
        await self.released.wait()
        self.released.clear()
        self.waiting -= 1

    async def next(self, pumps: int) -> None:
        for _ in range(200):
            if self.waiting >= pumps:
                break
            await asyncio.sleep(0)
        self.released.set()
        for _ in range(200):
            await asyncio.sleep(0)


def _hub(periods: Periods, emitted: list[tuple[str, Any, str]], fetched: list[Topic]) -> Hub:
    async def emit(event: str, payload: Any, room: str) -> None:
        emitted.append((event, payload, room))

    def fetch(topic: Topic) -> Any:
        fetched.append(topic)
        return {"symbol": topic.symbols[0], "n": len(fetched)}

    return Hub(emit=emit, period_s=1.0, max_per_client=2, fetch=fetch, sleep=periods)


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0.01)


def test_many_subscribers_share_one_fetch_per_period() -> None:
    async def scenario() -> None:
        periods = Periods()
        emitted: list[tuple[str, Any, str]] = []
        fetched: list[Topic] = []
        hub = _hub(periods, emitted, fetched)
        for i in range(200):
            await hub.subscribe(f"client{i}", BOOK)
        await _settle()
        assert len(fetched) == 1 and len(emitted) == 1  # one fetch, one room emit
        for _ in range(3):
            await periods.next(1)
            await _settle()
        assert len(fetched) == 4 and len(emitted) == 4
        assert {room for _, _, room in emitted} == {BOOK.room}
        assert emitted[0][0] == "orderBookData" and emitted[0][1]["data"]["symbol"] == "BTC/USDT"
        for i in range(200):
            await hub.drop(f"client{i}")
        await _settle()
        assert hub.topics == {}

    asyncio.run(scenario())


def test_subscriptions_per_client_are_bounded_and_dropped_on_disconnect() -> None:
    async def scenario() -> None:
        periods = Periods()
        emitted: list[tuple[str, Any, str]] = []
        fetched: list[Topic] = []
        hub = _hub(periods, emitted, fetched)
        assert await hub.subscribe("a", BOOK) is True
        assert await hub.subscribe("a", BOOK) is False  # again: no second subscription
        await hub.subscribe("a", ETH)
        with pytest.raises(SubscriptionLimit):
            await hub.subscribe("a", Topic(kind="ticker", exchange="paper", symbols=("X/Y",)))
        assert hub.rooms_of("a") == {BOOK.room, ETH.room}
        await hub.unsubscribe("a", lambda t: t.symbols == ("ETH/USDT",))
        assert set(hub.topics) == {BOOK.room}
        await hub.drop("a")
        await _settle()
        assert hub.topics == {} and hub.clients == {}

    asyncio.run(scenario())


def test_a_late_joiner_gets_the_last_payload_at_once() -> None:
    async def scenario() -> None:
        periods = Periods()
        emitted: list[tuple[str, Any, str]] = []
        fetched: list[Topic] = []
        hub = _hub(periods, emitted, fetched)
        await hub.subscribe("a", BOOK)
        await _settle()
        direct: list[tuple[str, Any, str]] = []

        async def send_to(event: str, payload: Any, sid: str) -> None:
            direct.append((event, payload, sid))

        await hub.subscribe("b", BOOK, send_to=send_to)
        assert direct == [("orderBookData", {"data": {"symbol": "BTC/USDT", "n": 1}}, "b")]
        assert len(fetched) == 1

    asyncio.run(scenario())


def test_a_failing_fetch_keeps_the_topic_alive() -> None:
    async def scenario() -> None:
        periods, emitted = Periods(), []
        calls = []

        async def emit(event: str, payload: Any, room: str) -> None:
            emitted.append(payload)

        def fetch(topic: Topic) -> Any:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("venue down")
            return {"ok": True}

        hub = Hub(emit=emit, period_s=1, max_per_client=5, fetch=fetch, sleep=periods)
        await hub.subscribe("a", BOOK)
        await _settle()
        assert emitted == []
        await periods.next(1)
        await _settle()
        assert emitted == [{"data": {"ok": True}}]

    asyncio.run(scenario())
