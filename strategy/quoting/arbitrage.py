"""Two-venue arbitrage: buy where it is cheap, sell where it is dear, net of taker fees.

For each direction (buy on A / sell on B, and buy on B / sell on A):

1. the size is the order amount, capped by the sell venue's base budget, by what the buy
   venue's quote budget affords at the worst ask the size reaches (a limit buy locks
   amount x limit price, plus the fee), and by the depth of both books; then rounded down
   to a multiple of both venues' lots so the two legs are the same size;
2. VWAP of taking that size on each book; the limit price of each leg is the worst level
   it touches (buy rounded up, sell down, to the venue's tick, so the limit covers it);
3. cost     = buy_vwap * amount * (1 + fee_buy)
   proceeds = sell_vwap * amount * (1 - fee_sell)
   profitability = (proceeds - cost) / cost, which must be >= min_profitability;
4. both legs must meet their venue's min amount and min notional (at the limit price).

The more profitable direction that passes wins; None when neither does. Pure: the books
are snapshots, the fees and budgets are passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from exchanges.venues.base import BookLevel, MarketInfo, OrderBook, OrderSide
from strategy.quoting.rounding import ceil_to, floor_to, meets_minimums


@dataclass(frozen=True)
class ArbitrageLeg:
    venue: str  # "a" or "b"
    side: OrderSide
    amount: Decimal
    limit_price: Decimal  # worst book level the leg takes, on the venue's tick
    vwap: Decimal  # expected average fill price
    fee: Decimal  # taker fee fraction


@dataclass(frozen=True)
class ArbitragePlan:
    buy: ArbitrageLeg
    sell: ArbitrageLeg
    amount: Decimal
    cost: Decimal  # quote spent on the buy leg, fee included
    proceeds: Decimal  # quote received on the sell leg, fee deducted
    profit: Decimal
    profitability: Decimal  # profit / cost


def common_lot(first: Decimal, second: Decimal) -> Decimal:
    """Smallest positive amount that is a multiple of both lot sizes."""
    exponent = max(-first.as_tuple().exponent, -second.as_tuple().exponent, 0)  # type: ignore[operator]  # lot sizes are finite: the exponents are ints
    scale = Decimal(10) ** exponent
    a, b = int(first * scale), int(second * scale)
    return Decimal(math.lcm(a, b)) / scale


def vwap(levels: tuple[BookLevel, ...], amount: Decimal) -> tuple[Decimal, Decimal] | None:
    """(average price, worst price touched) of taking `amount` from `levels`; None if too thin."""
    if amount <= 0:
        return None
    left = amount
    spent = Decimal(0)
    worst = Decimal(0)
    for level in levels:
        if left <= 0:
            break
        take = min(left, level.amount)
        if take <= 0:
            continue
        spent += take * level.price
        worst = level.price
        left -= take
    if left > 0:
        return None
    return spent / amount, worst


def _depth(levels: tuple[BookLevel, ...]) -> Decimal:
    return sum((level.amount for level in levels), Decimal(0))


def _affordable(asks: tuple[BookLevel, ...], budget_quote: Decimal, fee: Decimal) -> Decimal:
    """Largest amount whose limit buy (amount x worst ask x (1 + fee)) fits the budget."""
    best = Decimal(0)
    cumulative = Decimal(0)
    for level in asks:
        if level.amount <= 0:
            continue
        cap = budget_quote / (level.price * (1 + fee))
        if cap <= cumulative:
            break  # cannot even reach this level at this (worse) price
        best = max(best, min(cumulative + level.amount, cap))
        cumulative += level.amount
    return best


def _direction(
    *,
    buy_venue: str,
    sell_venue: str,
    buy_book: OrderBook,
    sell_book: OrderBook,
    buy_market: MarketInfo,
    sell_market: MarketInfo,
    fee_buy: Decimal,
    fee_sell: Decimal,
    order_amount: Decimal,
    min_profitability: Decimal,
    buy_budget_quote: Decimal,
    sell_budget_base: Decimal,
) -> ArbitragePlan | None:
    if not buy_book.asks or not sell_book.bids:
        return None
    if sell_book.bids[0].price <= buy_book.asks[0].price:
        return None  # no crossed prices, nothing to earn before fees
    amount = min(
        order_amount,
        sell_budget_base,
        _affordable(buy_book.asks, buy_budget_quote, fee_buy),
        _depth(buy_book.asks),
        _depth(sell_book.bids),
    )
    amount = floor_to(amount, common_lot(buy_market.amount_increment, sell_market.amount_increment))
    if amount <= 0:
        return None
    bought = vwap(buy_book.asks, amount)
    sold = vwap(sell_book.bids, amount)
    if bought is None or sold is None:
        return None
    buy_vwap, buy_worst = bought
    sell_vwap, sell_worst = sold
    buy_limit = ceil_to(buy_worst, buy_market.price_increment)
    sell_limit = floor_to(sell_worst, sell_market.price_increment)
    if not meets_minimums(buy_limit, amount, buy_market):
        return None
    if not meets_minimums(sell_limit, amount, sell_market):
        return None
    if amount * buy_limit * (1 + fee_buy) > buy_budget_quote:
        return None  # the tick rounding of the limit pushed it over the budget
    cost = buy_vwap * amount * (1 + fee_buy)
    proceeds = sell_vwap * amount * (1 - fee_sell)
    profit = proceeds - cost
    profitability = profit / cost
    if profitability < min_profitability:
        return None
    return ArbitragePlan(
        buy=ArbitrageLeg(buy_venue, OrderSide.BUY, amount, buy_limit, buy_vwap, fee_buy),
        sell=ArbitrageLeg(sell_venue, OrderSide.SELL, amount, sell_limit, sell_vwap, fee_sell),
        amount=amount,
        cost=cost,
        proceeds=proceeds,
        profit=profit,
        profitability=profitability,
    )


def find_arbitrage(
    *,
    book_a: OrderBook,
    book_b: OrderBook,
    market_a: MarketInfo,
    market_b: MarketInfo,
    fee_a: Decimal,
    fee_b: Decimal,
    order_amount: Decimal,
    min_profitability: Decimal,
    budget_a_base: Decimal,
    budget_a_quote: Decimal,
    budget_b_base: Decimal,
    budget_b_quote: Decimal,
) -> ArbitragePlan | None:
    """The best profitable round trip for up to `order_amount` base, or None."""
    if not (market_a.active and market_b.active):
        return None
    candidates = [
        _direction(
            buy_venue="a",
            sell_venue="b",
            buy_book=book_a,
            sell_book=book_b,
            buy_market=market_a,
            sell_market=market_b,
            fee_buy=fee_a,
            fee_sell=fee_b,
            order_amount=order_amount,
            min_profitability=min_profitability,
            buy_budget_quote=budget_a_quote,
            sell_budget_base=budget_b_base,
        ),
        _direction(
            buy_venue="b",
            sell_venue="a",
            buy_book=book_b,
            sell_book=book_a,
            buy_market=market_b,
            sell_market=market_a,
            fee_buy=fee_b,
            fee_sell=fee_a,
            order_amount=order_amount,
            min_profitability=min_profitability,
            buy_budget_quote=budget_b_quote,
            sell_budget_base=budget_a_base,
        ),
    ]
    plans = [plan for plan in candidates if plan is not None]
    if not plans:
        return None
    return max(plans, key=lambda plan: plan.profitability)
