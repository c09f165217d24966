"""The /market namespace over a real socket.io connection (python-socketio's client)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import socketio

from tests.contract.table import SOCKET_CLIENT_EVENTS, SOCKET_SERVER_EVENTS

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 60  # seconds any one event may take on a loaded machine (a bound, not an assertion)


class Recorder:
    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = {}
        self.cond = threading.Condition()

    def record(self, name: str, payload: Any) -> None:
        with self.cond:
            self.events.setdefault(name, []).append(payload)
            self.cond.notify_all()

    def wait(self, name: str, count: int = 1) -> list[Any]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.events.get(name, [])) >= count, timeout=WAIT)
        assert ok, f"{name}: {len(self.events.get(name, []))} of {count} ({self.events.keys()})"
        return self.events[name]


def _client(url: str) -> tuple[socketio.Client, Recorder]:
    recorder = Recorder()
    client = socketio.Client(reconnection=False)
    for name in ("connected", "orderBookData", "tickerData", "tickersData", "OHLCVData", "error"):
        client.on(
            name, lambda payload=None, _n=name: recorder.record(_n, payload), namespace="/market"
        )
    client.connect(
        url, namespaces=["/market"], transports=["polling", "websocket"], wait_timeout=WAIT
    )
    return client, recorder


def test_order_book_updates_reach_a_subscriber(live_asgi: str) -> None:
    client, got = _client(live_asgi)
    try:
        assert got.wait("connected")[0]["clientId"]
        client.emit(
            "subscribeOrderBook", {"exchange": "paper", "symbol": "BTC/USDT"}, namespace="/market"
        )
        books = got.wait("orderBookData", 3)
        data = books[0]["data"]
        assert (data["exchange"], data["symbol"]) == ("paper", "BTC/USDT")
        assert data["bids"] and data["asks"]
        best_bid, best_ask = data["bids"][0], data["asks"][0]
        assert set(best_bid) == {"price", "amount"} and isinstance(best_bid["price"], str)
        assert float(best_bid["price"]) < float(best_ask["price"])
    finally:
        client.disconnect()


def test_every_socket_event_of_the_contract(live_asgi: str) -> None:
    client, got = _client(live_asgi)
    sent: list[str] = []
    emit = client.emit

    def recording_emit(event: str, data: Any = None, namespace: str | None = None) -> None:
        sent.append(event)
        emit(event, data, namespace=namespace)

    client.emit = recording_emit  # type: ignore[method-assign]
    try:
        got.wait("connected")
        ns = "/market"
        client.emit("subscribeTicker", {"exchange": "paper", "symbol": "BTC/USDT"}, namespace=ns)
        client.emit(
            "subscribeTickers",
            {"exchange": "paper", "symbols": ["BTC/USDT", "ETH/USDT"]},
            namespace=ns,
        )
        client.emit(
            "subscribeOHLCV",
            {"exchange": "paper", "symbol": "BTC/USDT", "timeframe": "1m"},
            namespace=ns,
        )
        ticker = got.wait("tickerData")[0]["data"]
        assert ticker["symbol"] == "BTC/USDT" and isinstance(ticker["last"], str)
        tickers = got.wait("tickersData")[0]["data"]["tickers"]
        assert set(tickers) == {"BTC/USDT", "ETH/USDT"}
        candles = got.wait("OHLCVData")[0]["data"]
        assert candles["timeframe"] == "1m" and isinstance(candles["ohlcv"], list)
        # refusals are `error {message}`
        client.emit(
            "subscribeOrderBook", {"exchange": "nowhere", "symbol": "BTC/USDT"}, namespace=ns
        )
        client.emit(
            "subscribeOrderBook", {"exchange": "paper", "symbol": "NOPE/USDT"}, namespace=ns
        )
        client.emit(
            "subscribeOHLCV",
            {"exchange": "paper", "symbol": "BTC/USDT", "timeframe": "7x"},
            namespace=ns,
        )
        client.emit("unsubscribeData", {"type": "weird"}, namespace=ns)
        errors = [e["message"] for e in got.wait("error", 4)]
        assert any("nowhere" in m for m in errors)
        assert any("NOPE/USDT not listed" in m for m in errors)
        assert any("timeframe" in m for m in errors)
        assert any(m.startswith("type:") for m in errors)
        # after unsubscribeData no more tickerData arrives for that topic
        client.emit(
            "unsubscribeData",
            {"type": "ticker", "exchange": "paper", "symbol": "BTC/USDT"},
            namespace=ns,
        )
        client.emit("subscribeOrderBook", {"exchange": "paper", "symbol": "ETH/USDT"}, namespace=ns)
        got.wait("orderBookData", 1)  # the unsubscribe (sent before) has been handled
        before = len(got.events["tickerData"])
        got.wait("orderBookData", 4)  # several periods later
        assert len(got.events["tickerData"]) == before
        # every event of CONTRACT's socket section went both ways (tests/contract/table.py)
        assert set(SOCKET_SERVER_EVENTS) <= set(got.events), set(got.events)
        assert set(SOCKET_CLIENT_EVENTS) <= set(sent), set(SOCKET_CLIENT_EVENTS) - set(sent)
    finally:
        client.disconnect()


def test_a_connection_holds_a_bounded_number_of_subscriptions(live_asgi: str) -> None:
    client, got = _client(live_asgi)
    try:
        got.wait("connected")
        for symbol in ("BTC/USDT", "ETH/USDT", "HMT/USDT", "XIN/USDT"):  # the 4th is one too many
            client.emit(
                "subscribeOrderBook", {"exchange": "paper", "symbol": symbol}, namespace="/market"
            )
        message = got.wait("error")[0]["message"]
        assert message.startswith("at most 3 subscriptions")
        books = got.wait("orderBookData", 3)
        assert {b["data"]["symbol"] for b in books} <= {
            "BTC/USDT",
            "ETH/USDT",
            "HMT/USDT",
            "XIN/USDT",
        }
    finally:
        client.disconnect()
