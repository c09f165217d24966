"""Uncertain outcomes, kill switches, fills into the ledger, and tasks run twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from exchanges.venues.base import VenueTimeout
from ledger import codes
from ledger.selectors import account_balance, ledger_verify_report
from mrmarket.models import AuditEvent
from orders.services.seams import order_terms
from strategy import tasks
from strategy.enums import IntentKind, IntentStatus, KillScope, TrackedStatus
from strategy.executor import order_intent_execute
from strategy.models import Fill, OrderIntent, TrackedOrder, TradeCursor
from strategy.runner import sessions_run
from strategy.selectors import session_live_order_count
from strategy.services import (
    kill_switch_set,
    session_pause_for_order,
    session_start_for_order,
    strategy_sweep,
)
from tests.strategy.runtime_support import (
    claim,
    committed,
    drain,
    funded_order,
    paper_market,
    tick,
)

pytestmark = pytest.mark.django_db


def _write_intents(market: Any) -> list[int]:
    """A tick that writes the session's place intents, without sending them."""
    result = claim()
    for batch in result.batches:
        committed(sessions_run, session_ids=batch)
    return [args[0] for args in market.broker.take("order_intent_execute_task")]


def test_timeout_after_the_venue_applied_the_order_is_resolved_by_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)
    ids = _write_intents(market)
    gateway = market.gateway(0)
    real_place = gateway.place_limit_order

    def place_then_time_out(**kwargs: Any) -> Any:
        real_place(**kwargs)  # the venue applies it ...
        raise VenueTimeout("read timed out", venue="paper")  # ... and the answer is lost

    monkeypatch.setattr(gateway, "place_limit_order", place_then_time_out)
    outcomes = [committed(order_intent_execute, intent_id=i) for i in ids]
    assert outcomes == ["resolved"] * 4
    assert len(gateway.fetch_open_orders(market.symbol)) == 4  # one each, no duplicate
    assert TrackedOrder.objects.filter(status=TrackedStatus.OPEN).count() == 4


def test_worker_killed_between_send_and_record_never_duplicates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)
    ids = _write_intents(market)
    gateway = market.gateway(0)

    class Killed(BaseException):
        """The worker process dies: nothing after the send runs, no handler sees it."""

    real_place = gateway.place_limit_order

    def place_then_die(**kwargs: Any) -> Any:
        real_place(**kwargs)
        raise Killed

    monkeypatch.setattr(gateway, "place_limit_order", place_then_die)
    with pytest.raises(Killed):
        order_intent_execute(intent_id=ids[0])
    monkeypatch.setattr(gateway, "place_limit_order", real_place)
    intent = OrderIntent.objects.get(pk=ids[0])
    assert intent.status == IntentStatus.SENDING  # claimed and committed before the send
    # a redelivered message while the claim is fresh does nothing
    assert committed(order_intent_execute, intent_id=ids[0]) == "in_flight"
    # when the sending timeout passes, the sweeper re-drives it: looked up, never re-sent
    market.clock.advance(31)
    committed(strategy_sweep)
    drain(market)
    # (the other three were never taken: their messages, still waiting, arrive now)
    for intent_id in ids[1:]:
        committed(order_intent_execute, intent_id=intent_id)
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SENT
    assert intent.attempts == 2
    mine = [
        o
        for o in gateway.fetch_open_orders(market.symbol)
        if o.client_order_id == intent.client_order_id
    ]
    assert len(mine) == 1
    assert len(gateway.fetch_open_orders(market.symbol)) == 4


def test_tracker_adopts_an_order_whose_recording_was_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)
    ids = _write_intents(market)
    intent = OrderIntent.objects.get(pk=ids[0])
    assert intent.price is not None and intent.amount is not None
    market.gateway(0).place_limit_order(
        symbol=market.symbol,
        side=intent.side,  # type: ignore[arg-type]
        price=intent.price,
        amount=intent.amount,
        client_order_id=intent.client_order_id,
    )
    OrderIntent.objects.filter(pk=intent.pk).update(
        status=IntentStatus.SENDING, sending_since=market.clock.dt(), attempts=1
    )
    market.clock.advance(31)
    from strategy.tracking import venue_account_sync

    result = committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    assert result.adopted == 1
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SENT
    assert TrackedOrder.objects.filter(client_order_id=intent.client_order_id).count() == 1


def test_orphan_with_our_prefix_is_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    gateway = market.gateway(0)
    gateway.place_limit_order(
        symbol=market.symbol,
        side="buy",  # type: ignore[arg-type]
        price=Decimal("90"),
        amount=Decimal("1"),
        client_order_id="mmb00aaaaaaaaaaaaaaaaa",
    )
    gateway.place_limit_order(
        symbol=market.symbol,
        side="buy",  # type: ignore[arg-type]
        price=Decimal("90"),
        amount=Decimal("1"),
        client_order_id="manual1",
    )
    from strategy.tracking import venue_account_sync

    # an orphan is only looked for on accounts the runtime uses
    monkeypatch.setattr("strategy.tracking._symbols", lambda e, i: [market.symbol])
    result = committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    assert result.orphans_cancelled == 1
    drain(market)
    assert [o.client_order_id for o in gateway.fetch_open_orders(market.symbol)] == ["manual1"]


