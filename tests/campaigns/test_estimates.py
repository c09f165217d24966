"""Fills from the strategy runtime, stored score estimates and the joined-campaigns API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns import fills
from campaigns.enums import ParticipationStatus
from campaigns.models import Participation
from campaigns.scoring import Fill
from campaigns.services import JoinResult, participation_record, participation_scores_refresh
from tests.campaigns.factories import campaign_make, order_make

pytestmark = pytest.mark.django_db

AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class StrategyFill:
    """The shape `strategy.selectors.order_fills` returns."""

    side: str
    taker_or_maker: str
    amount: object
    price: object
    quote_amount: object
    executed_at: object


def test_strategy_fill_records_become_scoring_fills(monkeypatch) -> None:
    import strategy.selectors

    seen: dict[str, object] = {}

    def order_fills(*, order_id, since):  # type: ignore[no-untyped-def]
        seen.update(order_id=order_id, since=since)
        return [StrategyFill("Buy", "TAKER", Decimal(2), Decimal("0.5"), Decimal("1.01"), AT)]

    monkeypatch.setattr(strategy.selectors, "order_fills", order_fills, raising=False)
    result = fills.order_fills_since(order_id="o-1", since=AT - timedelta(hours=1))
    assert seen == {"order_id": "o-1", "since": AT - timedelta(hours=1)}
    assert result == [
        Fill(
            side="buy",
            taker_or_maker="taker",
            amount=Decimal(2),
            price=Decimal("0.5"),
            quote_volume=Decimal("1.01"),
            executed_at=AT,
        )
    ]
    assert result[0].volume == Decimal("1.01")  # the venue's quote cost wins over amount × price


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (StrategyFill("buy", "maker", 1.5, Decimal(1), Decimal(1), AT), "exact number"),
        (StrategyFill("buy", "maker", Decimal(1), Decimal(1), Decimal(1), AT.replace(tzinfo=None)), "aware"),
        (StrategyFill("hold", "maker", Decimal(1), Decimal(1), Decimal(1), AT), "unknown fill kind"),
        (StrategyFill("buy", "maker", Decimal(-1), Decimal(1), Decimal(1), AT), "non-negative"),
    ],
)  # fmt: skip
def test_malformed_fill_records_are_refused_not_scored(record, message) -> None:
    with pytest.raises(fills.FillRecordInvalid, match=message):
        fills.fill_from_record(record)


def _joined(campaign, order, *, at: datetime) -> Participation:  # type: ignore[no-untyped-def]
    participation_record(
        campaign=campaign, order_id=order.pk, user_id=order.user_id, result=JoinResult("joined")
    )
    Participation.objects.filter(order=order, campaign=campaign).update(joined_at=at)
    return Participation.objects.get(order=order, campaign=campaign)


@pytest.fixture
def two_users_in_a_campaign(user, other_user, fill_book):  # type: ignore[no-untyped-def]
    """700 HMT over exactly 7 days (100 a day), daily target 100,000 USDT of volume."""
    now = timezone.now()
    campaign = campaign_make(
        start_date=now - timedelta(days=2),
        end_date=now + timedelta(days=5),
        fund_amount=Decimal(700),
        daily_volume_target=Decimal(100000),
    )
    mine = order_make(user=user)
    theirs = order_make(user=other_user)
    _joined(campaign, mine, at=now - timedelta(days=2))
    _joined(campaign, theirs, at=now - timedelta(hours=30))
    # before joining: never counted
    fill_book.add(theirs, at=now - timedelta(hours=31), volume=50000)
    # since joining but more than 24 h ago: in the score, not in the daily window
    fill_book.add(mine, at=now - timedelta(hours=25), volume=8000)
    # the last 24 hours: maker 30,000 (score 30,000); taker sell 100,000 (score 10,000)
    fill_book.add(mine, at=now - timedelta(hours=2), volume=30000)
    fill_book.add(theirs, at=now - timedelta(hours=1), volume=100000, side="sell", role="taker")
    participation_scores_refresh(now=now)
    return campaign, mine, theirs


def test_scores_count_fills_since_joining_with_hufis_weights(two_users_in_a_campaign) -> None:
    _, mine, theirs = two_users_in_a_campaign
    p_mine = Participation.objects.get(order=mine)
    p_theirs = Participation.objects.get(order=theirs)
    assert (p_mine.volume, p_mine.score) == (Decimal(38000), Decimal(38000))
    assert (p_mine.window_volume, p_mine.window_score) == (Decimal(30000), Decimal(30000))
    assert (p_theirs.volume, p_theirs.score) == (Decimal(100000), Decimal(10000))
    assert (p_theirs.window_volume, p_theirs.window_score) == (Decimal(100000), Decimal(10000))
    assert p_mine.scored_at is not None


def test_taker_buy_weight_is_042(user, fill_book) -> None:
    now = timezone.now()
    order = order_make(user=user)
    _joined(campaign_make(), order, at=now - timedelta(hours=1))
    fill_book.add(order, at=now - timedelta(minutes=5), volume=1000, side="buy", role="taker")
    participation_scores_refresh(now=now)
    assert Participation.objects.get().score == Decimal(420)


def test_joined_campaigns_api_shows_the_users_estimate(
    two_users_in_a_campaign, user_api, user
) -> None:
    campaign, mine, _ = two_users_in_a_campaign
    body = user_api.get("/campaigns/joined").json()
    assert len(body["results"]) == 1
    row = body["results"][0]
    assert row["address"] == campaign.address and row["chain_id"] == 137
    assert row["status"] == "joined" and row["joined_at"].endswith("Z")
    assert row["volume"] == "38000" and row["score"] == "38000"
    assert row["window_score"] == "30000"
    # the share's denominator: every joined participant of ours over the same 24 hours
    assert row["campaign_window_volume"] == "130000" and row["campaign_window_score"] == "40000"
    # 700 / 7 days × min(130,000 / 100,000, 1) × 30,000 / 40,000
    assert row["estimated_daily_reward"] == "75"
    assert row["rewards_received"] == "0"
    assert [o["order_id"] for o in row["orders"]] == [str(mine.pk)]
    assert row["orders"][0]["status"] == "joined"


def test_estimate_scales_with_volume_below_the_daily_target(user, user_api, fill_book) -> None:
    now = timezone.now()
    campaign = campaign_make(
        start_date=now - timedelta(days=1),
        end_date=now + timedelta(days=9),
        fund_amount=Decimal(1000),
        daily_volume_target=Decimal(100000),
    )
    order = order_make(user=user)
    _joined(campaign, order, at=now - timedelta(hours=3))
    fill_book.add(order, at=now - timedelta(hours=1), volume=25000)
    participation_scores_refresh(now=now)
    row = user_api.get("/campaigns/joined").json()["results"][0]
    assert row["estimated_daily_reward"] == "25"  # 100 a day × 0.25 of the target × 1


def test_a_left_participation_has_no_estimate_and_no_part_in_the_total(
    two_users_in_a_campaign, other_user
) -> None:
    from rest_framework.test import APIClient

    from mrmarket.services import user_token_issue

    _, _, theirs = two_users_in_a_campaign
    Participation.objects.filter(order=theirs).update(
        status=ParticipationStatus.LEFT, left_at=timezone.now()
    )
    raw, _ = user_token_issue(user=other_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    row = client.get("/campaigns/joined").json()["results"][0]
    assert row["status"] == "left" and row["estimated_daily_reward"] == "0"
    assert row["campaign_window_score"] == "30000"


def test_joined_campaigns_needs_a_user_and_shows_only_theirs(api, user_api, other_user) -> None:
    assert api.get("/campaigns/joined").status_code == 401
    order = order_make(user=other_user)
    _joined(campaign_make(), order, at=timezone.now())
    assert user_api.get("/campaigns/joined").json() == {"results": []}
    assert user_api.get("/campaigns/joined", {"userId": str(other_user.pk)}).status_code == 403


def test_the_estimate_is_after_oracle_fees_over_whole_days(user, user_api, fill_book) -> None:
    # HuFi pays fund × (100 − fees)/100 over Math.ceil(days): 970 over 7 days here, where
    # the gross fund over 6.5 days would have shown 153.846… a day.
    now = timezone.now()
    campaign = campaign_make(
        start_date=now - timedelta(days=1),
        end_date=now + timedelta(days=5, hours=12),
        fund_amount=Decimal(1000),
        fund_token_decimals=6,
        oracle_fee_percent=Decimal(3),
        daily_volume_target=Decimal(100000),
    )
    order = order_make(user=user)
    _joined(campaign, order, at=now - timedelta(hours=3))
    fill_book.add(order, at=now - timedelta(hours=1), volume=200000)  # over target: capped
    participation_scores_refresh(now=now)
    row = user_api.get("/campaigns/joined").json()["results"][0]
    assert row["estimated_daily_reward"] == "138.571428"


def test_no_estimate_while_the_oracle_fees_are_unknown(user, user_api, fill_book) -> None:
    now = timezone.now()
    campaign = campaign_make(oracle_fee_percent=None)
    order = order_make(user=user)
    _joined(campaign, order, at=now - timedelta(hours=3))
    fill_book.add(order, at=now - timedelta(hours=1), volume=1000)
    participation_scores_refresh(now=now)
    row = user_api.get("/campaigns/joined").json()["results"][0]
    assert row["estimated_daily_reward"] is None
