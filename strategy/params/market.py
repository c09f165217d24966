"""Parameters checked against the market they will quote on (known at session start).

`from_dto` cannot know the venue's lot: an order amount below it would be floored to
zero on every tick and the session would quote nothing, silently. This check turns that
into a 400 when the session is started.
"""

from __future__ import annotations

from exchanges.venues.base import MarketInfo
from strategy.params.parsing import fail
from strategy.params.pmm import PureMarketMakingParams


def validate_for_market(params: PureMarketMakingParams, market: MarketInfo) -> None:
    """Raise `ValidationFailed` naming the field when a level could never be placed."""
    amounts = [("orderAmount", params.level_amount(i)) for i in range(params.number_of_layers)]
    if params.effective_override():
        amounts = [(f"orderOverride.{o.name}", o.amount) for o in params.effective_override()]
    for field, amount in amounts:
        if amount < market.amount_increment:
            raise fail(
                field,
                f"{amount} is below the market's amount step {market.amount_increment} "
                f"({market.symbol}): it would round to nothing",
            )
        if market.min_amount is not None and amount < market.min_amount:
            raise fail(field, f"{amount} is below the market's minimum amount {market.min_amount}")
