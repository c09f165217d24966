"""Hummingbot's pure-market-making proposal, step by step, as pure functions.

Follows `PureMarketMakingStrategy.c_tick` in `pure_market_making.pyx`:

1. `c_create_base_proposal`: levels (or the order override / split levels) around the
   reference price; prices and sizes quantized (floored); an inventory-cost price type
   raises the *sell* reference to at least the cost price;
2. `c_apply_order_levels_modifiers`: static price band, moving price band, ping-pong;
3. `c_apply_order_price_modifiers`: order optimization (bid/ask jumping within
   `*_order_optimization_depth`), then add transaction costs;
4. `c_apply_order_size_modifiers`: inventory skew;
5. `c_apply_budget_constraint`;
6. `c_filter_out_takers` unless `take_if_crossed`.

State that Hummingbot keeps on the strategy object (the moving band, ping-pong fill
counts) comes in as `ProposalState` and goes out as the next one. Mr.Market's opt-ins
(`roundAsksUp`, `multipliedLayerSpread`, `filterTakersBeforeBudget`,
`exactSkewArithmetic`) change one step each, where that step is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from exchanges.venues.base import OrderBook, OrderSide
from strategy.params import PureMarketMakingParams
from strategy.quoting import quantize as qz
from strategy.quoting.bands import MovingBand, static_band_sides
from strategy.quoting.skew import bid_ask_ratios, soften

ZERO, ONE = Decimal(0), Decimal(1)


@dataclass(frozen=True)
class PriceSize:
    price: Decimal
    size: Decimal
    level: int = 0  # position in the base proposal: kept through the filters


@dataclass(frozen=True)
class Proposal:
    buys: tuple[PriceSize, ...]  # innermost first
    sells: tuple[PriceSize, ...]


@dataclass(frozen=True)
class ProposalState:
    """What Hummingbot carries between ticks for the proposal."""

    band: MovingBand = field(default_factory=MovingBand)
    filled_buys_balance: int = 0  # ping-pong: complete buy fills not yet matched by sells
    filled_sells_balance: int = 0


@dataclass(frozen=True)
class Inputs:
    """Everything a proposal is built from, for one tick."""

    price: Decimal  # the reference price (`get_price()`), already by price type
    book: OrderBook  # our own venue's book (order optimization, taker filter)
    quantizer: qz.Quantizer
    maker_fee: Decimal  # fraction
    taker_fee: Decimal
    base_balance: Decimal  # inventory for the skew: available + all active orders
    quote_balance: Decimal
    budget_base: Decimal  # what the new orders may lock: available + non-hanging orders
    budget_quote: Decimal
    now: datetime
    cost_price: Decimal | None = None  # inventory_cost price type: average cost of the base
    own_buy_size: Decimal = ZERO  # order optimization: size of our resting bid (Hummingbot:
    own_sell_size: Decimal = ZERO  # the last active order of that side)


# ---------------------------------------------------------------------------- 1. base


def _price(
    params: PureMarketMakingParams, q: qz.Quantizer, side: OrderSide, raw: Decimal
) -> Decimal:
    if side == OrderSide.SELL and params.round_asks_up:
        return qz.ceil_price(q, raw)
    return qz.floor_price(q, raw)


def base_proposal(params: PureMarketMakingParams, inputs: Inputs) -> Proposal:
    q = inputs.quantizer
    buy_ref = sell_ref = inputs.price
    if inputs.cost_price is not None:
        sell_ref = max(inputs.cost_price, sell_ref)  # only sells are limited
    buys: list[PriceSize] = []
    sells: list[PriceSize] = []
    override = params.effective_override()
    if override:
        for entry in override:
            ref = buy_ref if entry.side == OrderSide.BUY else sell_ref
            sign = -1 if entry.side == OrderSide.BUY else 1
            price = _price(params, q, entry.side, ref * (1 + sign * entry.spread))
            size = qz.floor_amount(q, entry.amount)
            if size > 0 and price > 0:
                same = buys if entry.side == OrderSide.BUY else sells
                same.append(PriceSize(price, size, len(same)))
        return Proposal(tuple(buys), tuple(sells))
    for level in range(params.number_of_layers):
        size = qz.floor_amount(q, params.level_amount(level))
        bid = _price(
            params, q, OrderSide.BUY, buy_ref * (1 - params.level_spread(OrderSide.BUY, level))
        )
        ask = _price(
            params, q, OrderSide.SELL, sell_ref * (1 + params.level_spread(OrderSide.SELL, level))
        )
        if size > 0:
            buys.append(PriceSize(bid, size, level))
            sells.append(PriceSize(ask, size, level))
    return Proposal(tuple(buys), tuple(sells))


# ---------------------------------------------------------------------------- 2. levels


def apply_level_modifiers(
    params: PureMarketMakingParams, proposal: Proposal, state: ProposalState, inputs: Inputs
) -> tuple[Proposal, ProposalState]:
    buys, sells = proposal.buys, proposal.sells
    allow_buys, allow_sells = static_band_sides(
        price=inputs.price, ceiling=params.ceiling_price, floor=params.floor_price
    )
    buys, sells = (buys if allow_buys else ()), (sells if allow_sells else ())
    if params.moving_price_band_enabled:
        band = state.band.refreshed(
            now=inputs.now,
            price=inputs.price,
            floor_pct=params.price_floor_pct,
            ceiling_pct=params.price_ceiling_pct,
            refresh=timedelta(milliseconds=params.price_band_refresh_time_ms),
        )
        state = replace(state, band=band)
        if band.ceiling_exceeded(inputs.price):
            buys = ()
        if band.floor_exceeded(inputs.price):
            sells = ()
    if params.ping_pong_enabled:
        if state.filled_buys_balance == state.filled_sells_balance:
            state = replace(state, filled_buys_balance=0, filled_sells_balance=0)
        buys = buys[state.filled_buys_balance :]
        sells = sells[state.filled_sells_balance :]
    return Proposal(buys, sells), state


# ---------------------------------------------------------------------------- 3. prices


def price_for_volume(book: OrderBook, *, bids: bool, volume: Decimal) -> Decimal | None:
    """Hummingbot's `get_price_for_volume(...).result_price`: the price of the book level
    at which the cumulative volume from the top reaches `volume` (the last level when the
    book is shallower; the top when `volume` is 0)."""
    levels = book.bids if bids else book.asks
    if not levels:
        return None
    cumulative = ZERO
    for level in levels:
        cumulative += level.amount
        if cumulative >= volume:
            return level.price
    return levels[-1].price


def _level_price(params: PureMarketMakingParams, side: OrderSide, top: Decimal, i: int) -> Decimal:
    """Level `i` re-spaced from the optimized top price, in Hummingbot's operation order."""
    sign = -1 if side == OrderSide.BUY else 1
    if params.split_order_levels_enabled:
        spreads = (
            params.bid_order_level_spreads
            if side == OrderSide.BUY
            else params.ask_order_level_spreads
        )
        return top * (1 + sign * spreads[i]) / (1 + sign * spreads[0])
    return top * (1 + sign * params.order_level_spread * i)