def test_kill_switch_blocks_places_but_not_cancels(
    monkeypatch: pytest.MonkeyPatch, operator: Any
) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)
    assert session_live_order_count(order_id=order.pk) == 4
    # when the venue is halted
    kill_switch_set(
        scope=KillScope.VENUE, key=market.venue, active=True, actor=operator, reason="drill"
    )
    assert AuditEvent.objects.filter(action="strategy.kill_switch.on", reason="drill").count() == 1
    # then a paused order's cancels still go out
    committed(session_pause_for_order, order_id=order.pk)
    drain(market)
    assert market.gateway(0).fetch_open_orders(market.symbol) == []
    # and a running session places nothing, with the reason on the session
    second = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=second))
    tick(market)
    assert not OrderIntent.objects.filter(session=session).exists()
    session.refresh_from_db()
    assert "halted (venue:paper): drill" in session.last_error
    # and a place written before the halt is withdrawn by the executor
    kill_switch_set(
        scope=KillScope.VENUE, key=market.venue, active=False, actor=operator, reason="over"
    )
    market.clock.advance(11)
    ids = _write_intents(market)
    assert ids
    kill_switch_set(scope=KillScope.GLOBAL, key="", active=True, actor=operator, reason="all stop")
    assert {committed(order_intent_execute, intent_id=i) for i in ids} == {"halted"}
    assert market.gateway(0).fetch_open_orders(market.symbol) == []
    assert AuditEvent.objects.filter(action__startswith="strategy.kill_switch").count() == 3


def test_dry_run_records_intents_without_sending(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_DRY_RUN = True
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)
    assert set(OrderIntent.objects.values_list("status", flat=True)) == {IntentStatus.DRY_RUN}
    assert market.gateway(0).fetch_open_orders(market.symbol) == []
    assert market.broker.take("order_intent_execute_task") == []


def test_fills_settle_the_ledger_and_verify_stays_clean_over_a_long_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a volatile market whose prints trade through our quotes
    market = paper_market(monkeypatch, volatility=Decimal("0.004"), print_amount=Decimal("0.6"))
    params = {
        "pair": market.symbol,
        "exchangeName": market.venue,
        "bidSpread": "0.002",
        "askSpread": "0.002",
        "orderAmount": "0.5",
        "orderRefreshTime": 2000,
        "numberOfLayers": 2,
        "filledOrderDelay": 0,
    }
    order = funded_order(market, base=Decimal("10"), quote=Decimal("1000"), params=params)
    committed(session_start_for_order, terms=order_terms(order=order))
    # when it runs for 80 ticks of 2 s
    for _ in range(80):
        tick(market)
        market.clock.advance(2)
    # then fills happened, each stored once and settled, and the ledger verifies
    fills = list(Fill.objects.all())
    assert len(fills) >= 5
    assert all(f.ledger_key == f"fill:paper:{f.trade_id}" for f in fills)
    assert {f.side for f in fills} == {"buy", "sell"}
    report = ledger_verify_report()
    assert report.ok, report.violations
    # and the venue custody account in the ledger equals the paper account, per asset
    venue_balances = market.gateway(0).fetch_balances()
    custody = codes.custody_venue(market.venue, "0")
    for asset_id, symbol in (
        (market.pair.base_asset_id, market.pair.base_symbol),
        (market.pair.quote_asset_id, market.pair.quote_symbol),
    ):
        assert (
            account_balance(code=custody, asset=str(asset_id)).posted
            == venue_balances[symbol].total
        )
    # and replaying the account sync stores nothing twice
    from strategy.tracking import venue_account_sync

    committed(venue_account_sync, exchange_id=market.venue, account_index=0)  # clock still
    stored = Fill.objects.count()
    TradeCursor.objects.update(since=None)
    committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    assert Fill.objects.count() == stored


def test_every_task_is_safe_to_run_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    session = committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)
    sent: list[Any] = []
    monkeypatch.setattr(tasks.strategy_sessions_run_task, "delay", lambda ids: sent.append(ids))
    # The refreshes run as sent, each twice (a redelivery): still one fetch per slot.
    refreshes: list[tuple[Any, ...]] = []

    def refresh_twice(*args: Any) -> None:
        refreshes.append(args)
        tasks.market_data_refresh_task.run(*args)
        tasks.market_data_refresh_task.run(*args)

    monkeypatch.setattr(tasks.market_data_refresh_task, "delay", refresh_twice)
    committed(tasks.strategy_tick_task.run)
    committed(tasks.strategy_tick_task.run)  # nothing due any more: claims nothing
    assert sent == [[session.pk]]
    assert refreshes == [(market.venue, market.symbol, False)]
    committed(tasks.strategy_sessions_run_task.run, session_ids=[session.pk])
    committed(tasks.strategy_sessions_run_task.run, session_ids=[session.pk])  # lease gone: no-op
    ids = [a[0] for a in market.broker.take("order_intent_execute_task")]
    assert len(ids) == 4
    for intent_id in ids:
        committed(tasks.order_intent_execute_task.run, intent_id=intent_id)
        committed(tasks.order_intent_execute_task.run, intent_id=intent_id)
    assert len(market.gateway(0).fetch_open_orders(market.symbol)) == 4
    for _ in range(2):
        committed(tasks.venue_account_sync_task.run, exchange_id=market.venue, account_index=0)
        committed(tasks.venue_accounts_sync_task.run)
        committed(tasks.strategy_sweep_task.run)
    assert TrackedOrder.objects.filter(status=TrackedStatus.OPEN).count() == 4
    assert OrderIntent.objects.filter(kind=IntentKind.PLACE).count() == 4
