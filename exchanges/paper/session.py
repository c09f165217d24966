"""The paper venue's locked pair session: every operation on a pair runs inside one.

Design:
- One transaction that first locks the pair's `PaperMarket` row (`select_for_update`), then
  the balance rows it may touch — of every account with an open order on the pair plus the
  caller — in primary-key order (STYLE §6), so two processes matching the same pair queue
  instead of double-filling, and operations on different pairs that share an account's quote
  balance cannot deadlock.
- Under the lock a `MatchingEngine` is rebuilt from the rows (open orders in time priority,
  balances), the price feed advances to now (outside prints fill resting orders as makers,
  and build the candles), the caller applies its operation, and only the engine's diff is
  written back.
- Order and trade ids are `<market id>-<seq>` from the market row's counter; client order
  ids are unique per (venue, account) by a database constraint.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from exchanges.paper import feed as feed_mod
from exchanges.paper.models import PaperBalance, PaperCandle, PaperMarket, PaperOrder, PaperTrade
from exchanges.venues import matching as m
from exchanges.venues.base import DuplicateClientOrderId, InvalidOrder


def feed_settings(market: PaperMarket) -> feed_mod.FeedSettings:
    return feed_mod.FeedSettings(
        kind=market.feed_kind,
        seed=market.feed_seed,
        volatility=market.feed_volatility,
        step_seconds=market.feed_step_seconds,
        csv_path=market.feed_csv_path,
        print_amount=market.feed_print_amount,
        price_increment=market.price_increment,
        amount_increment=market.amount_increment,
        half_spread=market.book_half_spread,
        levels=market.book_levels,
        level_amount=market.book_level_amount,
    )


@dataclass
class PairSession:
    """One pair under its lock: the market row, the engine rebuilt from the rows, the rows
    themselves (to write back), and the moment the session runs at."""

    market: PaperMarket
    engine: m.MatchingEngine
    rows: dict[str, PaperOrder]
    balances: dict[tuple[str, str], PaperBalance]
    now_ms: int


def market_row(venue: str, symbol: str, *, lock: bool) -> PaperMarket:
    qs = PaperMarket.objects.filter(venue=venue, symbol=symbol, active=True)
    if lock:
        qs = qs.select_for_update()
    market = qs.first()
    if market is None:
        raise InvalidOrder(f"unknown market {symbol}", venue=venue)
    return market


@contextmanager
def pair_session(*, venue: str, account: str, symbol: str, now_ms: int) -> Iterator[PairSession]:
    """Lock the pair, rebuild its engine, advance its feed; write the diff back on exit."""
    with transaction.atomic():
        market = market_row(venue, symbol, lock=True)
        orders = list(PaperOrder.objects.filter(market=market, status="open").order_by("seq"))
        accounts = sorted({o.account for o in orders} | {account})
        assets = [market.base, market.quote]
        PaperBalance.objects.bulk_create(
            [PaperBalance(venue=venue, account=a, asset=s) for a in accounts for s in assets],
            ignore_conflicts=True,
        )
        balance_rows = list(
            PaperBalance.objects.select_for_update()
            .filter(venue=venue, account__in=accounts, asset__in=assets)
            .order_by("pk")
        )
        seq = market.next_seq

        def next_id(kind: str) -> str:
            nonlocal seq
            seq += 1
            return f"{market.pk}-{seq}"

        spec = m.MarketSpec(
            market.symbol,
            market.base,
            market.quote,
            maker_fee=market.maker_fee,
            taker_fee=market.taker_fee,
        )
        engine = m.MatchingEngine([spec], id_factory=next_id, clock_ms=lambda: now_ms)
        for b in balance_rows:
            engine.load_balance(b.account, b.asset, b.free, b.used)
        for o in orders:
            engine.load_order(
                m.EngineOrder(
                    id=o.order_id,
                    seq=o.seq,
                    account=o.account,
                    symbol=market.symbol,
                    side=o.side,
                    price=o.price,
                    amount=o.amount,
                    filled=o.filled,
                    client_order_id=o.client_order_id,
                    post_only=o.post_only,
                    status=o.status,
                    created_ms=o.created_ms,
                    updated_ms=o.updated_ms,
                    cost=o.cost,
                    reserved=o.reserved,
                )
            )
        # Engine ids double as time priority, so the engine's seq continues the market's.
        engine._seq = max(engine._seq, seq)
        session = PairSession(
            market=market,
            engine=engine,
            rows={o.order_id: o for o in orders},
            balances={(b.account, b.asset): b for b in balance_rows},
            now_ms=now_ms,
        )
        _advance_feed(session)
        yield session
        market.next_seq = max(seq, engine._seq)
        _write_back(session, venue)


def _advance_feed(s: PairSession) -> None:
    market = s.market
    settings = feed_settings(market)
    now_step = s.now_ms // (1000 * settings.step_seconds)
    if market.feed_step == 0:
        market.feed_step = now_step  # a new market starts its walk now
        return
    for p in feed_mod.prints_between(settings, market.feed_price, market.feed_step, now_step):
        s.engine.external_trade(symbol=market.symbol, price=p.price, amount=p.amount)
        _candle(market, p.step * 1000 * settings.step_seconds, p.price, p.amount)
        market.feed_price = p.price
    market.feed_step = max(market.feed_step, now_step)


def _candle(market: PaperMarket, ts_ms: int, price: Decimal, amount: Decimal) -> None:
    open_time = ts_ms - ts_ms % 60_000
    candle, created = PaperCandle.objects.get_or_create(
        market=market,
        open_time_ms=open_time,
        defaults={"open": price, "high": price, "low": price, "close": price, "volume": amount},
    )
    if not created:
        candle.high = max(candle.high, price)
        candle.low = min(candle.low, price)
        candle.close = price
        candle.volume += amount
        candle.save(update_fields=["high", "low", "close", "volume"])


def _write_back(s: PairSession, venue: str) -> None:
    eng = s.engine
    market = s.market
    for order in eng.touched_orders.values():
        row = s.rows.get(order.id)
        if row is None:
            try:
                with transaction.atomic():
                    PaperOrder.objects.create(
                        market=market,
                        venue=venue,
                        order_id=order.id,
                        seq=order.seq,
                        account=order.account,
                        client_order_id=order.client_order_id,
                        side=order.side,
                        price=order.price,
                        amount=order.amount,
                        filled=order.filled,
                        cost=order.cost,
                        reserved=order.reserved,
                        post_only=order.post_only,
                        status=order.status,
                        created_ms=order.created_ms,
                        updated_ms=order.updated_ms,
                    )
            except IntegrityError as exc:
                # Same client order id placed concurrently on another pair of this venue.
                raise DuplicateClientOrderId(
                    f"client order id {order.client_order_id} already used", venue=venue
                ) from exc
        else:
            row.filled, row.cost, row.reserved = order.filled, order.cost, order.reserved
            row.status, row.updated_ms = order.status, order.updated_ms
            row.save(update_fields=["filled", "cost", "reserved", "status", "updated_ms"])
    client_ids = {o.id: o.client_order_id for o in eng.orders.values()}
    PaperTrade.objects.bulk_create(
        [
            PaperTrade(
                market=market,
                venue=venue,
                trade_id=t.id,
                order_id=t.order_id,
                client_order_id=client_ids.get(t.order_id) or "",
                account=t.account,
                side=t.side,
                price=t.price,
                amount=t.amount,
                quote_amount=t.quote_amount,
                fee=t.fee,
                fee_asset=t.fee_asset,
                taker_or_maker=t.taker_or_maker,
                counterparty_order_id=t.counterparty_order_id or "",
                timestamp_ms=t.timestamp_ms,
            )
            for t in eng.new_trades
        ]
    )
    own_fills = [
        t
        for t in eng.new_trades
        if t.counterparty_order_id is not None and t.taker_or_maker == "taker"
    ]
    for t in own_fills:  # fills between two of our accounts print on the tape too
        _candle(market, t.timestamp_ms, t.price, t.amount)
    for key in eng.touched_balances:
        balance = s.balances[key]
        balance.free, balance.used = eng.balances[key]
        balance.save(update_fields=["free", "used", "updated_at"])
    market.save(update_fields=["feed_price", "feed_step", "next_seq"])
