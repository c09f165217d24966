"""Uptime, quoted spread and depth by day, against hand computations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from reports.quoting import Band, Mark, Quote, quoting_by_day, weighted_percentile


def t(h: int, m: int = 0, s: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 3, day, h, m, s, tzinfo=UTC)


BAND = Band(bid_spread=D("0.01"), ask_spread=D("0.01"), tolerance=D("0.002"))


def test_uptime_spread_and_depth_over_one_hour_by_hand() -> None:
    # given: the mid is 100 from 10:00 and 110 from 10:30; a bid at 99 and an ask at 101
    # rest all hour (2 and 1 units); from 10:30 they are 10 % off the mid
    quotes = [
        Quote("buy", D(99), D(2), t(9), None),
        Quote("sell", D(101), D(1), t(9), None),
    ]
    marks = [Mark(t(10), D(100)), Mark(t(10, 30), D(110))]
    days = quoting_by_day(
        quotes=quotes, marks=marks, band=BAND, start=t(10), end=t(11), max_gap=timedelta(hours=1)
    )
    # then
    assert len(days) == 1
    day = days[0]
    assert day.observed_seconds == D(3600)
    assert day.quoted_seconds == D(1800)  # at 110 the bid is 10 % below: not within 1.2 %
    assert day.uptime == D("0.5")
    # spread: 2/100 for 1800 s, 2/110 for 1800 s
    assert day.spread_avg == (D(2) / 100 + D(2) / 110) / 2
    # depth within 2 %: both at mid 100 (198 + 101); neither at 110
    assert day.bid_depth == D(198) * 1800 / 3600
    assert day.ask_depth == D(101) * 1800 / 3600


def test_one_sided_quotes_and_gaps_are_not_uptime() -> None:
    quotes = [Quote("buy", D(99), D(1), t(10), t(10, 10))]
    marks = [Mark(t(10), D(100)), Mark(t(10, 40), D(100))]
    days = quoting_by_day(
        quotes=quotes,
        marks=marks,
        band=BAND,
        start=t(10),
        end=t(11),
        max_gap=timedelta(minutes=10),
    )
    # observed: 10:00-10:10 and 10:40-10:50 (the gap after each sample is capped at 10 min)
    assert days[0].observed_seconds == D(1200)
    assert days[0].quoted_seconds == 0
    assert days[0].spread_avg is None


def test_fills_reduce_the_depth_and_days_split_at_midnight() -> None:
    quotes = [
        Quote("buy", D(99), D(2), t(23), None, fills=((t(23, 30), D(1)),)),
        Quote("sell", D(101), D(2), t(23), None),
    ]
    marks = [Mark(t(23), D(100))]
    days = quoting_by_day(
        quotes=quotes,
        marks=marks,
        band=BAND,
        start=t(23),
        end=t(1, day=2),
        max_gap=timedelta(hours=3),
    )
    assert [d.day.isoformat() for d in days] == ["2026-03-01", "2026-03-02"]
    assert [d.observed_seconds for d in days] == [D(3600), D(3600)]
    assert [d.uptime for d in days] == [D(1), D(1)]
    # 23:00-24:00 is looked at 23:30 (the fill of 1 has happened): 1 * 99 remains
    assert days[0].bid_depth == D(99)
    assert days[1].bid_depth == D(99)


def test_weighted_percentile_returns_a_quoted_value() -> None:
    values = [(D("0.01"), D(90)), (D("0.05"), D(10))]
    assert weighted_percentile(values, D("0.95")) == D("0.05")
    assert weighted_percentile(values, D("0.5")) == D("0.01")
    assert weighted_percentile([], D("0.95")) is None
