"""Pure market making: (parameters, market data, balances, time) -> desired quotes.

A pure function: no database, no network, no clock (`now` is passed in). The quotes are
Hummingbot's proposal (`strategy.quoting.proposal`, which follows `c_tick`: base
proposal, level modifiers, price modifiers, size modifiers, budget, filter out takers)
with Hummingbot's semantics by default and Mr.Market's opt-ins where the parameters ask.

The reference price (`reference_price_of`) is Hummingbot's `get_price()`: the price type
applied to the price source's book — our venue's, or the external venue's
(`oracleExchangeName`, Hummingbot's `external_market` price source) — falling back to the
source's mid price when the type has no value (no last trade, no own trade yet, ...).

After the proposal, what the venue would reject anyway (below its minimum amount or
notional, above its maximum amount) is trimmed or dropped: a guard, not a strategy rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from exchanges.venues.base import MarketInfo, OrderBook, OrderSide
from strategy.params import PriceSourceType, PureMarketMakingParams
from strategy.quoting.proposal import Inputs, Proposal, ProposalState, build_proposal
from strategy.quoting.quantize import Quantizer, Steps, floor_amount
from strategy.quoting.rounding import meets_minimums
from strategy.quoting.types import DesiredQuote

ZERO = Decimal(0)


@dataclass(frozen=True)
class PriceSource:
    """A venue's market data as a price source: its book and its last trade price."""

    book: OrderBook
    last_price: Decimal | None = None

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.book.best_bid, self.book.best_ask
        return (bid + ask) / 2 if bid is not None and ask is not None else None


def reference_price_of(
    *,
    params: PureMarketMakingParams,
    source: PriceSource,
    last_own_trade_price: Decimal | None = None,
) -> Decimal | None:
    """Hummingbot's `get_price()`; None when even the mid price is unknown."""
    kind = params.price_source_type
    price: Decimal | None
    if kind is PriceSourceType.LAST_OWN_TRADE_PRICE:
        price = last_own_trade_price
    elif kind is PriceSourceType.BEST_BID:
        price = source.book.best_bid
    elif kind is PriceSourceType.BEST_ASK:
        price = source.book.best_ask
    elif kind is PriceSourceType.LAST_PRICE:
        price = source.last_price
    else:  # mid_price, and inventory_cost (whose buys quote around the mid)
        price = None
    if price is None:
        price = source.mid
    return price if price is not None and price > 0 else None


def source_price(
    *,
    params: PureMarketMakingParams,
    book: OrderBook,
    last_price: Decimal | None,
    reference_price: Decimal | None,
    oracle: PriceSource | None = None,
    last_own_trade_price: Decimal | None = None,
) -> Decimal | None:
    """The price quotes are built around, or None when it cannot be known (no quotes).

    With an external price source, its book (`oracle`) is the source; a runtime that only
    has the external mid passes it as `reference_price`. An external source without a
    price means no quotes: falling back to our own book would quote around the very price
    the operator chose not to trust.
    """
    if params.oracle_exchange_name is not None:
        if oracle is None:
            return reference_price if reference_price is not None and reference_price > 0 else None
        source = oracle
    else:
        source = PriceSource(book=book, last_price=last_price)
    return reference_price_of(
        params=params, source=source, last_own_trade_price=last_own_trade_price
    )


def in_filled_order_delay(
    *, params: PureMarketMakingParams, now: datetime, last_fill_at: datetime | None
) -> bool:
    """True while re-creation is held back after a *complete* fill (`filled_order_delay`).

    `last_fill_at` must be the time of the last complete fill of a non-hanging order, as
    in Hummingbot; partial fills must not be passed here (they delay nothing)."""
    if last_fill_at is None:
        return False
    return now < last_fill_at + timedelta(milliseconds=params.filled_order_delay_ms)


