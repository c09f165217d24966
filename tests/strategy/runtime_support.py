"""Fixtures of the strategy runtime tests: a paper venue on a simulated clock, a funded
running order (ledger and paper balances booked consistently), and a fake broker that
records task messages so a test drives the runtime by calling the task functions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchanges.enums import ExchangeKind
from exchanges.paper.gateway import PaperGateway
from exchanges.paper.models import PaperMarket
from exchanges.paper.services import paper_balance_fund, paper_market_ensure
from ledger import codes
from ledger.services import custody_move_confirm, custody_move_start, deposit_credit, order_allocate
from orders.enums import OrderState
from orders.models import MarketMakingOrder
from strategy import tasks
from tests.exchanges.factories import (
    AssetFactory,
    ExchangeFactory,
    MarketMakingPairFactory,
    VenueAccountFactory,
)
from tests.factories import UserFactory

START = 1_750_000_000.0


class Clock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self.now, tz=UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Broker:
    """Task messages recorded instead of sent: (task name, args)."""

    sent: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def take(self, name: str) -> list[tuple[Any, ...]]:
        mine = [args for n, args in self.sent if n == name]
        self.sent = [(n, a) for n, a in self.sent if n != name]
        return mine


@dataclass
class Market:
    venue: str
    symbol: str
    pair: Any
    account: Any
    clock: Clock
    broker: Broker
    gateways: dict[int, PaperGateway]

    def gateway(self, index: int = 0) -> PaperGateway:
        return self.gateways.setdefault(
            index, PaperGateway(venue=self.venue, account=f"{self.venue}:{index}", clock=self.clock)
        )


def install(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, venue: str
) -> tuple[Broker, dict[int, PaperGateway]]:
    broker = Broker()
    gateways: dict[int, PaperGateway] = {}

    def gateway_get(*, exchange_id: str, account_index: int = 0) -> PaperGateway:
        assert exchange_id == venue, exchange_id
        return gateways.setdefault(
            account_index,
            PaperGateway(venue=venue, account=f"{venue}:{account_index}", clock=clock),
        )

    monkeypatch.setattr("strategy.venues.gateway_get", gateway_get)
    monkeypatch.setattr("strategy.venues.now", clock.dt)

    def recorder(name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            if "args" in kwargs:  # apply_async(args=..., countdown=...)
                args = tuple(kwargs["args"])
            broker.sent.append((name, args))

        return record

    for task in (
        tasks.order_intent_execute_task,
        tasks.venue_account_sync_task,
        tasks.strategy_sessions_run_task,
    ):
        monkeypatch.setattr(task, "delay", recorder(task.name))
        monkeypatch.setattr(task, "apply_async", recorder(task.name))
    return broker, gateways


def paper_market(
    monkeypatch: pytest.MonkeyPatch,
    *,
    venue: str = "paper",
    symbol: str = "BTC/USDT",
    price: Decimal = Decimal("100"),
    volatility: Decimal = Decimal("0"),
    print_amount: Decimal = Decimal("0.01"),
    clock: Clock | None = None,
) -> Market:
    clock = clock or Clock()
    exchange = ExchangeFactory(exchange_id=venue, kind=ExchangeKind.PAPER, ccxt_id="")
    base_symbol, quote_symbol = symbol.split("/")
    pair = MarketMakingPairFactory(
        exchange=exchange,
        base_asset=AssetFactory(symbol=base_symbol),
        quote_asset=AssetFactory(symbol=quote_symbol),
        symbol=symbol,
    )
    account = VenueAccountFactory(exchange=exchange, index=0)
    paper_market_ensure(
        venue=venue,
        symbol=symbol,
        price=price,
        price_increment=Decimal("0.01"),
        amount_increment=Decimal("0.001"),
        min_amount=Decimal("0.001"),
        volatility=volatility,
        print_amount=print_amount,
        book_half_spread=Decimal("0.001"),
    )
    broker, gateways = install(monkeypatch, clock, venue)
    return Market(venue, symbol, pair, account, clock, broker, gateways)


def pmm_params(market: Market, **overrides: Any) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "pair": market.symbol,
        "exchangeName": market.venue,
        "bidSpread": "0.01",
        "askSpread": "0.01",
        "orderAmount": "1",
        "orderRefreshTime": 10_000,
        "numberOfLayers": 2,
        "orderRefreshTolerancePct": "0.002",
        "filledOrderDelay": 0,
    }
    dto.update(overrides)
    return dto


def csv_feed(market: Market, tmp_path: Path, prices: dict[int, tuple[str, str]]) -> None:
    """Outside prints replayed one a second from the start: price 100 and no volume, except
    at the seconds given (from that second on, until the next one given)."""
    rows, price, amount = [], "100", "0"
    for i in range(1000):
        if i in prices:
            price, amount = prices[i]
        rows.append(f"{i},{price},{amount}")
        amount = "0"
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join(rows) + "\n")
    PaperMarket.objects.filter(venue=market.venue, symbol=market.symbol).update(
        feed_kind=PaperMarket.FeedKind.CSV, feed_csv_path=str(feed)
    )


def funded_order(
    market: Market, *, base: Decimal, quote: Decimal, params: dict[str, Any] | None = None
) -> MarketMakingOrder:
    """A running order whose ledger budget and the paper account hold the same coins."""
    user: Any = UserFactory()
    now = market.clock.dt()
    order = MarketMakingOrder.objects.create(
        user=user,
        pair=market.pair,
        venue_account=market.account,
        state=OrderState.RUNNING,
        state_changed_at=now,
        memo=f"memo-{uuid.uuid4()}",
        memo_expires_at=now + timedelta(minutes=15),
        base_fee_asset_id=str(market.pair.base_asset_id),
        quote_fee_asset_id=str(market.pair.quote_asset_id),
        required_base_withdrawal_fee=Decimal(0),
        required_quote_withdrawal_fee=Decimal(0),
        strategy_fee_percentage=Decimal(0),
        strategy_params=params or pmm_params(market),
    )
    custody = codes.custody_venue(market.venue, str(market.account.index))
    for asset_id, symbol, amount in (
        (market.pair.base_asset_id, market.pair.base_symbol, base),
        (market.pair.quote_asset_id, market.pair.quote_symbol, quote),
    ):
        ref = f"{order.pk}:{asset_id}"
        deposit_credit(
            idempotency_key=f"dep:{ref}",
            user_id=user.pk,
            asset=str(asset_id),
            amount=amount,
            snapshot_id=ref,
        )
        order_allocate(
            idempotency_key=f"alloc:{ref}",
            user_id=user.pk,
            order_id=order.pk,
            asset=str(asset_id),
            amount=amount,
        )
        custody_move_start(
            idempotency_key=f"move:{ref}",
            source=codes.CUSTODY_MIXIN,
            destination=custody,
            asset=str(asset_id),
            amount=amount,
            reference=ref,
        )
        custody_move_confirm(entry_key=f"move:{ref}", idempotency_key=f"move-ok:{ref}")
        paper_balance_fund(
            venue=market.venue,
            account=f"{market.venue}:{market.account.index}",
            asset=symbol,
            amount=amount,
            reference=ref,
        )
    return order


def committed(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call `fn` and run the on-commit callbacks it registered (tests run inside a
    transaction that never commits, where Django would otherwise drop them)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return fn(**kwargs)


def drain(market: Market, *, rounds: int = 10) -> None:
    """Run every recorded executor and tracker message, until none is left."""
    from strategy.executor import order_intent_execute
    from strategy.tracking import venue_account_sync

    for _ in range(rounds):
        intents = market.broker.take("order_intent_execute_task")
        syncs = market.broker.take("venue_account_sync_task")
        if not intents and not syncs:
            return
        for (intent_id,) in intents:
            committed(order_intent_execute, intent_id=intent_id)
        for exchange_id, index in dict.fromkeys(syncs):
            committed(venue_account_sync, exchange_id=exchange_id, account_index=index)


def refresh_markets(result: Any) -> None:
    """What strategy_tick_task sends ahead of the batches: the claimed pairs' market data
    (runs only read the cache)."""
    from strategy.marketdata import market_data_refresh

    for need in result.markets:
        market_data_refresh(
            exchange_id=need.exchange_id, symbol=need.symbol, with_last=need.with_last
        )


def claim(**kwargs: Any) -> Any:
    """The tick and its market-data refreshes, as strategy_tick_task runs them."""
    from strategy.tick import strategy_tick

    result = committed(strategy_tick, **kwargs)
    refresh_markets(result)
    return result


def tick(market: Market) -> None:
    """One tick: claim, the per-tick checks, run the batches, send the intents, sync the
    account (what strategy_tick_task fans out, in its order). The checks fetch a pair
    they find without a fresh snapshot: tests jump the clock by seconds, where the real
    tick, every 250 ms, keeps every checked pair refreshed each slot (its `stale` refresh
    messages; `test_the_tick_refreshes_the_pairs_it_checked_off_an_older_slot`)."""
    from strategy.pmm.guard import sessions_guard
    from strategy.runner import sessions_run
    from strategy.tracking import venue_account_sync

    result = claim()
    committed(sessions_guard)
    for batch in result.batches:
        committed(sessions_run, session_ids=batch)
    drain(market)
    committed(venue_account_sync, exchange_id=market.venue, account_index=market.account.index)
    drain(market)
