"""What a token creator asks of a market maker, per day: quoting uptime, the spread we quoted
and the depth we showed near the mid.

Inputs are facts we store: our orders on the venue as intervals (`TrackedOrder`: accepted at
`created_at`, gone at `closed_at`, less what fills took), and the mark samples the runtime
recorded when it decided (`DecisionRecord`: the mid of the book it decided from). Between
two samples the market is taken as the earlier sample says (a step function): a segment
`[t_i, t_i+1)` is judged at `t_i`, weighted by its length, and split at midnight UTC so each
day gets its own share; our resting orders are looked at in the middle of each piece. A segment longer than `max_gap` is cut there: with no sample we do
not know the mid, and such time counts as not observed rather than as quoted.

- **Uptime**: share of observed time with both sides quoted, a side being quoted when our
  best price on it lies within that side's configured spread plus the refresh tolerance of
  the mid (Hummingbot's own "still acceptable" band for a resting quote).
- **Spread**: `(our best ask - our best bid) / mid` while both sides rest; time-weighted
  mean and 95th percentile.
- **Depth**: quote value of our resting size within ±`depth_band` (2 %) of the mid, per side,
  time-weighted mean.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)
DEPTH_BAND = Decimal("0.02")


@dataclass(frozen=True)
class Quote:
    """One of our orders while it rested: `amount` at `start`, reduced by `fills`."""

    side: str
    price: Decimal
    amount: Decimal
    start: datetime
    end: datetime | None  # None: still open at the window's end
    fills: tuple[tuple[datetime, Decimal], ...] = ()

    def remaining_at(self, t: datetime) -> Decimal:
        if t < self.start or (self.end is not None and t >= self.end):
            return ZERO
        return self.amount - sum((a for when, a in self.fills if when <= t), ZERO)


@dataclass(frozen=True)
class Mark:
    at: datetime
    mid: Decimal


@dataclass
class DayQuoting:
    day: date
    observed_seconds: Decimal = ZERO
    quoted_seconds: Decimal = ZERO
    spread_weighted: Decimal = ZERO
    spread_seconds: Decimal = ZERO
    spreads: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (spread, seconds)
    bid_depth_weighted: Decimal = ZERO
    ask_depth_weighted: Decimal = ZERO

    @property
    def uptime(self) -> Decimal | None:
        return None if not self.observed_seconds else self.quoted_seconds / self.observed_seconds

    @property
    def spread_avg(self) -> Decimal | None:
        return None if not self.spread_seconds else self.spread_weighted / self.spread_seconds

    @property
    def spread_p95(self) -> Decimal | None:
        return weighted_percentile(self.spreads, Decimal("0.95"))

    @property
    def bid_depth(self) -> Decimal | None:
        return (
            None if not self.observed_seconds else self.bid_depth_weighted / self.observed_seconds
        )

    @property
    def ask_depth(self) -> Decimal | None:
        return (
            None if not self.observed_seconds else self.ask_depth_weighted / self.observed_seconds
        )


def weighted_percentile(values: Sequence[tuple[Decimal, Decimal]], q: Decimal) -> Decimal | None:
    """The smallest value whose cumulative weight reaches `q` of the total (no interpolation,
    so the answer is always a spread we actually quoted)."""
    total = sum((w for _, w in values), ZERO)
    if not total:
        return None
    acc = ZERO
    for value, weight in sorted(values):
        acc += weight
        if acc >= q * total:
            return value
    return sorted(values)[-1][0]


@dataclass(frozen=True)
class Band:
    """How far from the mid a quote may rest and still count (fractions of the mid)."""

    bid_spread: Decimal
    ask_spread: Decimal
    tolerance: Decimal = ZERO


def _segments(
    marks: Sequence[Mark], start: datetime, end: datetime, max_gap: timedelta
) -> Iterable[tuple[datetime, datetime, Mark]]:
    """[from, to) pieces judged by one mark, clipped to the window and to midnight UTC."""
    ordered = sorted(marks, key=lambda m: m.at)
    for i, mark in enumerate(ordered):
        seg_start = max(mark.at, start)
        nxt = ordered[i + 1].at if i + 1 < len(ordered) else end
        seg_end = min(nxt, end, mark.at + max_gap)
        while seg_start < seg_end:
            midnight = datetime.combine(
                seg_start.date() + timedelta(days=1), datetime.min.time(), seg_start.tzinfo
            )
            piece_end = min(seg_end, midnight)
            yield seg_start, piece_end, mark
            seg_start = piece_end


def quoting_by_day(
    *,
    quotes: Sequence[Quote],
    marks: Sequence[Mark],
    band: Band,
    start: datetime,
    end: datetime,
    max_gap: timedelta,
    depth_band: Decimal = DEPTH_BAND,
) -> list[DayQuoting]:
    days: dict[date, DayQuoting] = {}
    for seg_start, seg_end, mark in _segments(marks, start, end, max_gap):
        if mark.mid <= 0:
            continue
        seconds = Decimal((seg_end - seg_start).total_seconds())
        day = days.setdefault(seg_start.date(), DayQuoting(seg_start.date()))
        day.observed_seconds += seconds
        # Our orders are looked at mid-piece: the ones the decision at `mark.at` placed
        # appear a moment after it, and a piece is long next to that moment.
        probe = seg_start + (seg_end - seg_start) / 2
        best: dict[str, Decimal] = {}
        depth: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for q in quotes:
            remaining = q.remaining_at(probe)
            if remaining <= 0:
                continue
            if q.side == "buy":
                best["buy"] = max(best.get("buy", q.price), q.price)
            else:
                best["sell"] = min(best.get("sell", q.price), q.price)
            if abs(q.price - mark.mid) <= depth_band * mark.mid:
                depth[q.side] += remaining * q.price
        day.bid_depth_weighted += depth["buy"] * seconds
        day.ask_depth_weighted += depth["sell"] * seconds
        if "buy" in best and "sell" in best:
            spread = (best["sell"] - best["buy"]) / mark.mid
            day.spread_weighted += spread * seconds
            day.spread_seconds += seconds
            day.spreads.append((spread, seconds))
            bid_ok = best["buy"] >= mark.mid * (1 - band.bid_spread - band.tolerance)
            ask_ok = best["sell"] <= mark.mid * (1 + band.ask_spread + band.tolerance)
            if bid_ok and ask_ok:
                day.quoted_seconds += seconds
    return [days[d] for d in sorted(days)]
