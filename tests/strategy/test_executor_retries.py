"""The executor's retry schedule and give-up (issue 18): a retryable venue error backs off
1, 2, 4, 8 s (capped at 60 s; a rate limit's retry-after wins when longer) and the intent
fails after STRATEGY_INTENT_MAX_ATTEMPTS; a final error fails at once. Each failure leaves
nothing on the venue and no tracked order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from exchanges.venues.base import InvalidOrder, RateLimited, VenueUnavailable
from orders.services.seams import order_terms
from strategy.enums import IntentStatus
from strategy.executor import order_intent_execute
from strategy.models import OrderIntent, TrackedOrder
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from tests.strategy.runtime_support import claim, committed, drain, funded_order, paper_market

pytestmark = pytest.mark.django_db


def _one_place(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, OrderIntent]:
    market = paper_market(monkeypatch)
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"))
    committed(session_start_for_order, terms=order_terms(order=order))
    drain(market)
    for batch in claim().batches:
        committed(sessions_run, session_ids=batch)
    ids = [args[0] for args in market.broker.take("order_intent_execute_task")]
    return market, OrderIntent.objects.get(pk=ids[0])


def _failing(market: Any, monkeypatch: pytest.MonkeyPatch, exc: Exception) -> list[int]:
    calls: list[int] = []

    def place(**kwargs: Any) -> Any:
        calls.append(1)
        raise exc

    monkeypatch.setattr(market.gateway(0), "place_limit_order", place)
    return calls


def test_a_retryable_error_backs_off_exponentially_then_gives_up(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.STRATEGY_INTENT_MAX_ATTEMPTS = 5
    market, intent = _one_place(monkeypatch)
    calls = _failing(market, monkeypatch, VenueUnavailable("503", venue="paper"))
    delays = []
    for attempt in range(1, 5):
        assert committed(order_intent_execute, intent_id=intent.pk) == "retry"
        intent.refresh_from_db()
        delay = intent.next_attempt_at - market.clock.dt()
        delays.append(delay)
        assert intent.status == IntentStatus.PENDING and intent.attempts == attempt
        assert intent.last_error == "VenueUnavailable: 503"
        # the retry message carries the same delay
        assert market.broker.take("order_intent_execute_task") == [(intent.pk,)]
        # a redelivery before it is due does nothing
        assert committed(order_intent_execute, intent_id=intent.pk) == "not_due"
        market.clock.advance(delay.total_seconds())
    assert delays == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    # the fifth attempt is the last one
    assert committed(order_intent_execute, intent_id=intent.pk) == "failed"
    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED and intent.attempts == 5
    assert intent.last_error == "retries exhausted: VenueUnavailable: 503"
    assert market.broker.take("order_intent_execute_task") == []  # nothing more queued
    assert len(calls) == 5
    assert not TrackedOrder.objects.exists()
    assert market.gateway(0).fetch_open_orders(market.symbol) == []
    # a late redelivery of a failed intent is a no-op
    assert committed(order_intent_execute, intent_id=intent.pk) == IntentStatus.FAILED
    assert len(calls) == 5


def test_the_backoff_is_capped_at_a_minute(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    settings.STRATEGY_INTENT_MAX_ATTEMPTS = 9
    market, intent = _one_place(monkeypatch)
    _failing(market, monkeypatch, VenueUnavailable("503", venue="paper"))
    delays = []
    for _ in range(8):
        assert committed(order_intent_execute, intent_id=intent.pk) == "retry"
        intent.refresh_from_db()
        delays.append((intent.next_attempt_at - market.clock.dt()).total_seconds())
        market.clock.advance(delays[-1])
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]


def test_a_rate_limit_waits_its_retry_after_when_longer_than_the_backoff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, intent = _one_place(monkeypatch)
    _failing(market, monkeypatch, RateLimited("429", retry_after=7.5, venue="paper"))
    sent: list[Any] = []
    monkeypatch.setattr(
        "strategy.executor.intents_enqueue",
        lambda *, intent_ids, countdown=None: sent.append((intent_ids, countdown)),
    )
    assert committed(order_intent_execute, intent_id=intent.pk) == "retry"
    intent.refresh_from_db()
    assert intent.next_attempt_at - market.clock.dt() == timedelta(seconds=7.5)
    assert sent == [([intent.pk], 7.5)]


def test_a_final_venue_error_fails_at_once_without_a_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    market, intent = _one_place(monkeypatch)
    calls = _failing(market, monkeypatch, InvalidOrder("price precision", venue="paper"))
    assert committed(order_intent_execute, intent_id=intent.pk) == "failed"
    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED and intent.attempts == 1
    assert intent.last_error == "InvalidOrder: price precision"
    assert market.broker.take("order_intent_execute_task") == []
    assert len(calls) == 1 and not TrackedOrder.objects.exists()
