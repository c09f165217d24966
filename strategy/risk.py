"""Risk checks of a session run and the kill switches.

Kill switches are read fresh from the database on every run and by the executor before
every place (a halt flipped in the console stops the very next order). A halt blocks new
orders only: cancels always go out, because cancelling reduces risk.

Per-session limits on the places a run is about to write (pure, after self-trade
prevention): at most `max_open_orders` live orders, at most `max_notional` quote locked by
live orders plus places, no price further than STRATEGY_MAX_PRICE_DEVIATION from the
reference price, no buy above the ceiling and no sell below the floor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from exchanges.venues.base import OrderSide
from strategy.enums import KillScope
from strategy.models import KillSwitch
from strategy.quoting.types import DesiredQuote


@dataclass(frozen=True)
class Halt:
    scope: str
    key: str
    reason: str


def active_halts() -> list[Halt]:
    return [
        Halt(scope=k.scope, key=k.key, reason=k.reason)
        for k in KillSwitch.objects.filter(active=True).only("scope", "key", "reason")
    ]


def halt_for(
    halts: Iterable[Halt], *, exchange_id: str, symbol: str, session_id: int | None
) -> Halt | None:
    """The first halt covering (venue, pair, session), global first."""
    wanted = [
        (KillScope.GLOBAL, ""),
        (KillScope.VENUE, exchange_id),
        (KillScope.PAIR, symbol),
        (KillScope.SESSION, str(session_id) if session_id is not None else None),
    ]
    for halt in halts:
        for scope, key in wanted:
            if halt.scope == scope and halt.key == key:
                return halt
    return None


@dataclass(frozen=True)
class RiskResult:
    allowed: tuple[DesiredQuote, ...]
    rejected: tuple[tuple[DesiredQuote, str], ...]


def risk_filter(
    *,
    places: Iterable[DesiredQuote],
    live_count: int,
    live_notional: Decimal,
    reference_price: Decimal | None,
    max_open_orders: int,
    max_notional: Decimal | None,
    max_deviation: Decimal,
    ceiling_price: Decimal | None,
    floor_price: Decimal | None,
) -> RiskResult:
    """Places within the session's limits, inner levels first; the rest with a reason."""
    allowed: list[DesiredQuote] = []
    rejected: list[tuple[DesiredQuote, str]] = []
    count, notional = live_count, live_notional
    for quote in sorted(places, key=lambda q: (q.level, q.side)):
        if reference_price is None or reference_price <= 0:
            rejected.append((quote, "no_reference_price"))
            continue
        if abs(quote.price - reference_price) / reference_price > max_deviation:
            rejected.append((quote, "price_deviation"))
            continue
        if (
            quote.side == OrderSide.BUY
            and ceiling_price is not None
            and quote.price > ceiling_price
        ):
            rejected.append((quote, "above_ceiling"))
            continue
        if quote.side == OrderSide.SELL and floor_price is not None and quote.price < floor_price:
            rejected.append((quote, "below_floor"))
            continue
        if count + 1 > max_open_orders:
            rejected.append((quote, "max_open_orders"))
            continue
        if max_notional is not None and notional + quote.notional > max_notional:
            rejected.append((quote, "max_notional"))
            continue
        allowed.append(quote)
        count += 1
        notional += quote.notional
    return RiskResult(allowed=tuple(allowed), rejected=tuple(rejected))
