"""Pure market making: (parameters, market data, balances, time) -> desired quotes.

A pure function: no database, no network, no clock (`now` is passed in). The pipeline
follows Hummingbot's `PureMarketMakingStrategy.c_tick` (create base proposal, level
modifiers, price modifiers, size modifiers, budget, filter out takers), with Mr.Market's
parameters, in this order:

1. reference price (price source, or the external oracle price);
2. filled-order delay: nothing until `last_fill_at + filledOrderDelay`;
3. levels: price = ref * (1 -/+ level spread), amount per level (fixed or percentage);
4. price band (Hummingbot's price_ceiling / price_floor): ref >= ceiling -> no bids,
   ref <= floor -> no asks. Every bid is below ref and every ask above it, so this also
   means no bid above the ceiling and no ask below the floor;
5. prices rounded to the tick (bids down, asks up);
6. (minimum spread: validation caps `minimumSpread` at the innermost spread and rounding
   only widens, so a fresh quote always honours it; the check that matters is on live
   orders as the market moves toward them, in `diff.diff_quotes`);
7. inventory skew (Hummingbot's ratios) on the sizes;
8. amounts rounded down to the lot, capped at the market's max amount;
9. crossing filter: no bid >= best ask, no ask <= best bid (our quotes are makers);
10. venue minimums (min amount, min notional);
11. budget: buys' notional (+ maker fee) <= budget_quote, sells' amount <= budget_base,
    inner levels first; the level that runs out is trimmed, the outer ones dropped.

The crossing filter and the minimums run before the budget (Hummingbot filters takers
after it) so a quote that could never be placed does not consume budget.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from exchanges.venues.base import MarketInfo, OrderBook, OrderSide
from strategy.params import PriceSourceType, PureMarketMakingParams
from strategy.quoting.rounding import meets_minimums, round_amount, round_price
from strategy.quoting.skew import bid_ask_ratios, soften, total_order_size
from strategy.quoting.types import DesiredQuote


def source_price(
    *,
    params: PureMarketMakingParams,
    book: OrderBook,
    last_price: Decimal | None,
    reference_price: Decimal | None,
) -> Decimal | None:
    """The price quotes are built around, or None when it cannot be known (no quotes).

    With an oracle venue configured the external `reference_price` is the price (and its
    absence means no quotes: silently falling back to our own book would quote around the
    very price the operator chose not to trust).
    """
    if params.oracle_exchange_name is not None:
        price = reference_price
    elif params.price_source_type is PriceSourceType.MID_PRICE:
        bid, ask = book.best_bid, book.best_ask
        price = (bid + ask) / 2 if bid is not None and ask is not None else None
    elif params.price_source_type is PriceSourceType.BEST_BID:
        price = book.best_bid
    elif params.price_source_type is PriceSourceType.BEST_ASK:
        price = book.best_ask
    else:
        price = last_price
    return price if price is not None and price > 0 else None


def in_filled_order_delay(
    *, params: PureMarketMakingParams, now: datetime, last_fill_at: datetime | None
) -> bool:
    """True while new quotes are held back after a fill (Hummingbot's filled_order_delay)."""
    if last_fill_at is None:
        return False
    return now < last_fill_at + timedelta(milliseconds=params.filled_order_delay_ms)


def _raw_levels(
    params: PureMarketMakingParams, side: OrderSide, ref: Decimal
) -> list[DesiredQuote]:
    sign = -1 if side == OrderSide.BUY else 1
    return [
        DesiredQuote(
            side=side,
            level=level,
            price=ref * (1 + sign * params.level_spread(side, level)),
            amount=params.level_amount(level),
        )
        for level in range(params.number_of_layers)
    ]


def _apply_budget(
    quotes: list[DesiredQuote],
    *,
    side: OrderSide,
    budget: Decimal,
    fee: Decimal,
    market: MarketInfo,
) -> list[DesiredQuote]:
    """Keep inner levels whole while the budget lasts; trim the level that exhausts it.

    A maker rebate (negative fee) is not counted on: the venue locks the full notional.
    """
    kept: list[DesiredQuote] = []
    left = max(budget, Decimal(0))
    for quote in sorted(quotes, key=lambda q: q.level):
        # Buys lock quote (price * amount, plus the maker fee charged in quote); sells lock base.
        unit_cost = (
            quote.price * (1 + max(fee, Decimal(0))) if side == OrderSide.BUY else Decimal(1)
        )
        affordable = round_amount(left / unit_cost, market)
        amount = min(quote.amount, affordable)
        if not meets_minimums(quote.price, amount, market):
            break  # outer levels would be trimmed to nothing too
        kept.append(DesiredQuote(side=side, level=quote.level, price=quote.price, amount=amount))
        left -= amount * unit_cost
        if amount < quote.amount:
            break
    return kept


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
) -> list[DesiredQuote]:
    """Desired quotes, bids then asks, each side from the innermost level out.

    `base_balance`/`quote_balance` are the order's whole inventory (free plus what its
    live orders lock): they drive the inventory skew. `budget_base`/`budget_quote` are
    what the new quote set may lock: the order's ledger budget minus what orders that
    stay regardless (hanging orders) already lock.
    """
    if not market.active:
        return []
    ref = source_price(
        params=params, book=book, last_price=last_price, reference_price=reference_price
    )
    if ref is None:
        return []
    if in_filled_order_delay(params=params, now=now, last_fill_at=last_fill_at):
        return []

    sides: dict[OrderSide, list[DesiredQuote]] = {
        OrderSide.BUY: _raw_levels(params, OrderSide.BUY, ref),
        OrderSide.SELL: _raw_levels(params, OrderSide.SELL, ref),
    }

    # 4. Price band, Hummingbot's c_apply_price_band: the side is off at the boundary.
    if params.ceiling_price is not None and ref >= params.ceiling_price:
        sides[OrderSide.BUY] = []
    if params.floor_price is not None and ref <= params.floor_price:
        sides[OrderSide.SELL] = []

    # 5. Tick rounding, away from the market.
    for side, quotes in sides.items():
        sides[side] = [
            DesiredQuote(side, q.level, round_price(q.price, side, market), q.amount)
            for q in quotes
        ]
        sides[side] = [q for q in sides[side] if q.price > 0]
    # 7. Inventory skew on sizes (Hummingbot's c_apply_inventory_skew).
    if params.inventory_target_base_ratio is not None:
        levels = [params.level_amount(i) for i in range(params.number_of_layers)]
        ratios = bid_ask_ratios(
            base_amount=base_balance,
            quote_amount=quote_balance,
            price=ref,
            target_base_ratio=params.inventory_target_base_ratio,
            base_asset_range=total_order_size(levels) * params.inventory_range_multiplier,
        )
        ratios = soften(ratios, params.inventory_skew_factor)
        for side, ratio in ((OrderSide.BUY, ratios.bid), (OrderSide.SELL, ratios.ask)):
            sides[side] = [
                DesiredQuote(side, q.level, q.price, q.amount * ratio) for q in sides[side]
            ]

    # 8. Lot rounding and the venue's max amount.
    for side, quotes in sides.items():
        rounded = []
        for q in quotes:
            amount = q.amount
            if market.max_amount is not None:
                amount = min(amount, market.max_amount)
            rounded.append(DesiredQuote(side, q.level, q.price, round_amount(amount, market)))
        sides[side] = rounded

    # 9. Never take: a maker quote that crosses the book would trade as a taker
    # (Hummingbot's c_filter_out_takers).
    best_bid, best_ask = book.best_bid, book.best_ask
    if best_ask is not None:
        sides[OrderSide.BUY] = [q for q in sides[OrderSide.BUY] if q.price < best_ask]
    if best_bid is not None:
        sides[OrderSide.SELL] = [q for q in sides[OrderSide.SELL] if q.price > best_bid]

    # 10. What the venue would reject is not quoted.
    for side, quotes in sides.items():
        sides[side] = [q for q in quotes if meets_minimums(q.price, q.amount, market)]

    # 11. Budget.
    buys = _apply_budget(
        sides[OrderSide.BUY],
        side=OrderSide.BUY,
        budget=budget_quote,
        fee=market.maker_fee,
        market=market,
    )
    sells = _apply_budget(
        sides[OrderSide.SELL],
        side=OrderSide.SELL,
        budget=budget_base,
        fee=market.maker_fee,
        market=market,
    )
    return buys + sells
