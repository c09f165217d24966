"""The paper venue's price feed: simulated outside trading that our book lives in.

Design:
- Time is cut into steps of `feed_step_seconds`; step k is `floor(unix_time / step)`.
  Each step produces one outside trade print (price, amount). The feed is a pure function
  of (market settings, previous price, step): random numbers come from a generator seeded
  with `(feed_seed, step)`, so every process computes the same prints and a restart
  resumes where the database left off.
- Random walk: geometric, `p_k = p_{k-1} * exp(volatility * z_k)` with z_k ~ N(0, 1),
  rounded to the tick. The print amount is exponential with mean `feed_print_amount`.
- CSV replay: rows `timestamp,price,amount` (header optional) replayed one row per step,
  looping; the file's own timestamps only order the rows.
- The feed is advanced lazily, under the market's row lock, by whichever operation touches
  the market first (all steps since `feed_step`, at most `MAX_CATCHUP` of them: after a
  long stop the walk resumes from the last price instead of replaying hours).
- Simulated outside book: `book_levels` levels each side, the first `book_half_spread`
  away from the feed price and then one more half-spread per level, `book_level_amount`
  each. Incoming orders may take it (as takers); it never rests on our book.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from pathlib import Path

from exchanges.venues.matching import ExternalLevel

MAX_CATCHUP = 600


@dataclass(frozen=True)
class FeedSettings:
    kind: str
    seed: int
    volatility: Decimal
    step_seconds: int
    csv_path: str
    print_amount: Decimal
    price_increment: Decimal
    amount_increment: Decimal
    half_spread: Decimal
    levels: int
    level_amount: Decimal


@dataclass(frozen=True)
class Print:
    step: int
    price: Decimal
    amount: Decimal


def _rng(seed: int, step: int) -> random.Random:
    # Simulation randomness, not cryptography: a seeded, reproducible generator is the point.
    return random.Random(f"{seed}:{step}")  # noqa: S311


def _round(value: Decimal, increment: Decimal) -> Decimal:
    return (value / increment).to_integral_value(rounding=ROUND_HALF_EVEN) * increment


@lru_cache(maxsize=16)
def load_csv(path: str) -> tuple[tuple[Decimal, Decimal], ...]:
    rows: list[tuple[Decimal, Decimal]] = []
    with Path(path).open(newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 3:
                continue
            try:
                rows.append((Decimal(row[1]), Decimal(row[2])))
            except ArithmeticError:
                continue  # header line
    if not rows:
        raise ValueError(f"no trades in {path}")
    return tuple(rows)


def next_print(settings: FeedSettings, previous: Decimal, step: int) -> Print:
    if settings.kind == "csv":
        rows = load_csv(settings.csv_path)
        price, amount = rows[step % len(rows)]
        return Print(step, _round(price, settings.price_increment), amount)
    rng = _rng(settings.seed, step)
    z = rng.gauss(0.0, 1.0)
    # The random factor is drawn as a float (the generator's domain) and converted once;
    # the price itself stays Decimal and is rounded to the tick.
    factor = Decimal(repr(math.exp(float(settings.volatility) * z)))
    price = max(_round(previous * factor, settings.price_increment), settings.price_increment)
    amount = Decimal(repr(rng.expovariate(1.0))) * settings.print_amount
    amount = max(_round(amount, settings.amount_increment), settings.amount_increment)
    return Print(step, price, amount)


def prints_between(
    settings: FeedSettings, price: Decimal, last_step: int, now_step: int
) -> list[Print]:
    """Prints for steps (last_step, now_step], at most MAX_CATCHUP of the latest."""
    if now_step <= last_step:
        return []
    first = max(last_step + 1, now_step - MAX_CATCHUP + 1)
    out = []
    for step in range(first, now_step + 1):
        p = next_print(settings, price, step)
        out.append(p)
        price = p.price
    return out


def outside_book(
    settings: FeedSettings, price: Decimal
) -> tuple[list[ExternalLevel], list[ExternalLevel]]:
    """(bids, asks) of simulated outside liquidity around `price`, best first."""
    bids, asks = [], []
    for i in range(1, settings.levels + 1):
        offset = price * settings.half_spread * i
        bid = _round(price - offset, settings.price_increment)
        ask = _round(price + offset, settings.price_increment)
        if bid > 0:
            bids.append(ExternalLevel(bid, settings.level_amount))
        asks.append(ExternalLevel(ask, settings.level_amount))
    return bids, asks
