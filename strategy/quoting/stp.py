"""Self-trade prevention: never place a quote that would match one of our own resting orders.

Input: the quotes one session is about to place and the resting orders of *all* our
sessions and venue accounts on the same venue and pair (the session's own included: a
cancel sent this tick may not have landed when the place arrives). A bid matches a resting
ask of ours when bid.price >= ask.price; an ask matches a resting bid when ask.price <=
bid.price. Such a quote is **dropped**, not clamped: clamping it one tick inside our own
order would put it at the top of the book, possibly marketable against a third party's
better order, and quietly change the strategy's price. A dropped quote is simply retried on
the next tick, when the book (and our orders) have moved.

Apply it to `QuotePlan.places` (what is about to be sent), after the diff.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from exchanges.venues.base import OrderSide
from strategy.quoting.types import DesiredQuote


@dataclass(frozen=True)
class RestingOrder:
    """One of our orders resting at the venue, whoever owns it."""

    side: OrderSide
    price: Decimal
    client_order_id: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class StpResult:
    allowed: tuple[DesiredQuote, ...]
    dropped: tuple[DesiredQuote, ...]


def would_self_trade(quote: DesiredQuote, resting: list[RestingOrder]) -> bool:
    if quote.side == OrderSide.BUY:
        return any(o.side == OrderSide.SELL and quote.price >= o.price for o in resting)
    return any(o.side == OrderSide.BUY and quote.price <= o.price for o in resting)


@dataclass(frozen=True)
class Bounds:
    """The lowest of our resting asks and the highest of our resting bids (None: none)."""

    lowest_ask: Decimal | None
    highest_bid: Decimal | None

    def with_orders(self, orders: list[RestingOrder]) -> Bounds:
        """The bounds once `orders` rest too."""
        return resting_bounds(orders, start=self)


def resting_bounds(resting: list[RestingOrder], *, start: Bounds | None = None) -> Bounds:
    lowest_ask = start.lowest_ask if start else None
    highest_bid = start.highest_bid if start else None
    for o in resting:
        if o.side == OrderSide.SELL:
            lowest_ask = o.price if lowest_ask is None else min(lowest_ask, o.price)
        else:
            highest_bid = o.price if highest_bid is None else max(highest_bid, o.price)
    return Bounds(lowest_ask=lowest_ask, highest_bid=highest_bid)


def filter_self_trades(
    *,
    quotes: list[DesiredQuote] | tuple[DesiredQuote, ...],
    resting: list[RestingOrder] | None = None,
    bounds: Bounds | None = None,
) -> StpResult:
    """Split `quotes` into the ones safe to place and the ones that would hit our own orders.

    Only the lowest resting ask and the highest resting bid matter: pass `bounds` when
    the caller keeps them (a batch of runs on one pair), else `resting`.
    Quotes of the same batch are also checked against each other: a bid and an ask of the
    batch that cross would match once both rest.
    """
    if bounds is None:
        bounds = resting_bounds(resting or [])
    lowest_ask, highest_bid = bounds.lowest_ask, bounds.highest_bid
    allowed: list[DesiredQuote] = []
    dropped: list[DesiredQuote] = []
    for quote in quotes:
        if quote.side == OrderSide.BUY:
            hit = lowest_ask is not None and quote.price >= lowest_ask
        else:
            hit = highest_bid is not None and quote.price <= highest_bid
        if hit:
            dropped.append(quote)
            continue
        allowed.append(quote)
        # Once placed it rests too: later quotes of the batch must not cross it.
        if quote.side == OrderSide.BUY:
            highest_bid = quote.price if highest_bid is None else max(highest_bid, quote.price)
        else:
            lowest_ask = quote.price if lowest_ask is None else min(lowest_ask, quote.price)
    return StpResult(allowed=tuple(allowed), dropped=tuple(dropped))
