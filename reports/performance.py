"""Trade performance with Hummingbot's `history` definitions (`hummingbot/client/performance.py`,
`PerformanceMetrics`), computed exactly in `Decimal` from our stored fills.

Hummingbot signs volumes by their effect on the account: a buy adds base (+amount) and spends
quote (-amount·price); a sell the mirror. Then

    trade_pnl   = cur_value - hold_value           (before fees)
    hold_value  = start_base·cur_price + start_quote
    cur_value   = cur_base·cur_price + cur_quote
    total_pnl   = trade_pnl - fee_in_quote
    return_pct  = total_pnl / hold_value           (0 when hold_value is 0)

Hummingbot derives the start balances as `current - traded volume` (fees ignored), which
makes `trade_pnl` equal `vol_base·cur_price + vol_quote` whatever the balances. We know the
real start balances from the ledger, so `start` is that and `cur = start + volume - fees`:
the same `trade_pnl` and `total_pnl`, with balances a person can check against the ledger.
Fees in a third asset are converted with a rate the caller supplies (Hummingbot's rate
oracle); a fee without a rate is reported per asset and left out of `fee_in_quote`, as
Hummingbot does, and `feesUnpriced` names it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class Trade:
    """One fill as the report needs it. `fee` is signed: a maker rebate is negative."""

    side: str  # "buy" | "sell"
    price: Decimal
    amount: Decimal  # base units
    fee: Decimal = ZERO
    fee_asset: str = ""


@dataclass
class Performance:
    num_buys: int = 0
    num_sells: int = 0
    b_vol_base: Decimal = ZERO
    s_vol_base: Decimal = ZERO
    b_vol_quote: Decimal = ZERO
    s_vol_quote: Decimal = ZERO
    avg_b_price: Decimal = ZERO
    avg_s_price: Decimal = ZERO
    avg_tot_price: Decimal = ZERO
    start_base_bal: Decimal = ZERO
    start_quote_bal: Decimal = ZERO
    cur_base_bal: Decimal = ZERO
    cur_quote_bal: Decimal = ZERO
    start_price: Decimal = ZERO
    cur_price: Decimal = ZERO
    start_base_ratio_pct: Decimal = ZERO
    cur_base_ratio_pct: Decimal = ZERO
    hold_value: Decimal = ZERO
    cur_value: Decimal = ZERO
    trade_pnl: Decimal = ZERO
    fee_in_quote: Decimal = ZERO
    total_pnl: Decimal = ZERO
    return_pct: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    fees_unpriced: list[str] = field(default_factory=list)

    @property
    def num_trades(self) -> int:
        return self.num_buys + self.num_sells

    @property
    def tot_vol_base(self) -> Decimal:
        return self.b_vol_base + self.s_vol_base

    @property
    def tot_vol_quote(self) -> Decimal:
        return self.b_vol_quote + self.s_vol_quote


def _divide(value: Decimal, divisor: Decimal) -> Decimal:
    return ZERO if divisor == 0 else value / divisor


def performance(
    *,
    base: str,
    quote: str,
    trades: Iterable[Trade],
    start_balances: Mapping[str, Decimal],
    cur_price: Decimal | None,
    fee_rates: Mapping[str, Decimal] | None = None,
) -> Performance:
    """Hummingbot's metrics for one pair. `start_balances` by asset at the window start;
    `cur_price` the mark at the window end (None: the last trade's price, as Hummingbot
    falls back to); `fee_rates` converts a fee asset other than base/quote into quote."""
    p = Performance()
    trades = list(trades)
    fees: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for t in trades:
        notional = t.amount * t.price
        if t.side == "buy":
            p.num_buys += 1
            p.b_vol_base += t.amount
            p.b_vol_quote -= notional
        elif t.side == "sell":
            p.num_sells += 1
            p.s_vol_base -= t.amount
            p.s_vol_quote += notional
        else:
            raise ValueError(f"side must be buy or sell, got {t.side!r}")
        if t.fee:
            fees[t.fee_asset] += t.fee
    p.avg_b_price = abs(_divide(p.b_vol_quote, p.b_vol_base))
    p.avg_s_price = abs(_divide(p.s_vol_quote, p.s_vol_base))
    p.avg_tot_price = _divide(
        abs(p.b_vol_quote) + abs(p.s_vol_quote), abs(p.b_vol_base) + abs(p.s_vol_base)
    )
    p.start_base_bal = start_balances.get(base, ZERO)
    p.start_quote_bal = start_balances.get(quote, ZERO)
    p.cur_base_bal = p.start_base_bal + p.tot_vol_base - fees.get(base, ZERO)
    p.cur_quote_bal = p.start_quote_bal + p.tot_vol_quote - fees.get(quote, ZERO)
    if not trades:
        p.cur_price = cur_price or ZERO
        p.start_price = p.cur_price
    else:
        p.start_price = trades[0].price
        p.cur_price = cur_price if cur_price is not None else trades[-1].price
    p.start_base_ratio_pct = _divide(
        p.start_base_bal * p.start_price, p.start_base_bal * p.start_price + p.start_quote_bal
    )
    p.cur_base_ratio_pct = _divide(
        p.cur_base_bal * p.cur_price, p.cur_base_bal * p.cur_price + p.cur_quote_bal
    )
    p.hold_value = p.start_base_bal * p.cur_price + p.start_quote_bal
    p.cur_value = p.cur_base_bal * p.cur_price + p.cur_quote_bal
    rates = dict(fee_rates or {})
    rates[quote] = Decimal(1)
    rates.setdefault(base, p.cur_price)
    for asset, amount in sorted(fees.items()):
        rate = rates.get(asset)
        if rate is None:
            p.fees_unpriced.append(asset)
        else:
            p.fee_in_quote += amount * rate
    p.fees = dict(sorted(fees.items()))
    # Hummingbot's trade PnL is before fees: add back the base/quote fees already taken
    # from `cur` (a fee in a third asset never touched these balances).
    deducted = fees.get(base, ZERO) * p.cur_price + fees.get(quote, ZERO)
    p.trade_pnl = p.cur_value - p.hold_value + deducted
    p.total_pnl = p.trade_pnl - p.fee_in_quote
    p.return_pct = _divide(p.total_pnl, p.hold_value)
    return p
