"""Pure campaign math: HuFi weights, the daily estimate, exact allocation."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.scoring import (
    Fill,
    allocate,
    campaign_days,
    daily_reward,
    estimated_daily_reward,
    fills_score,
    fills_volume,
    from_base_units,
    fund_amount_net,
    to_base_units,
)

D = Decimal


def test_score_weights_quote_volume_by_role_and_side() -> None:
    fills = [
        Fill(side="buy", taker_or_maker="maker", amount=D(10), price=D("0.5")),  # 5 × 1.0
        Fill(side="sell", taker_or_maker="maker", amount=D(10), price=D("0.5")),  # 5 × 1.0
        Fill(side="buy", taker_or_maker="taker", amount=D(100), price=D(1)),  # 100 × 0.42
        Fill(side="sell", taker_or_maker="taker", amount=D(1), price=D(1), quote_volume=D(200)),
    ]
    assert fills_volume(fills) == D(310)
    assert fills_score(fills) == D("5") + D("5") + D("42") + D("20")


def test_an_unknown_fill_role_is_refused() -> None:
    with pytest.raises(ValueError):
        fills_score([Fill(side="buy", taker_or_maker="both", amount=D(1), price=D(1))])


def test_daily_estimate_follows_the_formula() -> None:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 8, tzinfo=UTC)
    assert campaign_days(start, end) == 7
    daily = daily_reward(
        fund_amount=D(700), oracle_fee_percent=D(0), start=start, end=end, decimals=18
    )
    assert daily == D(100)
    # 100 a day; half the target reached → 50; user holds a quarter of the score.
    estimate = estimated_daily_reward(
        daily=daily,
        volume=D(50000),
        daily_volume_target=D(100000),
        user_score=D(25),
        total_score=D(100),
        decimals=18,
    )
    assert estimate == D("12.5")
    capped = estimated_daily_reward(
        daily=daily,
        volume=D(300000),  # over target: progress capped at 1
        daily_volume_target=D(100000),
        user_score=D(1),
        total_score=D(1),
        decimals=18,
    )
    assert capped == D(100)
    assert (
        estimated_daily_reward(
            daily=daily,
            volume=D(1),
            daily_volume_target=D(1),
            user_score=D(0),
            total_score=D(0),
            decimals=18,
        )
        == 0
    )


def test_daily_reward_is_the_net_fund_over_whole_days_as_hufi_pays_it() -> None:
    # HuFi rewards.utils.ts calculateDailyReward: Math.ceil of the fractional days, and the
    # fund net of the three oracle fees (campaigns.service.ts retrieveCampaignData).
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2025, 1, 7, 12, tzinfo=UTC)  # 6.5 days → 7 reward days
    assert campaign_days(start, end) == 7
    net = fund_amount_net(fund_amount=D(1000), oracle_fee_percent=D(3), decimals=6)
    assert net == D(970)
    daily = daily_reward(
        fund_amount=D(1000), oracle_fee_percent=D(3), start=start, end=end, decimals=6
    )
    assert daily == D("138.571428")  # 970 / 7, rounded down to the token's 6 decimals
    # The gross fund over fractional days would have promised 153.846153… a day.
    assert daily < D(1000) / (D(13) / D(2))


def test_a_campaign_shorter_than_a_day_pays_one_day() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    assert campaign_days(start, datetime(2025, 1, 1, 1, tzinfo=UTC)) == 1
    with pytest.raises(ValueError):
        campaign_days(start, start)


def test_allocation_rounds_down_and_gives_the_remainder_to_the_largest_score() -> None:
    shares = allocate(amount=100, scores={"b": D(1), "a": D(1), "c": D(1)})
    # 33 each, remainder 1: the scores tie, so the smallest user id ("a") takes it.
    assert shares == {"a": 34, "b": 33, "c": 33}
    shares = allocate(amount=10, scores={"small": D("0.1"), "big": D("0.2"), "zero": D(0)})
    assert shares == {"big": 7, "small": 3}  # 6.67 → 6 (+1), 3.33 → 3
    assert allocate(amount=10, scores={"x": D(0)}) == {}


def test_base_unit_conversion_is_exact_and_refuses_dust() -> None:
    assert to_base_units(D("123.4"), 18) == 1234 * 10**17
    assert from_base_units(1234 * 10**17, 18) == D("123.4")
    with pytest.raises(ValueError):
        to_base_units(D("0.0000001"), 6)


scores_strategy = st.dictionaries(
    keys=st.text(alphabet="abcdef0123456789", min_size=1, max_size=8),
    values=st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False),
    min_size=1,
    max_size=30,
)


@given(amount=st.integers(min_value=0, max_value=10**30), scores=scores_strategy)
def test_allocations_sum_exactly_to_the_payout(amount: int, scores: dict[str, Decimal]) -> None:
    shares = allocate(amount=amount, scores=scores)
    total = sum(scores.values(), D(0))
    if total == 0:
        assert shares == {}
        return
    assert sum(shares.values()) == amount
    assert all(v >= 0 for v in shares.values())
    assert set(shares) == {u for u, s in scores.items() if s > 0}
    positive = {u: Fraction(s) for u, s in scores.items() if s > 0}
    whole = sum(positive.values(), Fraction(0))
    floors = {u: math.floor(amount * s / whole) for u, s in positive.items()}
    remainder = amount - sum(floors.values())
    assert 0 <= remainder < len(positive)  # each floor drops less than one unit
    top = min(positive, key=lambda u: (-positive[u], u))
    assert shares == {u: f + (remainder if u == top else 0) for u, f in floors.items()}