def to_desired(proposal: Proposal, market: MarketInfo, quantizer: Quantizer) -> list[DesiredQuote]:
    """Bids then asks, innermost first (level: base-proposal position); venue limits applied."""
    out: list[DesiredQuote] = []
    for side, entries in ((OrderSide.BUY, proposal.buys), (OrderSide.SELL, proposal.sells)):
        for entry in entries:
            amount = entry.size
            if market.max_amount is not None and amount > market.max_amount:
                amount = floor_amount(quantizer, market.max_amount)
            if meets_minimums(entry.price, amount, market):
                out.append(
                    DesiredQuote(side=side, level=entry.level, price=entry.price, amount=amount)
                )
    return out


def build_quotes(
    *,
    params: PureMarketMakingParams,
    market: MarketInfo,
    book: OrderBook,
    last_price: Decimal | None,
    reference_price: Decimal | None,
    base_balance: Decimal,
    quote_balance: Decimal,
    budget_base: Decimal,
    budget_quote: Decimal,
    now: datetime,
    last_fill_at: datetime | None,
    oracle: PriceSource | None = None,
    state: ProposalState | None = None,
    last_own_trade_price: Decimal | None = None,
    cost_price: Decimal | None = None,
    own_buy_size: Decimal = ZERO,
    own_sell_size: Decimal = ZERO,
) -> list[DesiredQuote]:
    """Desired quotes, bids then asks, each side from the innermost level out.

    `base_balance`/`quote_balance` are the order's whole inventory (free plus what its
    live orders lock): they drive the inventory skew. `budget_base`/`budget_quote` are
    what the new quote set may lock: the order's ledger budget minus what orders that
    stay regardless (hanging orders) already lock. `state` carries the moving band and
    the ping-pong counts between ticks (`build_proposal_for` returns the next one).
    """
    return build_proposal_for(
        params=params,
        market=market,
        book=book,
        last_price=last_price,
        reference_price=reference_price,
        base_balance=base_balance,
        quote_balance=quote_balance,
        budget_base=budget_base,
        budget_quote=budget_quote,
        now=now,
        last_fill_at=last_fill_at,
        oracle=oracle,
        state=state,
        last_own_trade_price=last_own_trade_price,
        cost_price=cost_price,
        own_buy_size=own_buy_size,
        own_sell_size=own_sell_size,
    )[0]


def build_proposal_for(
    *,
    params: PureMarketMakingParams,
    market: MarketInfo,
    book: OrderBook,
    last_price: Decimal | None,
    reference_price: Decimal | None,
    base_balance: Decimal,
    quote_balance: Decimal,
    budget_base: Decimal,
    budget_quote: Decimal,
    now: datetime,
    last_fill_at: datetime | None,
    oracle: PriceSource | None = None,
    state: ProposalState | None = None,
    last_own_trade_price: Decimal | None = None,
    cost_price: Decimal | None = None,
    own_buy_size: Decimal = ZERO,
    own_sell_size: Decimal = ZERO,
) -> tuple[list[DesiredQuote], ProposalState]:
    """`build_quotes` and the proposal state to keep for the next tick."""
    state = state or ProposalState()
    if not market.active:
        return [], state
    ref = source_price(
        params=params,
        book=book,
        last_price=last_price,
        reference_price=reference_price,
        oracle=oracle,
        last_own_trade_price=last_own_trade_price,
    )
    if ref is None or in_filled_order_delay(params=params, now=now, last_fill_at=last_fill_at):
        return [], state
    if params.price_source_type is PriceSourceType.INVENTORY_COST and cost_price is None:
        cost_price = params.inventory_price
        if cost_price is None and base_balance > 0:
            # Hummingbot: "Initial inventory price is not set while inventory_cost feature
            # is active" — selling without a cost price could sell below it.
            return [], state
    steps = Steps.of(market)
    inputs = Inputs(
        price=ref,
        book=book,
        quantizer=steps,
        maker_fee=market.maker_fee,
        taker_fee=market.taker_fee,
        base_balance=base_balance,
        quote_balance=quote_balance,
        budget_base=budget_base,
        budget_quote=budget_quote,
        now=now,
        cost_price=cost_price,
        own_buy_size=own_buy_size,
        own_sell_size=own_sell_size,
    )
    proposal, state = build_proposal(params, inputs, state)
    return to_desired(proposal, market, steps), state
