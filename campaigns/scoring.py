"""Pure campaign math: scores from fills, reward estimates, and splitting a payout exactly.

Score (HuFi's market-making weights): every fill counts its *quote* volume (amount × price,
e.g. USDT for HMT/USDT — the unit of the manifest's `daily_volume_target`) times a weight:
maker 1.0, taker buy 0.42, taker sell 0.1.

Estimated daily reward of one user, as HuFi's recording oracle computes rewards
(`recording-oracle/src/modules/campaigns/rewards.utils.ts`):

    daily = round_down(net_fund / whole_days)      net_fund = fund × (100 − oracle fees %) / 100
    pool  = round_down(daily × min(volume / daily_volume_target, 1))
    share = round_down(pool × user_score / total_score)

`whole_days` is the campaign length rounded *up* to whole days, the fees are the exchange,
recording and reputation oracle fees (launcher detail), and every step rounds down to the
fund token's decimals.

`volume` is the campaign's volume for the day and `total_score` the score of all its
participants when HuFi tells us (its progress endpoint); when we only know our own, both are
our participants' totals, and the estimate is an upper bound (it assumes no outside
competition). Our wallet is one participant to HuFi; we split what it earns among our users
by their scores, which is why the user's share is over the same total.

Allocation of one payout (integer base units of the token): each user gets
floor(payout × score / total); the remainder (fewer base units than there are users) goes
entirely to the user with the largest score, ties broken by the smallest user id. So the
allocations sum to the payout exactly, every share is within one rounding of its exact
value, and the rule is a one-liner to audit. With no positive score nothing is allocated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal, localcontext
from fractions import Fraction

MAKER_WEIGHT = Decimal("1.0")
TAKER_BUY_WEIGHT = Decimal("0.42")
TAKER_SELL_WEIGHT = Decimal("0.1")

# Enough digits for 10**24-base-unit funds divided down to 18 decimals.
_PRECISION = 60


@dataclass(frozen=True)
class Fill:
    side: str  # "buy" | "sell"
    taker_or_maker: str  # "maker" | "taker"
    amount: Decimal  # base asset
    price: Decimal  # quote per base
    # The venue's own quote cost when it reports one (it already includes its rounding).
    quote_volume: Decimal | None = None
    # When it executed (aware); picks the window (since joining, the payout's day) it counts in.
    executed_at: datetime | None = None

    @property
    def volume(self) -> Decimal:
        return self.quote_volume if self.quote_volume is not None else self.amount * self.price


def fill_weight(fill: Fill) -> Decimal:
    role, side = fill.taker_or_maker.lower(), fill.side.lower()
    if role == "maker":
        return MAKER_WEIGHT
    if role != "taker" or side not in ("buy", "sell"):
        raise ValueError(f"unknown fill kind: {fill.taker_or_maker} {fill.side}")
    return TAKER_BUY_WEIGHT if side == "buy" else TAKER_SELL_WEIGHT


def fills_volume(fills: Iterable[Fill]) -> Decimal:
    return sum((f.volume for f in fills), Decimal(0))


def fills_score(fills: Iterable[Fill]) -> Decimal:
    return sum((f.volume * fill_weight(f) for f in fills), Decimal(0))


def campaign_days(start: datetime, end: datetime) -> int:
    """Whole reward days, as HuFi counts them: `Math.ceil(dayjs(end).diff(start, 'days',
    true))` (rewards.utils.ts `calculateDailyReward`) — a campaign of 6.5 days pays 7 days."""
    seconds = int((end - start).total_seconds())
    if seconds <= 0:
        raise ValueError("campaign ends before it starts")
    return -(-seconds // 86400)


def round_down(amount: Decimal, decimals: int) -> Decimal:
    """HuFi's `formatRewardValue`: `toDecimalPlaces(fundTokenDecimals, ROUND_DOWN)`."""
    return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def fund_amount_net(*, fund_amount: Decimal, oracle_fee_percent: Decimal, decimals: int) -> Decimal:
    """What HuFi distributes: the fund less the three oracle fees (campaigns.service.ts
    `retrieveCampaignData`: `fundAmount × (100 − fees) / 100`, rounded down)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return round_down(fund_amount * (100 - oracle_fee_percent) / 100, decimals)


def daily_reward(
    *,
    fund_amount: Decimal,
    oracle_fee_percent: Decimal,
    start: datetime,
    end: datetime,
    decimals: int,
) -> Decimal:
    """HuFi's `calculateDailyReward`: the net fund over whole days, rounded down."""
    net = fund_amount_net(
        fund_amount=fund_amount, oracle_fee_percent=oracle_fee_percent, decimals=decimals
    )
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return round_down(net / campaign_days(start, end), decimals)


def estimated_daily_reward(
    *,
    daily: Decimal,
    volume: Decimal,
    daily_volume_target: Decimal,
    user_score: Decimal,
    total_score: Decimal,
    decimals: int,
) -> Decimal:
    """Token amount one user may expect for one day (see the module docstring): HuFi's
    reward pool (`calculateRewardPool`: daily reward × min(volume / target, 1), rounded
    down) shared by score."""
    if daily_volume_target <= 0:
        raise ValueError("daily_volume_target must be positive")
    if total_score <= 0 or user_score <= 0:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        pool = round_down(daily * min(volume / daily_volume_target, Decimal(1)), decimals)
        return round_down(pool * user_score / total_score, decimals)


def allocate(*, amount: int, scores: Mapping[str, Decimal]) -> dict[str, int]:
    """Split `amount` base units by score; the sum is exactly `amount` (or {} if no score)."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    if any(score < 0 for score in scores.values()):
        raise ValueError("scores must not be negative")
    positive = {user: Fraction(score) for user, score in scores.items() if score > 0}
    total = sum(positive.values(), Fraction(0))
    if total == 0:
        return {}
    # Exact rational arithmetic: floor(amount × score / total) without any rounding drift.
    shares = {user: int(amount * score / total) for user, score in positive.items()}
    remainder = amount - sum(shares.values())
    top = min(positive, key=lambda user: (-positive[user], user))
    shares[top] += remainder
    return shares


def to_base_units(amount: Decimal, decimals: int) -> int:
    """A token amount as integer base units; refuses amounts finer than the token allows."""
    scaled = amount.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than {decimals} decimals")
    return int(scaled)


def from_base_units(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals)
