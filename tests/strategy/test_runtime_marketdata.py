"""Market data is fetched by `market_data_refresh_task`, once per (venue, pair) and slot;
a session run only reads the cache and never calls a venue (0570)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from exchanges.paper.gateway import PaperGateway
from orders.services.seams import order_terms
from strategy import marketdata, tasks
from strategy.models import (
    DecisionRecord,
    MarketSnapshotRecord,
    OrderIntent,
    StrategySession,
    TrackedOrder,
)
from strategy.pmm.guard import sessions_guard
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from strategy.tick import MarketNeed, strategy_tick
from tests.strategy.runtime_support import (
    Market,
    claim,
    committed,
    drain,
    funded_order,
    paper_market,
)

pytestmark = pytest.mark.django_db


def _book_fetches(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = PaperGateway.fetch_order_book

    def spy(self: PaperGateway, symbol: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(symbol)
        return real(self, symbol, *args, **kwargs)

    monkeypatch.setattr(PaperGateway, "fetch_order_book", spy)
    return calls


def _session(monkeypatch: pytest.MonkeyPatch) -> tuple[Market, StrategySession]:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)
    return market, session


def test_a_run_with_an_empty_cache_skips_without_calling_the_venue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, session = _session(monkeypatch)
    fetches = _book_fetches(monkeypatch)
    result = committed(strategy_tick)
    assert result.markets == [MarketNeed(market.venue, market.symbol, False)]
    outcomes = committed(sessions_run, session_ids=result.batches[0])
    assert [(o.ran, o.reason) for o in outcomes] == [(False, "no_market_data")]
    assert fetches == []
    assert OrderIntent.objects.count() == 0
    # The session stayed due: the next tick, with its refresh, runs it.
    result = claim()
    assert fetches == [market.symbol]
    assert [o.ran for o in committed(sessions_run, session_ids=result.batches[0])] == [True]
    assert fetches == [market.symbol]  # the run itself fetched nothing
    session.refresh_from_db()
    assert session.run_count == 1


def test_the_refresh_task_twice_fetches_once_per_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    market, _ = _session(monkeypatch)
    fetches = _book_fetches(monkeypatch)
    tasks.market_data_refresh_task.run(market.venue, market.symbol)
    tasks.market_data_refresh_task.run(market.venue, market.symbol)
    assert fetches == [market.symbol]
    market.clock.advance(marketdata.SLOT_MS / 1000)
    tasks.market_data_refresh_task.run(market.venue, market.symbol)
    tasks.market_data_refresh_task.run(market.venue, market.symbol)
    assert fetches == [market.symbol] * 2


def test_a_refresh_asked_for_the_last_price_upgrades_the_slot_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, _ = _session(monkeypatch)
    fetches: list[bool] = []
    real = marketdata._fetch

    def spy(exchange_id: str, symbol: str, *, with_last: bool) -> Any:
        fetches.append(with_last)
        return real(exchange_id, symbol, with_last=with_last)

    monkeypatch.setattr(marketdata, "_fetch", spy)
    assert marketdata.market_data_refresh(exchange_id=market.venue, symbol=market.symbol)
    tick = marketdata.tick_of(market.clock.dt())
    # A run quoting from the last price does not take a book fetched without it...
    assert (
        marketdata.snapshot_get(
            exchange_id=market.venue, symbol=market.symbol, tick=tick, with_last=True
        )
        is None
    )
    for _ in range(2):
        marketdata.market_data_refresh(
            exchange_id=market.venue, symbol=market.symbol, with_last=True
        )
    assert fetches == [False, True]
    snap = marketdata.snapshot_get(
        exchange_id=market.venue, symbol=market.symbol, tick=tick, with_last=True
    )
    assert snap is not None and snap.last_price is not None


def test_the_refresh_writes_the_slots_snapshot_record_and_runs_only_reference_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, session = _session(monkeypatch)
    result = committed(strategy_tick)
    for need in result.markets:
        tasks.market_data_refresh_task.run(need.exchange_id, need.symbol, need.with_last)
    # given: the refresh wrote the slot's record once, with the snapshot it cached
    (record,) = MarketSnapshotRecord.objects.all()
    tick = marketdata.tick_of(market.clock.dt())
    snap = marketdata.snapshot_get(exchange_id=market.venue, symbol=market.symbol, tick=tick)
    assert snap is not None and snap.record_id == record.pk
    assert marketdata.snapshot_decode(market.venue, market.symbol, record.payload).book == snap.book
    # when: the session runs
    with CaptureQueriesContext(connection) as queries:
        outcomes = committed(sessions_run, session_ids=result.batches[0])
    # then: its decision references that record, and the run never queried the table
    assert [o.ran for o in outcomes] == [True]
    decision = DecisionRecord.objects.get(session=session)
    assert decision.snapshot_id == record.pk
    assert not [q for q in queries.captured_queries if "marketsnapshotrecord" in q["sql"]]
    assert MarketSnapshotRecord.objects.count() == 1


@override_settings(STRATEGY_MARKET_DATA_MAX_AGE_MS=3000)
def test_a_late_refresh_is_stood_in_for_by_a_young_snapshot_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, _ = _session(monkeypatch)
    marketdata.market_data_refresh(exchange_id=market.venue, symbol=market.symbol)
    fetched_at = market.clock.dt()
    market.clock.advance(2.5)  # next slots: their refresh has not landed yet
    tick = marketdata.tick_of(market.clock.dt())
    snap = marketdata.snapshot_get(exchange_id=market.venue, symbol=market.symbol, tick=tick)
    assert snap is not None and snap.fetched_at == fetched_at
    market.clock.advance(1.0)  # 3.5 s old: too stale to quote on
    tick = marketdata.tick_of(market.clock.dt())
    assert (
        marketdata.snapshot_get(exchange_id=market.venue, symbol=market.symbol, tick=tick) is None
    )


def test_a_failed_refresh_makes_the_slot_skip_rather_than_use_an_older_book(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from exchanges.venues.base import VenueError

    market, _ = _session(monkeypatch)
    marketdata.market_data_refresh(exchange_id=market.venue, symbol=market.symbol)
    market.clock.advance(marketdata.SLOT_MS / 1000)

    def down(self: PaperGateway, symbol: str, *args: Any, **kwargs: Any) -> Any:
        raise VenueError("venue down")

    monkeypatch.setattr(PaperGateway, "fetch_order_book", down)
    assert marketdata.market_data_refresh(exchange_id=market.venue, symbol=market.symbol)
    # One request per slot for a broken venue: the next refresh of the slot does nothing.
    assert not marketdata.market_data_refresh(exchange_id=market.venue, symbol=market.symbol)
    tick = marketdata.tick_of(market.clock.dt())
    assert (
        marketdata.snapshot_get(exchange_id=market.venue, symbol=market.symbol, tick=tick) is None
    )


def test_the_tick_sends_the_batches_then_refreshes_for_oracle_venues_then_checks_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Batches first: a run reads the latest snapshot while its slot's refresh is queued,
    so no run waits behind a slot's fetches; the checks in the tick itself, never behind
    queued runs, and without fetching."""
    market, session = _session(monkeypatch)
    StrategySession.objects.filter(pk=session.pk).update(
        params=session.params | {"oracleExchangeName": "oracle", "priceSourceType": "last_price"}
    )
    sent: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(
        tasks.market_data_refresh_task, "delay", lambda *a: sent.append(("refresh", a))
    )
    monkeypatch.setattr(
        tasks.strategy_sessions_run_task, "delay", lambda ids: sent.append(("batch", (ids,)))
    )
    real_guard = sessions_guard

    def guard(**kwargs: Any) -> Any:
        sent.append(("guard", tuple(sorted(kwargs.items()))))
        return real_guard(**kwargs)

    monkeypatch.setattr(tasks, "sessions_guard", guard)
    committed(tasks.strategy_tick_task.run)
    assert sent[:4] == [
        ("batch", ([session.pk],)),
        ("refresh", ("oracle", market.symbol, False)),
        ("refresh", (market.venue, market.symbol, True)),
        ("guard", (("fetch", False),)),
    ]


def test_the_tick_refreshes_the_pairs_it_checked_off_an_older_slot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A session not due has open orders; its pair's snapshot is from an older slot. The
    tick's checks do not fetch (no venue call inside the tick): they price off the latest
    snapshot and send the pair's refresh, so the next tick has this slot's."""
    market, session = _session(monkeypatch)
    committed(sessions_run, session_ids=claim().batches[0])
    drain(market)
    assert TrackedOrder.objects.filter(session=session, status="open").exists()
    market.clock.advance(1.5)  # a new slot; the session is not due for 10 s
    fetches = _book_fetches(monkeypatch)
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.market_data_refresh_task, "delay", lambda *a: sent.append(a))
    records = MarketSnapshotRecord.objects.count()
    committed(tasks.strategy_tick_task.run)
    assert fetches == []
    # (venue, pair, with last price, decision-record row): only the checks read it
    assert sent == [(market.venue, market.symbol, False, False)]
    tasks.market_data_refresh_task.run(*sent[0])
    assert fetches == [market.symbol]
    assert MarketSnapshotRecord.objects.count() == records
    sent.clear()
    market.clock.advance(0.25)
    committed(tasks.strategy_tick_task.run)
    assert sent == []  # priced off this slot's snapshot: nothing to refresh
