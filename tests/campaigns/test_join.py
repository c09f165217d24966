"""Joining campaigns with the service wallet: idempotent, bounded, never hangs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.enums import JoinStatus
from campaigns.models import CampaignJoin
from campaigns.services import ExchangeReadOnlyKey, campaign_join
from tests.campaigns.conftest import WALLET_ADDRESS
from tests.campaigns.factories import campaign_make

pytestmark = pytest.mark.django_db


def _joins_posted(oracle) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in oracle.requests if r.path == "/campaigns/join")


def test_joining_twice_joins_once_here_and_at_hufi(hufi) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    first = campaign_join(campaign=campaign, exchange_name="mexc")
    requests_after_first = len(oracle.requests)
    second = campaign_join(campaign=campaign, exchange_name="MEXC")
    assert first.status == "joined" and first.ok
    assert second.status == "already_joined" and second.ok
    assert len(oracle.requests) == requests_after_first  # the second call never left the house
    assert _joins_posted(oracle) == 1
    assert len(oracle.joins) == 1
    join = CampaignJoin.objects.get()
    assert join.status == JoinStatus.JOINED and join.joined_at is not None
    assert join.wallet_address == WALLET_ADDRESS
    assert join.hufi_join_id == next(iter(oracle.joins.values()))[0]


def test_a_join_hufi_already_has_is_not_posted_again(hufi) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    campaign_join(campaign=campaign, exchange_name="mexc")
    CampaignJoin.objects.update(status=JoinStatus.FAILED, joined_at=None)  # our record lost it
    result = campaign_join(campaign=campaign, exchange_name="mexc")
    assert result.status == "joined"
    assert _joins_posted(oracle) == 1  # check-join-status said already_joined
    assert CampaignJoin.objects.get().status == JoinStatus.JOINED


def test_read_only_keys_are_registered_first_and_the_secret_is_never_logged(
    hufi, oracle_chain, caplog
) -> None:
    _, oracle = hufi
    oracle_chain.keys = False
    campaign = campaign_make(exchange_name="gate")
    secret = "s3cr3t-value-never-logged"
    caplog.set_level(logging.DEBUG)
    without_keys = campaign_join(campaign=campaign, exchange_name="gate.io")
    assert without_keys.status == "failed" and "Exchange API key not found" in without_keys.error
    key = ExchangeReadOnlyKey(api_key="ro-key", secret=secret)
    result = campaign_join(campaign=campaign, exchange_name="gateio", read_only_key=key)
    assert result.status == "joined"
    assert oracle.api_keys[(WALLET_ADDRESS.lower(), "gate")] == ("ro-key", secret)
    assert secret not in caplog.text
    assert all(secret not in str(r.msg) for r in caplog.records)
    assert secret not in repr(key)
    assert secret not in CampaignJoin.objects.get().last_error


def test_a_closed_campaign_is_a_final_answer(hufi) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    oracle.register_campaign(
        chain_id=137, address=campaign.address, exchange_name="mexc", closed=True
    )
    result = campaign_join(campaign=campaign, exchange_name="mexc")
    assert result.status == "closed" and "join_closed" in result.error
    again = campaign_join(campaign=campaign, exchange_name="mexc")
    assert again.status == "closed"
    assert _joins_posted(oracle) == 0


def test_an_ended_campaign_is_not_sent_to_hufi(hufi) -> None:
    _, oracle = hufi
    campaign = campaign_make(
        start_date=timezone.now() - timedelta(days=8), end_date=timezone.now() - timedelta(days=1)
    )
    result = campaign_join(campaign=campaign, exchange_name="mexc")
    assert result.status == "closed"
    assert oracle.requests == []


def test_a_venue_mismatch_is_invalid_and_records_nothing(hufi) -> None:
    _, oracle = hufi
    result = campaign_join(campaign=campaign_make(), exchange_name="binance")
    assert result.status == "invalid" and "mexc" in result.error
    assert CampaignJoin.objects.count() == 0 and oracle.requests == []


def test_a_join_in_flight_elsewhere_is_reported_not_repeated(hufi) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    CampaignJoin.objects.create(
        campaign=campaign,
        wallet_address=WALLET_ADDRESS,
        exchange_name="mexc",
        status=JoinStatus.JOINING,
        lease_until=timezone.now() + timedelta(seconds=30),
    )
    result = campaign_join(campaign=campaign, exchange_name="mexc")
    assert result.status == "in_progress"
    assert oracle.requests == []


def test_an_expired_lease_is_taken_over(hufi) -> None:
    campaign = campaign_make()
    CampaignJoin.objects.create(
        campaign=campaign,
        wallet_address=WALLET_ADDRESS,
        exchange_name="mexc",
        status=JoinStatus.JOINING,
        lease_until=timezone.now() - timedelta(seconds=1),  # its worker died
    )
    assert campaign_join(campaign=campaign, exchange_name="mexc").status == "joined"


def test_an_oracle_outage_fails_the_join_within_its_deadline(hufi) -> None:
    _, oracle = hufi
    oracle.outage = True
    campaign = campaign_make()
    clock = {"now": 0.0}
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock["now"] += seconds

    result = campaign_join(
        campaign=campaign,
        exchange_name="mexc",
        deadline_seconds=1.5,
        monotonic=lambda: clock["now"],
        sleep=sleep,
    )
    assert result.status == "failed" and "HTTP 503" in result.error
    assert result.attempts == 3  # retryable: retried, within the deadline
    assert pauses == [0.2, 0.4]  # doubling backoff between attempts, none after the last
    join = CampaignJoin.objects.get()
    assert join.status == JoinStatus.FAILED and join.lease_until is None
    # Back up: the next call joins.
    oracle.outage = False
    assert campaign_join(campaign=campaign, exchange_name="mexc").status == "joined"


def test_a_hanging_oracle_cannot_hold_the_caller_past_the_deadline(hufi) -> None:
    _, oracle = hufi
    oracle.latency = 5.0
    result = campaign_join(campaign=campaign_make(), exchange_name="mexc", deadline_seconds=1.0)
    # every request's timeout is a share of the deadline: the first one timed out
    assert result.status == "failed" and "Timeout" in result.error


def test_the_operators_read_only_key_for_the_venue_is_registered_when_joining(hufi) -> None:
    from exchanges.services import venue_account_create
    from tests.exchanges.factories import ExchangeFactory

    _, oracle = hufi
    campaign = campaign_make(exchange_name="gate")
    oracle.register_campaign(chain_id=137, address=campaign.address, exchange_name="gate")
    exchange = ExchangeFactory.create(exchange_id="gate")
    venue_account_create(
        exchange=exchange,
        name="hufi reader",
        api_key="ro-gate",
        api_secret="ro-secret",
        read_only=True,
        actor=None,
    )
    result = campaign_join(campaign=campaign, exchange_name="gate")
    assert result.status == "joined", result.error
    assert oracle.api_keys[(WALLET_ADDRESS.lower(), "gate")] == ("ro-gate", "ro-secret")
