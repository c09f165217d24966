"""The campaigns console: participations and allocations read-only, "join now" for orders and
"allocate now" for payouts through the services, each audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from campaigns.enums import ParticipationStatus, PayoutAllocationStatus
from campaigns.models import Participation, Payout
from campaigns.services import JoinResult, participation_record
from mrmarket.models import AuditEvent
from tests.campaigns.factories import campaign_make, order_make, payout_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(db) -> Client:  # type: ignore[no-untyped-def]
    staff = UserFactory.create(is_staff=True, is_superuser=True, is_mixin_user=False)
    client = Client()
    client.force_login(staff)
    return client


def _joins_posted(oracle) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in oracle.requests if r.path == "/campaigns/join")


def test_every_campaigns_console_page_renders_and_records_are_read_only(console, user) -> None:
    campaign = campaign_make()
    order = order_make(user=user)
    participation_record(
        campaign=campaign, order_id=order.pk, user_id=user.pk, result=JoinResult("joined")
    )
    for model in ("participation", "allocation", "payout", "campaignjoin"):
        assert console.get(f"/console/campaigns/{model}/").status_code == 200, model
        assert console.get(f"/console/campaigns/{model}/add/").status_code == 403, model
    participation = Participation.objects.get()
    page = console.get(f"/console/campaigns/participation/{participation.pk}/change/")
    assert page.status_code == 200 and b"Save" not in page.content


def test_join_now_on_orders_joins_through_the_service_and_is_audited(
    console, hufi, user, fill_book
) -> None:
    _, oracle = hufi
    campaign = campaign_make()
    order = order_make(user=user)
    stopped = order_make(user=user, state="stopped")
    response = console.post(
        "/console/orders/marketmakingorder/",
        {"action": "join_campaigns_now", "_selected_action": [str(order.pk), str(stopped.pk)]},
    )
    assert response.status_code == 302
    row = Participation.objects.get()
    assert (row.order_id, row.campaign_id, row.status) == (
        order.pk,
        campaign.pk,
        ParticipationStatus.JOINED,
    )
    assert _joins_posted(oracle) == 1
    event = AuditEvent.objects.get(action="order_campaigns_join")
    assert event.target_id == str(order.pk) and event.outcome == "ok"
    assert event.payload == {"participations": {campaign.key: "joined"}}
    assert event.actor is not None and event.actor.is_superuser


def test_join_now_on_a_failed_participation_retries_it(console, hufi, user, fill_book) -> None:
    campaign = campaign_make()
    order = order_make(user=user)
    failed = participation_record(
        campaign=campaign,
        order_id=order.pk,
        user_id=user.pk,
        result=JoinResult(status="failed", error="HTTP 503"),
    )
    console.post(
        "/console/campaigns/participation/",
        {"action": "join_now", "_selected_action": [str(failed.pk)]},
    )
    failed.refresh_from_db()
    assert failed.status == ParticipationStatus.JOINED and failed.attempts == 2
    assert AuditEvent.objects.filter(action="order_campaigns_join", outcome="ok").count() == 1


def test_a_staff_member_without_superuser_cannot_join(db, hufi, user) -> None:
    _, oracle = hufi
    staff = UserFactory.create(is_staff=True, is_superuser=False, is_mixin_user=False)
    client = Client()
    client.force_login(staff)
    campaign_make()
    order = order_make(user=user)
    client.post(
        "/console/orders/marketmakingorder/",
        {"action": "join_campaigns_now", "_selected_action": [str(order.pk)]},
    )
    assert Participation.objects.count() == 0 and oracle.requests == []


def test_allocate_now_on_a_payout_is_audited(console, user, fill_book) -> None:
    from tests.exchanges.factories import AssetFactory

    AssetFactory(symbol="HMT")
    day = datetime(2025, 3, 10, tzinfo=UTC)
    campaign = campaign_make(
        start_date=day - timedelta(days=1), end_date=day + timedelta(days=1), fund_token_decimals=6
    )
    order = order_make(user=user)
    participation_record(
        campaign=campaign, order_id=order.pk, user_id=user.pk, result=JoinResult("joined")
    )
    Participation.objects.update(joined_at=day)
    fill_book.add(order, at=day + timedelta(hours=1), volume=Decimal(5))
    payout = payout_make(campaign=campaign, amount_base_units=1_000_000, block_time=day)
    console.post(
        "/console/campaigns/payout/",
        {"action": "allocate_now", "_selected_action": [str(payout.pk)]},
    )
    assert Payout.objects.get().allocation_status == PayoutAllocationStatus.ALLOCATED
    event = AuditEvent.objects.get(action="payout_allocate")
    assert event.target_id == payout.key and event.payload["users"] == 1
