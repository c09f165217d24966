"""Campaign discovery: launcher client parsing and pagination, sync service, task, outage."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.exceptions import HufiUnavailable
from campaigns.hufi.errors import HufiFinalError, HufiRetryableError
from campaigns.hufi.launcher import CampaignLauncherClient, parse_campaign
from campaigns.models import Campaign
from campaigns.services import campaign_sync
from campaigns.tasks import campaign_sync_task
from mrmarket.models import Heartbeat
from mrmarket.tasks import system_heartbeat_task
from tests.campaigns.conftest import closed_port_url


def test_launcher_pages_with_skip_until_exhausted(launcher) -> None:
    for _ in range(25):
        launcher.add_campaign()
    launcher.add_campaign(chain_id=1)  # another chain: not listed
    with CampaignLauncherClient(base_url=launcher.base_url) as client:
        campaigns = client.list_campaigns(chain_id=137, status="active", limit=10)
    assert len(campaigns) == 25
    assert len({c.address for c in campaigns}) == 25
    queries = [r.query for r in launcher.requests]
    assert [q.get("skip") for q in queries] == [None, "10", "20"]  # HuFi refuses skip=0
    assert all(q["chain_id"] == "137" and q["status"] == "active" for q in queries)


def test_fund_amount_is_base_units_scaled_by_decimals() -> None:
    raw = {
        "chain_id": 137,
        "address": "0x" + "ab" * 20,
        "exchange_name": "MEXC",
        "symbol": "hmt/usdt",
        "start_date": "2025-05-27T12:00:00.000Z",
        "end_date": "2025-06-03T12:00:00.000Z",
        "fund_amount": "1234567890123456789012345",
        "fund_token_decimals": 18,
        "fund_token_symbol": "HMT",
        "balance": "5000000",
        "status": "active",
        "manifest": '{"daily_volume_target": 100000.5, "pair": "HMT/USDT"}',
    }
    c = parse_campaign(raw)
    assert c.fund_amount == Decimal("1234567.890123456789012345")
    assert parse_campaign({**raw, "fund_token_decimals": 6}).balance == Decimal("5")
    assert c.daily_volume_target == Decimal("100000.5")
    assert (c.exchange_name, c.symbol) == ("mexc", "HMT/USDT")
    assert c.address == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"
    assert c.start_date.utcoffset() is not None
    with pytest.raises(HufiFinalError):
        parse_campaign({**raw, "fund_amount": "12.5"})  # not whole base units


@pytest.mark.django_db
def test_sync_upserts_by_chain_and_address_and_is_idempotent(hufi) -> None:
    launcher, _ = hufi
    first = launcher.add_campaign(fund_amount=700 * 10**18, daily_volume_target=50000)
    launcher.add_campaign(exchange_name="gate", symbol="BTC/USDT")
    result = campaign_sync()
    assert (result.seen, result.created, result.updated, result.ended) == (2, 2, 0, 0)
    again = campaign_sync()
    assert (again.created, again.updated) == (0, 2)
    assert Campaign.objects.count() == 2
    row = Campaign.objects.get(address=first["address"])
    assert row.fund_amount == Decimal(700)
    assert row.fund_amount_base_units == str(700 * 10**18)
    assert row.daily_volume_target == Decimal(50000)
    assert row.symbol == "HMT/USDT"
    # the listing has no fees: the detail was read once per campaign for them
    assert row.oracle_fee_percent == Decimal(3)
    details = [r for r in launcher.requests if r.path.startswith("/campaigns/137-")]
    assert len(details) == 2


@pytest.mark.django_db
def test_sync_marks_campaigns_that_left_the_active_list(hufi) -> None:
    launcher, _ = hufi
    done = launcher.add_campaign()
    launcher.add_campaign()
    campaign_sync()
    launcher.set_status(done["address"], "completed")
    result = campaign_sync()
    assert result.ended == 1
    row = Campaign.objects.get(address=done["address"])
    assert row.status == "completed" and row.ended_at is not None
    assert Campaign.objects.filter(status="active").count() == 1


@pytest.mark.django_db
def test_sync_skips_a_malformed_campaign_and_reports_it(hufi) -> None:
    launcher, _ = hufi
    launcher.add_campaign()
    bad = launcher.add_campaign()
    bad["fund_amount"] = "not-a-number"
    result = campaign_sync()
    assert result.seen == 1 and len(result.errors) == 1
    assert Campaign.objects.count() == 1


@pytest.mark.django_db
def test_sync_during_an_outage_fails_fast_with_a_clear_error(hufi) -> None:
    launcher, _ = hufi
    launcher.add_campaign()
    launcher.outage = True
    with pytest.raises(HufiUnavailable) as raised:
        campaign_sync()
    assert "HTTP 503" in raised.value.message
    assert raised.value.status_code == 503
    assert Campaign.objects.count() == 0


@pytest.mark.django_db
def test_sync_with_the_launcher_refusing_connections_fails_fast(hufi, settings) -> None:
    settings.HUFI_CAMPAIGN_LAUNCHER_URL = closed_port_url()
    with pytest.raises(HufiUnavailable) as raised:
        campaign_sync()
    assert "ConnectError" in raised.value.message  # refused at once, not a timeout


@pytest.mark.django_db
def test_a_hanging_launcher_times_out_as_a_retryable_error(launcher) -> None:
    launcher.latency = 1.0
    with CampaignLauncherClient(base_url=launcher.base_url, timeout=0.2) as client:
        with pytest.raises(HufiRetryableError):
            client.list_campaigns(chain_id=137)


@pytest.mark.django_db
def test_sync_task_twice_keeps_one_row_per_campaign(hufi) -> None:
    launcher, _ = hufi
    launcher.add_campaign()
    campaign_sync_task.apply()
    campaign_sync_task.apply()
    assert Campaign.objects.count() == 1


@pytest.mark.django_db
def test_sync_task_in_an_outage_does_not_disturb_unrelated_tasks(hufi) -> None:
    launcher, _ = hufi
    launcher.outage = True
    outcome = campaign_sync_task.apply()
    assert outcome.successful()  # logged and left for the next beat, not a crash loop
    system_heartbeat_task.apply()
    assert Heartbeat.objects.get(name="beat").count == 1
    assert Campaign.objects.count() == 0
