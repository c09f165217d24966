"""HuFi's recording oracle as it really behaves (Hu-Fi/hufi `recording-oracle/src`).

Each client fix here has a test that failed before it: `not_available` read as closed,
KuCoin/BitMart keys sent without `extras`, the 422 on a repeated join read as a failure.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from campaigns.enums import JoinStatus, ParticipationStatus
from campaigns.hufi.errors import HufiAlreadyJoined, HufiCampaignNotFound, HufiFinalError
from campaigns.hufi.oracle import JoinStatusAnswer, RecordingOracleClient
from campaigns.hufi.wallet import ServiceWallet
from campaigns.models import CampaignJoin, Participation
from campaigns.services import ExchangeReadOnlyKey, campaign_join, participations_sync
from campaigns.services.join import join_retry_delay
from exchanges.services import venue_account_create
from orders.models import MarketMakingOrder
from tests.campaigns.conftest import WALLET_ADDRESS, WALLET_KEY
from tests.campaigns.factories import campaign_make, order_make
from tests.exchanges.factories import ExchangeFactory

pytestmark = pytest.mark.django_db


def _posted(oracle: Any, path: str) -> int:
    return sum(1 for r in oracle.requests if r.path == path)


def _logged_in(oracle: Any) -> tuple[RecordingOracleClient, str]:
    client = RecordingOracleClient(base_url=oracle.base_url)
    return client, client.login(wallet=ServiceWallet(private_key=WALLET_KEY)).access_token


# ---------------------------------------------------------------- not_available


def test_a_campaign_the_oracle_has_not_stored_is_joined_on_the_spot(hufi, oracle_chain) -> None:
    # given an escrow on chain the oracle has not discovered yet: check-join-status says
    # not_available, and the join makes the oracle fetch and store it
    _, oracle = hufi
    oracle_chain.stored = False
    campaign = campaign_make()
    # when
    result = campaign_join(campaign=campaign, exchange_name="mexc")
    # then it is joined, not closed
    assert result.status == "joined", result.error
    assert _posted(oracle, "/campaigns/join") == 1
    assert CampaignJoin.objects.get().status == JoinStatus.JOINED


def test_a_campaign_hufi_cannot_read_yet_waits_and_joins_on_a_later_try(hufi, oracle_chain) -> None:
    # given a campaign our launcher lists whose escrow HuFi's oracle cannot read yet
    _, oracle = hufi
    oracle_chain.publish = False
    campaign = campaign_make()
    # when we join: not_available, then 422 Campaign not found
    first = campaign_join(campaign=campaign, exchange_name="mexc")
    # then it waits (not closed, not failed) with the reason and the next try
    assert first.status == "waiting" and not first.ok
    assert "does not know this campaign yet" in first.error and "next try at" in first.error
    join = CampaignJoin.objects.get()
    assert join.status == JoinStatus.WAITING and join.waits == 1
    assert join.next_attempt_at is not None
    assert join.next_attempt_at - timezone.now() <= timedelta(seconds=300)
    assert join.next_attempt_at - timezone.now() > timedelta(seconds=290)
    # and before the backoff runs out nobody asks HuFi again
    requests = len(oracle.requests)
    assert campaign_join(campaign=campaign, exchange_name="mexc").status == "waiting"
    assert len(oracle.requests) == requests
    # when the escrow becomes readable and the backoff has run out
    oracle.publish_campaign(
        chain_id=campaign.chain_id,
        address=campaign.address,
        exchange_name="mexc",
        stored=False,
    )
    oracle.seed_api_key(wallet=WALLET_ADDRESS, exchange_name="mexc")
    CampaignJoin.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    later = campaign_join(campaign=campaign, exchange_name="mexc")
    # then the later try joins
    assert later.status == "joined", later.error
    join.refresh_from_db()
    assert join.status == JoinStatus.JOINED and join.next_attempt_at is None


def test_waiting_backs_off_doubling_up_to_the_cap(settings) -> None:
    settings.HUFI_JOIN_RETRY_BASE_SECONDS = 300
    settings.HUFI_JOIN_RETRY_MAX_SECONDS = 3600
    delays = [join_retry_delay(n).total_seconds() for n in range(1, 7)]
    assert delays == [300, 600, 1200, 2400, 3600, 3600]


def test_a_campaign_that_never_becomes_available_stops_waiting_when_it_ends(
    hufi, oracle_chain
) -> None:
    oracle_chain.publish = False
    campaign = campaign_make(end_date=timezone.now() + timedelta(minutes=2))
    assert campaign_join(campaign=campaign, exchange_name="mexc").status == "waiting"
    # the next try is never after the campaign's end ...
    join = CampaignJoin.objects.get()
    assert join.next_attempt_at == campaign.end_date
    # ... and once it has ended the wait is over: closed, HuFi not asked
    type(campaign).objects.filter(pk=campaign.pk).update(
        start_date=timezone.now() - timedelta(days=2), end_date=timezone.now()
    )
    campaign.refresh_from_db()
    assert campaign_join(campaign=campaign, exchange_name="mexc").status == "closed"
    assert CampaignJoin.objects.get().status == JoinStatus.CLOSED


def test_the_participation_shows_why_and_trading_does_not_wait(
    hufi, oracle_chain, user, fill_book
) -> None:
    # given a running order on a campaign HuFi cannot read yet
    _, oracle = hufi
    oracle_chain.publish = False
    campaign = campaign_make()
    order = order_make(user=user)
    state_changed_at = order.state_changed_at
    # when the participations task runs
    result = participations_sync()
    # then the participation says why, the order is untouched
    assert result.failed == 1 and result.joined == 0
    row = Participation.objects.get()
    assert row.status == ParticipationStatus.FAILED
    assert "HuFi does not know this campaign yet" in row.last_error
    assert "next try at" in row.last_error
    order.refresh_from_db()
    assert order.state == "running" and order.state_changed_at == state_changed_at
    # and a second run inside the backoff asks HuFi nothing and does not pile up attempts
    requests = len(oracle.requests)
    again = participations_sync()
    assert again.deferred == 1 and len(oracle.requests) == requests
    assert Participation.objects.get().attempts == 1
    assert MarketMakingOrder.objects.get(pk=order.pk).state == "running"
    assert campaign.pk == row.campaign_id


def test_the_lifecycle_join_step_moves_on_while_hufi_does_not_know_the_campaign(
    hufi, oracle_chain, user
) -> None:
    from orders.services.lifecycle import order_step

    oracle_chain.publish = False
    campaign_make()
    order = order_make(user=user, state="joining_campaign")
    MarketMakingOrder.objects.filter(pk=order.pk).update(
        next_step_at=timezone.now() - timedelta(seconds=1)
    )
    order_step(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == "created"  # trading goes on
    assert "does not know this campaign yet" in Participation.objects.get().last_error


# ---------------------------------------------------------------- 422 on a repeated join


def test_the_oracle_refuses_a_repeated_join_with_422(hufi) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    client, token = _logged_in(oracle)
    first = client.join_campaign(access_token=token, chain_id=137, address=campaign.address)
    assert first == oracle.chain[(137, campaign.address.lower())].id
    with pytest.raises(HufiAlreadyJoined) as raised:
        client.join_campaign(access_token=token, chain_id=137, address=campaign.address)
    assert raised.value.status_code == 422
    assert "User has already joined the campaign" in raised.value.message


def test_a_join_that_raced_ours_counts_as_joined(hufi, monkeypatch) -> None:
    # given HuFi already has our join, but its status answer is older than that join
    _, oracle = hufi
    campaign = campaign_make()
    client, token = _logged_in(oracle)
    client.join_campaign(access_token=token, chain_id=137, address=campaign.address)
    monkeypatch.setattr(
        RecordingOracleClient,
        "check_join_status",
        lambda self, **kw: JoinStatusAnswer(status="can_join"),
    )
    # when we join: HuFi answers 422 User has already joined the campaign
    result = campaign_join(campaign=campaign, exchange_name="mexc")
    # then we are in
    assert result.status == "joined", result.error
    assert CampaignJoin.objects.get().status == JoinStatus.JOINED
    assert _posted(oracle, "/campaigns/join") == 2


def test_joining_a_campaign_missing_from_the_chain_is_campaign_not_found(hufi) -> None:
    _, oracle = hufi
    client, token = _logged_in(oracle)
    with pytest.raises(HufiCampaignNotFound):
        client.join_campaign(access_token=token, chain_id=137, address="0x" + "ab" * 20)


# ---------------------------------------------------------------- extras


def _read_only_account(exchange_id: str, passphrase: str) -> None:
    venue_account_create(
        exchange=ExchangeFactory.create(exchange_id=exchange_id),
        name=f"hufi reader {exchange_id}",
        api_key=f"ro-{exchange_id}",
        api_secret="ro-secret",
        api_passphrase=passphrase,
        read_only=True,
        actor=None,
    )


def test_a_kucoin_join_carries_its_passphrase_in_extras(hufi, oracle_chain) -> None:
    _, oracle = hufi
    oracle_chain.keys = False
    campaign = campaign_make(exchange_name="kucoin")
    _read_only_account("kucoin", "Pass-phrase-1")
    result = campaign_join(campaign=campaign, exchange_name="kucoin")
    assert result.status == "joined", result.error
    assert oracle.api_keys[(WALLET_ADDRESS.lower(), "kucoin")] == ("ro-kucoin", "ro-secret")
    assert oracle.api_key_extras[(WALLET_ADDRESS.lower(), "kucoin")] == {
        "passphrase": "Pass-phrase-1"
    }


def test_a_bitmart_join_carries_its_key_memo_in_extras(hufi, oracle_chain) -> None:
    _, oracle = hufi
    oracle_chain.keys = False
    campaign = campaign_make(exchange_name="bitmart")
    _read_only_account("bitmart", "my-memo")
    assert campaign_join(campaign=campaign, exchange_name="bitmart").status == "joined"
    assert oracle.api_key_extras[(WALLET_ADDRESS.lower(), "bitmart")] == {"api_key_memo": "my-memo"}


def test_a_kucoin_key_without_passphrase_is_refused_before_hufi(hufi, oracle_chain) -> None:
    _, oracle = hufi
    campaign = campaign_make(exchange_name="kucoin")
    key = ExchangeReadOnlyKey(api_key="ro", secret="s")
    result = campaign_join(campaign=campaign, exchange_name="kucoin", read_only_key=key)
    assert result.status == "failed" and "passphrase" in result.error
    assert oracle.requests == []


def test_the_oracle_validates_extras_per_venue(hufi) -> None:
    _, oracle = hufi
    client, token = _logged_in(oracle)

    def enroll(exchange: str, extras: dict[str, str] | None) -> str:
        return client.register_exchange_api_key(
            access_token=token,
            exchange_name=exchange,
            api_key="k",
            secret_key="s",
            extras=extras,
        )

    for exchange, extras, problem in [
        ("kucoin", None, "extras must be an object"),
        ("kucoin", {"passphrase": "short"}, "between 7 and 32"),
        ("kucoin", {"passphrase": "has a space"}, "should not contain spaces"),
        ("bitmart", {"api_key_memo": "m" * 33}, "shorter than or equal to 32"),
        ("binance", None, "supported CEX"),
        ("pancakeswap", None, "supported CEX"),
    ]:
        with pytest.raises(HufiFinalError) as raised:
            enroll(exchange, extras)
        assert raised.value.status_code == 400 and problem in raised.value.message, exchange
    assert enroll("kucoin", {"passphrase": "Passphrase7"})
    assert enroll("mexc", None)


def test_a_key_lacking_permissions_is_422_with_what_is_missing(hufi) -> None:
    _, oracle = hufi
    oracle.key_missing_permissions["k"] = ["FETCH_MY_TRADES"]
    client, token = _logged_in(oracle)
    with pytest.raises(HufiFinalError) as raised:
        client.register_exchange_api_key(
            access_token=token, exchange_name="mexc", api_key="k", secret_key="s"
        )
    assert raised.value.status_code == 422
    assert "can't be authorized" in raised.value.message


# ---------------------------------------------------------------- signup nonce


def test_an_unknown_wallet_gets_signup_then_a_fresh_nonce_per_login(oracle) -> None:
    client = RecordingOracleClient(base_url=oracle.base_url)
    wallet = ServiceWallet(private_key=WALLET_KEY)
    assert client.nonce(address=wallet.address) == "signup"
    client.login(wallet=wallet)  # signs {"nonce":"signup"}, creates the user
    first = client.nonce(address=wallet.address)
    assert first != "signup" and len(first) == 32 and int(first, 16) >= 0
    client.login(wallet=wallet)
    assert client.nonce(address=wallet.address) not in ("signup", first)  # rotated
    assert oracle.logins == 2


def test_a_signup_signature_for_another_address_is_refused(oracle) -> None:
    # HuFi auth.service.spec "should throw when valid signup signature for wrong address"
    client = RecordingOracleClient(base_url=oracle.base_url)
    signer = ServiceWallet(private_key="0x" + "11" * 32)
    victim = ServiceWallet(private_key=WALLET_KEY).address
    with pytest.raises(HufiFinalError) as raised:
        client._post("/auth", {"address": victim, "signature": signer.sign_nonce("signup")})
    assert raised.value.status_code == 401 and "Invalid signature" in raised.value.message


def test_a_refresh_token_that_is_not_a_uuid_is_a_validation_error(oracle) -> None:
    client = RecordingOracleClient(base_url=oracle.base_url)
    with pytest.raises(HufiFinalError) as raised:
        client.refresh(refresh_token="not-a-uuid")
    assert raised.value.status_code == 400 and "Validation error" in raised.value.message
