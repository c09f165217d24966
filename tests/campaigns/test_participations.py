"""Participations: what joining gave each order, the beat task that joins beside trading,
orders that exit, and a HuFi outage that leaves trading alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.enums import JoinStatus, ParticipationStatus
from campaigns.exceptions import ParticipationConflict
from campaigns.models import CampaignJoin, Participation
from campaigns.services import JoinResult, participation_record, participations_sync
from campaigns.tasks import campaign_participations_sync_task
from orders.models import MarketMakingOrder, OrderEvent
from orders.services.seams import campaign_join_for_order
from tests.campaigns.factories import campaign_make, order_make

pytestmark = pytest.mark.django_db


def _joins_posted(oracle) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in oracle.requests if r.path == "/campaigns/join")


# ------------------------------------------------------------------ participation_record


def test_recording_a_join_twice_keeps_one_joined_participation(user) -> None:
    campaign = campaign_make()
    order = order_make(user=user)
    first = participation_record(
        campaign=campaign, order_id=order.pk, user_id=user.pk, result=JoinResult(status="joined")
    )
    second = participation_record(
        campaign=campaign,
        order_id=str(order.pk),
        user_id=str(user.pk),
        result=JoinResult(status="already_joined"),
    )
    assert second.pk == first.pk and Participation.objects.count() == 1
    row = Participation.objects.get()
    assert row.status == ParticipationStatus.JOINED
    assert row.joined_at == first.joined_at and row.attempts == 1 and row.last_error == ""
    assert row.user_id == user.pk


def test_a_failed_join_is_recorded_and_a_later_success_upgrades_it(user) -> None:
    campaign = campaign_make()
    order = order_make(user=user)
    failed = participation_record(
        campaign=campaign,
        order_id=order.pk,
        user_id=user.pk,
        result=JoinResult(status="failed", error="HTTP 503"),
    )
    assert failed.status == ParticipationStatus.FAILED
    assert failed.joined_at is None and failed.last_error == "HTTP 503" and failed.attempts == 1
    again = participation_record(
        campaign=campaign, order_id=order.pk, user_id=user.pk, result=JoinResult(status="failed")
    )
    assert again.attempts == 2 and again.last_error == "failed"
    joined = participation_record(
        campaign=campaign, order_id=order.pk, user_id=user.pk, result=JoinResult(status="joined")
    )
    assert joined.pk == failed.pk
    assert joined.status == ParticipationStatus.JOINED and joined.joined_at is not None
    assert joined.attempts == 3 and joined.last_error == ""


def test_a_failure_never_downgrades_a_joined_participation(user) -> None:
    campaign = campaign_make()
    order = order_make(user=user)
    joined = participation_record(
        campaign=campaign, order_id=order.pk, user_id=user.pk, result=JoinResult(status="joined")
    )
    after = participation_record(
        campaign=campaign,
        order_id=order.pk,
        user_id=user.pk,
        result=JoinResult(status="failed", error="HTTP 503"),
    )
    assert after.status == ParticipationStatus.JOINED
    assert after.joined_at == joined.joined_at and after.attempts == 1 and after.last_error == ""


def test_recording_for_a_user_who_does_not_own_the_order_is_refused(user, other_user) -> None:
    campaign = campaign_make()
    order = order_make(user=user)
    with pytest.raises(ParticipationConflict):
        participation_record(
            campaign=campaign,
            order_id=order.pk,
            user_id=other_user.pk,
            result=JoinResult(status="joined"),
        )
    assert Participation.objects.count() == 0


def test_the_order_lifecycle_seam_joins_once_and_records_the_participation(hufi, user) -> None:
    # given an order on a venue + pair with an active campaign
    _, oracle = hufi
    campaign = campaign_make()
    order = order_make(user=user, state="joining_campaign")
    # when the lifecycle's joining step runs twice (a retried step)
    first = campaign_join_for_order(order=order)
    second = campaign_join_for_order(order=order)
    # then HuFi saw one join, and there is one joined participation
    assert first.status == "joined" and second.status == "already_joined"
    assert _joins_posted(oracle) == 1
    row = Participation.objects.get()
    assert (row.campaign_id, row.order_id, row.user_id) == (campaign.pk, order.pk, user.pk)
    assert row.status == ParticipationStatus.JOINED and row.attempts == 1


# ------------------------------------------------------------------ the participations task


def test_the_task_joins_for_running_and_paused_orders_of_matching_campaigns_only(
    hufi, user, other_user, fill_book
) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    running = order_make(user=user)
    paused = order_make(user=other_user, state="paused")
    created = order_make(user=user, state="created")  # the lifecycle's business, not the task's
    other_pair = order_make(user=user, symbol="XIN/USDT")
    other_venue = order_make(user=user, exchange_id="gate")

    result = participations_sync()

    assert result.joined == 2 and result.failed == 0 and result.deferred == 0
    assert _joins_posted(oracle) == 1  # one wallet join serves every order of the campaign
    rows = {p.order_id: p for p in Participation.objects.all()}
    assert set(rows) == {running.pk, paused.pk}
    assert all(p.status == ParticipationStatus.JOINED for p in rows.values())
    assert rows[paused.pk].user_id == other_user.pk and rows[paused.pk].campaign_id == campaign.pk
    for order in (created, other_pair, other_venue):
        assert not Participation.objects.filter(order=order).exists()


def test_the_task_twice_joins_once_and_asks_hufi_nothing_the_second_time(
    hufi, user, fill_book
) -> None:
    _, oracle = hufi
    campaign_make()
    order = order_make(user=user)
    campaign_participations_sync_task()
    requests = len(oracle.requests)
    campaign_participations_sync_task()
    assert len(oracle.requests) == requests
    assert _joins_posted(oracle) == 1
    row = Participation.objects.get(order=order)
    assert row.status == ParticipationStatus.JOINED and row.attempts == 1


def test_a_hufi_outage_fails_fast_and_trading_goes_on(hufi, user, settings, fill_book) -> None:
    # given two campaigns on the pair of a running order, and HuFi down
    _, oracle = hufi
    oracle.outage = True
    settings.HUFI_JOIN_DEADLINE_SECONDS = 0.6
    first, second = campaign_make(), campaign_make()
    order = order_make(user=user)
    events_before = OrderEvent.objects.count()
    state_changed_at = order.state_changed_at

    # when the task runs
    result = participations_sync()

    # then one join was tried (3 attempts, each stopped at its first request), the other
    # deferred without a single request: an outage costs one join's deadline, not one each
    assert result.failed == 1 and result.deferred == 1 and result.joined == 0
    assert 1 <= len(oracle.requests) <= 3  # at most the join's 3 attempts
    failed = Participation.objects.get()
    assert failed.status == ParticipationStatus.FAILED and "503" in failed.last_error
    assert failed.campaign_id in (first.pk, second.pk)
    # and the order was not touched: still running, no event, no state change
    order.refresh_from_db()
    assert order.state == "running" and order.state_changed_at == state_changed_at
    assert OrderEvent.objects.count() == events_before

    # when HuFi is back, the next run joins both campaigns (the failure is upgraded)
    oracle.outage = False
    again = participations_sync()
    assert again.joined == 2 and again.failed == 0
    rows = Participation.objects.order_by("campaign_id")
    assert [p.status for p in rows] == [ParticipationStatus.JOINED] * 2
    assert rows.get(pk=failed.pk).attempts == 2
    assert MarketMakingOrder.objects.get(pk=order.pk).state == "running"


def test_an_unreachable_oracle_does_not_hold_the_task(hufi, user, settings, fill_book) -> None:
    from tests.campaigns.conftest import closed_port_url

    settings.HUFI_RECORDING_ORACLE_URL = closed_port_url()
    campaign_make()
    order_make(user=user)
    result = participations_sync()
    assert result.failed == 1
    assert CampaignJoin.objects.get().status == JoinStatus.FAILED


def test_orders_that_stopped_trading_leave_their_campaigns(user, fill_book) -> None:
    campaign = campaign_make()
    stopped_at = timezone.now() - timedelta(minutes=5)
    stopped = order_make(user=user, state="stopped", state_changed_at=stopped_at)
    exiting = order_make(user=user, state="exit_requested")
    running = order_make(user=user)
    for order in (stopped, exiting, running):
        participation_record(
            campaign=campaign,
            order_id=order.pk,
            user_id=user.pk,
            result=JoinResult(status="joined"),
        )
    Participation.objects.filter(order=stopped).update(joined_at=stopped_at - timedelta(hours=1))

    result = participations_sync()

    assert result.left == 2
    left = Participation.objects.get(order=stopped)
    assert left.status == ParticipationStatus.LEFT and left.left_at == stopped_at
    assert Participation.objects.get(order=exiting).status == ParticipationStatus.LEFT
    assert Participation.objects.get(order=running).status == ParticipationStatus.JOINED
    # a late join result does not bring a left order back
    again = participation_record(
        campaign=campaign, order_id=stopped.pk, user_id=user.pk, result=JoinResult(status="joined")
    )
    assert again.status == ParticipationStatus.LEFT
    assert participations_sync().left == 0


def test_a_campaign_hufi_closed_is_not_asked_again_by_the_task(hufi, user, fill_book) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    oracle.register_campaign(
        chain_id=137, address=campaign.address, exchange_name="mexc", closed=True
    )
    order = order_make(user=user)
    first = participations_sync()
    requests = len(oracle.requests)
    second = participations_sync()
    assert first.failed == 1 and second.failed == 0
    assert len(oracle.requests) == requests and _joins_posted(oracle) == 0
    row = Participation.objects.get(order=order)
    assert row.status == ParticipationStatus.FAILED and "join_closed" in row.last_error
    assert row.attempts == 1


def test_the_lifecycle_join_step_moves_on_through_an_outage(hufi, user, settings) -> None:
    from orders.services.lifecycle import order_step

    # given an order at its joining step, a matching campaign, and HuFi down
    _, oracle = hufi
    oracle.outage = True
    settings.HUFI_JOIN_DEADLINE_SECONDS = 0.6
    campaign = campaign_make()
    order = order_make(user=user, state="joining_campaign")
    MarketMakingOrder.objects.filter(pk=order.pk).update(
        next_step_at=timezone.now() - timedelta(seconds=1)
    )
    # when the step runs
    order_step(order_id=order.pk)
    # then the order goes on to be created (trading is not held), the failure is recorded
    assert 1 <= len(oracle.requests) <= 3  # the join's bounded attempts, nothing more
    order.refresh_from_db()
    assert order.state == "created"
    event = OrderEvent.objects.get(order=order)
    assert event.trigger == "order.campaign_join_failed" and "503" in event.reason
    row = Participation.objects.get()
    assert (row.campaign_id, row.status) == (campaign.pk, ParticipationStatus.FAILED)
