"""The venue's precision, for display: (exchange id, symbol) -> (price step, amount step).

Where a market's steps live:
- a paper venue's market is its `PaperMarket` row (its configuration, the same increments
  its gateway rounds to);
- a ccxt venue's markets are loaded by its gateway at run time; what the database keeps of
  them is the market the strategy runtime last quoted from (`MarketSnapshotRecord.payload`,
  written with every decision, `strategy.marketdata`'s encoding). Its latest slot is read.

A market found in neither (nothing quoted on it lately, its records pruned) is unknown, and
the console falls back to 8 decimals there. Lookups are per page: one query for the paper
markets of the page, then one index scan per distinct other market (its latest slot), never
one per row. No process-wide cache: a venue may change its tick, and a page load is the
natural unit of freshness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q

from exchanges.paper.models import PaperMarket
from strategy.models import MarketSnapshotRecord

Market = tuple[str, str]  # (exchange id, unified symbol)

# Where the steps of a row are kept for its columns (set by `steps_attach`).
STEPS_ATTR = "_console_market_steps"


@dataclass(frozen=True)
class MarketSteps:
    price: Decimal | None  # tick size
    amount: Decimal | None  # lot size


UNKNOWN = MarketSteps(price=None, amount=None)


def _dec(value: Any) -> Decimal | None:
    try:
        step = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return step if step.is_finite() and step > 0 else None


def market_steps(markets: Iterable[Market]) -> dict[Market, MarketSteps]:
    """The known steps of each market asked for (unknown markets are left out)."""
    wanted = {(str(e), str(s)) for e, s in markets if e and s}
    found: dict[Market, MarketSteps] = {}
    if not wanted:
        return found
    paper = reduce(or_, (Q(venue=e, symbol=s) for e, s in sorted(wanted)))
    for venue, symbol, price, amount in PaperMarket.objects.filter(paper).values_list(
        "venue", "symbol", "price_increment", "amount_increment"
    ):
        found[(venue, symbol)] = MarketSteps(price=_dec(price), amount=_dec(amount))
    for exchange_id, symbol in sorted(wanted - found.keys()):
        # The unique (exchange_id, symbol, slot) index answers this with one backward step.
        payload = (
            MarketSnapshotRecord.objects.filter(exchange_id=exchange_id, symbol=symbol)
            .order_by("-slot")
            .values_list("payload", flat=True)
            .first()
        )
        market = payload.get("market") if isinstance(payload, dict) else None
        if isinstance(market, dict):
            found[(exchange_id, symbol)] = MarketSteps(
                price=_dec(market.get("price_increment")),
                amount=_dec(market.get("amount_increment")),
            )
    return found


def _exchange_and_symbol(row: Any) -> Market:
    exchange_id = getattr(row, "exchange_id", None) or getattr(row, "venue", "")
    return (str(exchange_id), str(row.symbol))


def steps_attach(rows: Iterable[Any], market_of: Callable[[Any], Market] | None = None) -> None:
    """Look the steps of every row's market up at once and keep them on the row."""
    rows = list(rows)
    key = market_of or _exchange_and_symbol
    known = market_steps(key(row) for row in rows)
    for row in rows:
        setattr(row, STEPS_ATTR, known.get(key(row), UNKNOWN))


def paper_steps_attach(rows: Iterable[Any]) -> None:
    """Rows of a paper market (a `market` foreign key): its increments, one query a page."""
    rows = list(rows)
    ids = {row.market_id for row in rows}
    known = {
        pk: MarketSteps(price=_dec(price), amount=_dec(amount))
        for pk, price, amount in PaperMarket.objects.filter(pk__in=ids).values_list(
            "pk", "price_increment", "amount_increment"
        )
    }
    for row in rows:
        setattr(row, STEPS_ATTR, known.get(row.market_id, UNKNOWN))


def steps_of(row: Any) -> MarketSteps:
    """The steps `steps_attach` kept on a row (unknown when it was not looked up)."""
    steps = getattr(row, STEPS_ATTR, None)
    return steps if isinstance(steps, MarketSteps) else UNKNOWN