def apply_order_optimization(
    params: PureMarketMakingParams, proposal: Proposal, inputs: Inputs
) -> Proposal:
    """Bid/ask jumping (`c_apply_order_optimization`): the innermost bid goes to one tick
    above the best bid found `bid_order_optimization_depth` (+ our own bid) deep, unless
    already lower; deeper levels keep their `order_level_spread` distance from it."""
    q = inputs.quantizer
    buys, sells = proposal.buys, proposal.sells
    if buys:
        top_bid = price_for_volume(
            inputs.book, bids=True, volume=params.bid_order_optimization_depth + inputs.own_buy_size
        )
        if top_bid is not None:
            quantum = q.price_quantum(top_bid)
            above_bid = (math.ceil(top_bid / quantum) + 1) * quantum
            ordered = sorted(buys, key=lambda b: b.price, reverse=True)
            lower = qz.floor_price(q, min(ordered[0].price, above_bid))
            buys = tuple(
                PriceSize(_level_price(params, OrderSide.BUY, lower, i), b.size, b.level)
                for i, b in enumerate(ordered)
            )
    if sells:
        top_ask = price_for_volume(
            inputs.book,
            bids=False,
            volume=params.ask_order_optimization_depth + inputs.own_sell_size,
        )
        if top_ask is not None:
            quantum = q.price_quantum(top_ask)
            below_ask = (math.floor(top_ask / quantum) - 1) * quantum
            ordered = sorted(sells, key=lambda s: s.price)
            higher = qz.floor_price(q, max(ordered[0].price, below_ask))
            sells = tuple(
                PriceSize(_level_price(params, OrderSide.SELL, higher, i), s.size, s.level)
                for i, s in enumerate(ordered)
            )
    return Proposal(buys, sells)


def apply_transaction_costs(
    params: PureMarketMakingParams, proposal: Proposal, inputs: Inputs
) -> Proposal:
    """`c_apply_add_transaction_costs`: bids lowered and asks raised by the fee of the
    order type placed (maker; a plain limit order, the taker fee, with take_if_crossed)."""
    fee = inputs.taker_fee if params.take_if_crossed else inputs.maker_fee
    q = inputs.quantizer
    return Proposal(
        tuple(replace(b, price=qz.floor_price(q, b.price * (1 - fee))) for b in proposal.buys),
        tuple(
            replace(s, price=_price(params, q, OrderSide.SELL, s.price * (1 + fee)))
            for s in proposal.sells
        ),
    )


