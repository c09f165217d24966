"""The matching engine's invariants, as the property tests check them after every operation.

- Conservation: for every asset, what the accounts hold (free + used) plus the fees the
  engine collected (rebates negatively), less what came in from outside plus what went out,
  never changes: `conserved_total(engine, asset) == 0`.
- Reservations: every balance's `used` is exactly what its open orders hold, and nothing is
  negative.
"""

from __future__ import annotations

from decimal import Decimal

from exchanges.venues.book import ZERO
from exchanges.venues.matching import MatchingEngine


def asset_total(engine: MatchingEngine, asset: str) -> Decimal:
    held = sum((fu[0] + fu[1] for (_, a), fu in engine.balances.items() if a == asset), ZERO)
    return held + engine.fees_collected.get(asset, ZERO)


def conserved_total(engine: MatchingEngine, asset: str) -> Decimal:
    """Held + fees - external inflow + external outflow: zero for every asset, always."""
    return (
        asset_total(engine, asset)
        - engine.external_in.get(asset, ZERO)
        + engine.external_out.get(asset, ZERO)
    )


def reservations_consistent(engine: MatchingEngine) -> bool:
    """`used` of every (account, asset) equals what its open orders hold."""
    expected: dict[tuple[str, str], Decimal] = {}
    for order in engine.orders.values():
        if order.status != "open":
            continue
        spec = engine.markets[order.symbol]
        asset = spec.quote if order.side == "buy" else spec.base
        key = (order.account, asset)
        expected[key] = expected.get(key, ZERO) + order.reserved
    for key, (free, used) in engine.balances.items():
        if free < 0 or used < 0 or used != expected.get(key, ZERO):
            return False
    return True
