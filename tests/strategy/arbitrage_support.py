"""Fixtures of the arbitrage runtime tests: two paper venues quoting one pair on a shared
simulated clock, their funded house accounts, and a fake broker so a test drives the
runtime by calling the task functions (`runtime_support` covers a single venue only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from exchanges.enums import ExchangeKind
from exchanges.paper.gateway import PaperGateway
from exchanges.paper.models import PaperMarket
from exchanges.paper.services import paper_balance_fund, paper_market_ensure
from exchanges.venues.base import VenueOrder
from strategy import tasks
from strategy.sessions.outcome import RunOutcome
from tests.exchanges.factories import (
    AssetFactory,
    ExchangeFactory,
    MarketMakingPairFactory,
    VenueAccountFactory,
)
from tests.strategy.runtime_support import Broker, Clock, claim, committed

TAKER_FEE = Decimal("0.001")


@dataclass
class TwoVenues:
    """Venue A and venue B, each with one house account (index 0) and the same pair."""

    a: str
    b: str
    symbol: str
    clock: Clock
    broker: Broker
    gateways: dict[tuple[str, int], PaperGateway] = field(default_factory=dict)

    def gateway(self, venue: str, index: int = 0) -> PaperGateway:
        return self.gateways.setdefault(
            (venue, index), PaperGateway(venue=venue, account=f"{venue}:{index}", clock=self.clock)
        )

    def open_orders(self, venue: str) -> list[VenueOrder]:
        return self.gateway(venue).fetch_open_orders(self.symbol)

    def free(self, venue: str, asset: str) -> Decimal:
        balance = self.gateway(venue).fetch_balances().get(asset)
        return balance.free if balance is not None else Decimal(0)

    def set_price(self, venue: str, price: Decimal) -> None:
        """Move the venue's feed (and so its outside book) to `price`."""
        PaperMarket.objects.filter(venue=venue, symbol=self.symbol).update(feed_price=price)

    def fund(self, venue: str, asset: str, amount: Decimal) -> None:
        paper_balance_fund(
            venue=venue,
            account=f"{venue}:0",
            asset=asset,
            amount=amount,
            reference=f"arb-test:{venue}:{asset}:{amount}",
        )


def two_paper_venues(
    monkeypatch: pytest.MonkeyPatch,
    *,
    price_a: Decimal,
    price_b: Decimal,
    a: str = "paper",
    b: str = "paperb",
    symbol: str = "BTC/USDT",
) -> TwoVenues:
    """Both venues: tick 0.01, lot 0.001, taker fee 0.1 %, a still feed (no volatility),
    an outside book of 10 levels of 1 base each, 0.1 % apart, around the feed price."""
    clock = Clock()
    base_symbol, quote_symbol = symbol.split("/")
    base = AssetFactory(symbol=base_symbol)
    quote = AssetFactory(symbol=quote_symbol, price_usd=Decimal(1))
    for venue, price in ((a, price_a), (b, price_b)):
        exchange = ExchangeFactory(exchange_id=venue, kind=ExchangeKind.PAPER, ccxt_id="")
        MarketMakingPairFactory(
            exchange=exchange, base_asset=base, quote_asset=quote, symbol=symbol
        )
        VenueAccountFactory(exchange=exchange, index=0)
        paper_market_ensure(
            venue=venue,
            symbol=symbol,
            price=price,
            price_increment=Decimal("0.01"),
            amount_increment=Decimal("0.001"),
            min_amount=Decimal("0.001"),
            maker_fee=TAKER_FEE,
            taker_fee=TAKER_FEE,
            volatility=Decimal("0"),
            print_amount=Decimal("0.01"),
            book_half_spread=Decimal("0.001"),
        )
    venues = TwoVenues(a=a, b=b, symbol=symbol, clock=clock, broker=Broker())
    _install(monkeypatch, venues)
    return venues


def _install(monkeypatch: pytest.MonkeyPatch, venues: TwoVenues) -> None:
    def gateway_get(*, exchange_id: str, account_index: int = 0) -> PaperGateway:
        assert exchange_id in (venues.a, venues.b), exchange_id
        return venues.gateway(exchange_id, account_index)

    monkeypatch.setattr("strategy.venues.gateway_get", gateway_get)
    monkeypatch.setattr("strategy.venues.now", venues.clock.dt)

    def recorder(name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> None:
            if "args" in kwargs:  # apply_async(args=..., countdown=...)
                args = tuple(kwargs["args"])
            venues.broker.sent.append((name, args))

        return record

    for task in (
        tasks.order_intent_execute_task,
        tasks.venue_account_sync_task,
        tasks.strategy_sessions_run_task,
    ):
        monkeypatch.setattr(task, "delay", recorder(task.name))
        monkeypatch.setattr(task, "apply_async", recorder(task.name))


def run_sessions(venues: TwoVenues) -> list[RunOutcome]:
    """Claim due sessions and run them; the intents they write stay queued in the broker."""
    from strategy.runner import sessions_run

    outcomes: list[RunOutcome] = []
    result = claim()
    for batch in result.batches:
        outcomes += committed(sessions_run, session_ids=batch)
    return outcomes


def send(venues: TwoVenues, *, rounds: int = 10) -> None:
    """Run every queued executor and tracker message until none is left."""
    from strategy.executor import order_intent_execute
    from strategy.tracking import venue_account_sync

    for _ in range(rounds):
        intents = venues.broker.take("order_intent_execute_task")
        syncs = venues.broker.take("venue_account_sync_task")
        if not intents and not syncs:
            return
        for (intent_id,) in intents:
            committed(order_intent_execute, intent_id=intent_id)
        for exchange_id, index in dict.fromkeys(syncs):
            committed(venue_account_sync, exchange_id=exchange_id, account_index=index)


def sync(venues: TwoVenues) -> None:
    """The beat's account sync of both house accounts (fills, open orders, balances)."""
    from strategy.tracking import venue_account_sync

    for venue in (venues.a, venues.b):
        committed(venue_account_sync, exchange_id=venue, account_index=0)
    send(venues)


def tick(venues: TwoVenues) -> list[RunOutcome]:
    """One tick: claim, run, send the intents, sync both accounts."""
    outcomes = run_sessions(venues)
    send(venues)
    sync(venues)
    return outcomes


def arbitrage_dto(venues: TwoVenues, **overrides: Any) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "clientId": "arb1",
        "pair": venues.symbol,
        "exchangeAName": venues.a,
        "exchangeBName": venues.b,
        "amountToTrade": "0.5",
        "minProfitability": "0.005",
    }
    dto.update(overrides)
    return dto