# ---------------------------------------------------------------------------- 4. sizes


def hummingbot_total_order_size(params: PureMarketMakingParams) -> Decimal:
    """`calculate_total_order_size(order_amount, order_level_amount, order_levels)`."""
    n = Decimal(params.number_of_layers)
    if params.amount_change_type.value == "percentage":
        return 2 * sum((params.level_amount(i) for i in range(params.number_of_layers)), ZERO)
    return 2 * (n * params.order_amount + n * (n - 1) / 2 * params.amount_change_per_layer)


def apply_inventory_skew(
    params: PureMarketMakingParams, proposal: Proposal, inputs: Inputs
) -> Proposal:
    if params.inventory_target_base_ratio is None:
        return proposal
    ratios = bid_ask_ratios(
        base_amount=inputs.base_balance,
        quote_amount=inputs.quote_balance,
        price=inputs.price,
        target_base_ratio=params.inventory_target_base_ratio,
        base_asset_range=hummingbot_total_order_size(params) * params.inventory_range_multiplier,
        exact=params.exact_skew_arithmetic,
    )
    ratios = soften(ratios, params.inventory_skew_factor)
    q = inputs.quantizer
    return Proposal(
        tuple(replace(b, size=qz.floor_amount(q, b.size * ratios.bid)) for b in proposal.buys),
        tuple(replace(s, size=qz.floor_amount(q, s.size * ratios.ask)) for s in proposal.sells),
    )


# ---------------------------------------------------------------------------- 5, 6


def apply_budget(params: PureMarketMakingParams, proposal: Proposal, inputs: Inputs) -> Proposal:
    """`c_apply_budget_constraint`: inner levels first; the level that exhausts the balance
    is trimmed to what is left, the ones after it get nothing. Buys count the maker fee
    (Hummingbot's paper exchange counts a limit order as a maker); a rebate is not
    counted on, the venue locks the full notional."""
    q = inputs.quantizer
    fee = max(inputs.maker_fee, ZERO)
    quote_left = inputs.budget_quote
    buys: list[PriceSize] = []
    for b in proposal.buys:
        cost = b.size * b.price * (1 + fee)
        if quote_left < cost:
            size = qz.floor_amount(q, max(quote_left, ZERO) / (b.price * (1 + fee)))
            quote_left = ZERO
        elif quote_left == 0:
            size = ZERO
        else:
            size, quote_left = b.size, quote_left - cost
        buys.append(replace(b, size=size))
    base_left = inputs.budget_base
    sells: list[PriceSize] = []
    for s in proposal.sells:
        if base_left < s.size:
            size, base_left = qz.floor_amount(q, max(base_left, ZERO)), ZERO
        elif base_left == 0:
            size = ZERO
        else:
            size, base_left = s.size, base_left - s.size
        sells.append(replace(s, size=size))
    return Proposal(tuple(b for b in buys if b.size > 0), tuple(s for s in sells if s.size > 0))


def filter_out_takers(proposal: Proposal, book: OrderBook) -> Proposal:
    """`c_filter_out_takers`: no bid at/above our book's best ask, no ask at/below its bid."""
    buys, sells = proposal.buys, proposal.sells
    if book.best_ask is not None:
        buys = tuple(b for b in buys if b.price < book.best_ask)
    if book.best_bid is not None:
        sells = tuple(s for s in sells if s.price > book.best_bid)
    return Proposal(buys, sells)


def build_proposal(
    params: PureMarketMakingParams, inputs: Inputs, state: ProposalState
) -> tuple[Proposal, ProposalState]:
    """Steps 1-6 of Hummingbot's tick, in its order."""
    proposal = base_proposal(params, inputs)
    proposal, state = apply_level_modifiers(params, proposal, state, inputs)
    if params.order_optimization_enabled:
        proposal = apply_order_optimization(params, proposal, inputs)
    if params.add_transaction_costs:
        proposal = apply_transaction_costs(params, proposal, inputs)
    proposal = apply_inventory_skew(params, proposal, inputs)
    takers_filtered = params.take_if_crossed
    if params.filter_takers_before_budget and not takers_filtered:
        proposal, takers_filtered = filter_out_takers(proposal, inputs.book), True
    proposal = apply_budget(params, proposal, inputs)
    if not takers_filtered:
        proposal = filter_out_takers(proposal, inputs.book)
    return proposal, state
