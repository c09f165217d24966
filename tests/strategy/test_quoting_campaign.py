"""Campaign-volume mode: spreads tighten with the volume shortfall, never below the floor."""

from __future__ import annotations

from decimal import Decimal

from strategy.quoting.campaign import tighten_for_volume, volume_pace
from strategy.quoting.pure_mm import build_quotes
from tests.strategy.quoting_support import NOW, book, market, pmm

D = Decimal
HALF_DAY = 43_200


def test_pace() -> None:
    # half the day gone: 500 of 1000 expected
    assert volume_pace(
        daily_volume_target=D(1000), volume_done_today=D(250), seconds_left_in_day=HALF_DAY
    ) == D("0.5")
    assert volume_pace(
        daily_volume_target=D(1000), volume_done_today=D(600), seconds_left_in_day=HALF_DAY
    ) == D(1)
    assert volume_pace(
        daily_volume_target=D(1000), volume_done_today=D(0), seconds_left_in_day=86_400
    ) == D(1)  # nothing expected yet at the day's start
    assert volume_pace(
        daily_volume_target=D(0), volume_done_today=D(0), seconds_left_in_day=10
    ) == D(1)
    assert volume_pace(
        daily_volume_target=D(1000), volume_done_today=D(0), seconds_left_in_day=0
    ) == D(0)


def tightened(done: str, **kw: object) -> tuple[Decimal, Decimal]:
    params = tighten_for_volume(
        params=kw.pop("params", pmm(bid_spread=D("0.01"), ask_spread=D("0.02"))),  # type: ignore[arg-type]
        daily_volume_target=D(1000),
        volume_done_today=D(done),
        seconds_left_in_day=HALF_DAY,
        reference_price=D(100),
        market=market(),
    )
    return params.bid_spread, params.ask_spread


def test_on_pace_keeps_the_configured_spreads() -> None:
    assert tightened("500") == (D("0.01"), D("0.02"))


def test_behind_pace_tightens_proportionally_toward_one_tick() -> None:
    # floor = tick / price = 0.01 / 100 = 0.0001; pace 0.5
    # bid: 0.0001 + (0.01 - 0.0001) x 0.5 = 0.00505 ; ask: 0.0001 + 0.0199 x 0.5 = 0.01005
    assert tightened("250") == (D("0.00505"), D("0.01005"))
    # nothing done at all: down to the floor
    assert tightened("0") == (D("0.0001"), D("0.0001"))


def test_minimum_spread_is_the_floor_when_set() -> None:
    params = pmm(bid_spread=D("0.01"), ask_spread=D("0.02"), minimum_spread=D("0.002"))
    assert tightened("0", params=params) == (D("0.002"), D("0.002"))


def test_tightened_quotes_never_cross_the_book_or_each_other() -> None:
    params = tighten_for_volume(
        params=pmm(),
        daily_volume_target=D(1000),
        volume_done_today=D(0),
        seconds_left_in_day=HALF_DAY,
        reference_price=D(100),
        market=market(),
    )
    quotes = build_quotes(
        params=params,
        market=market(),
        book=book(bids=[("99.99", "1")], asks=[("100.01", "1")]),
        last_price=None,
        reference_price=None,
        base_balance=D(10),
        quote_balance=D(1000),
        budget_base=D(10),
        budget_quote=D(1000),
        now=NOW,
        last_fill_at=None,
    )
    # mid 100, spread one tick: the quotes join the best bid and ask as makers
    # (99.99 < best ask, 100.01 > best bid); they never take.
    assert [(q.side.value, q.price) for q in quotes] == [
        ("buy", D("99.99")),
        ("sell", D("100.01")),
    ]
