"""Public campaign API: HuFi-style snake_case, money as decimal strings, ISO-8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from campaigns.enums import JoinStatus
from campaigns.models import CampaignJoin, Payout
from tests.campaigns.conftest import WALLET_ADDRESS, WALLET_KEY
from tests.campaigns.factories import campaign_make

pytestmark = pytest.mark.django_db


def test_campaign_list_is_public_and_pages(api) -> None:
    for _ in range(3):
        campaign_make()
    campaign_make(status="completed")
    body = api.get("/campaigns", {"status": "active", "limit": 2}).json()
    assert body["has_more"] is True and len(body["results"]) == 2
    row = body["results"][0]
    assert row["fund_amount"] == "700" and row["daily_volume_target"] == "100000"
    assert row["start_date"].endswith("Z")
    assert set(row) >= {"chain_id", "address", "exchange_name", "symbol", "status", "balance"}
    assert len(api.get("/campaigns", {"skip": 2}).json()["results"]) == 2


def test_campaign_detail_shows_our_join_and_rewards_received(api, settings) -> None:
    settings.HUFI_WALLET_PRIVATE_KEY = WALLET_KEY
    campaign = campaign_make(fund_amount=Decimal("1234.5"))
    CampaignJoin.objects.create(
        campaign=campaign,
        wallet_address=WALLET_ADDRESS,
        exchange_name="mexc",
        status=JoinStatus.JOINED,
        joined_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    Payout.objects.create(
        chain_id=137,
        tx_hash="0x" + "a" * 64,
        log_index=0,
        block_number=1,
        block_hash="0x" + "b" * 64,
        campaign=campaign,
        token_address=campaign.fund_token,
        from_address=campaign.address,
        to_address=WALLET_ADDRESS,
        amount_base_units=str(25 * 10**17),
        amount=Decimal("2.5"),
        block_time=datetime(2025, 1, 3, tzinfo=UTC),
    )
    response = api.get(f"/campaigns/137-{campaign.address.lower()}")
    assert response.status_code == 200
    body = response.json()
    assert body["fund_amount"] == "1234.5"
    assert body["amount_received"] == "2.5"
    assert body["join_status"] == "joined"
    assert body["joined_at"] == "2025-01-02T03:04:05Z"


def test_unknown_campaign_is_a_json_404(api) -> None:
    response = api.get("/campaigns/137-0x" + "0" * 40)
    assert response.status_code == 404
    assert response.json()["error"] == "campaign_not_found"
