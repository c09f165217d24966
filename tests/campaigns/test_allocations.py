"""Sharing received payouts with users: booked once, split exactly by the day's scores,
credited once, held (with an audit event) when it cannot be done honestly."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from campaigns.enums import ParticipationStatus, PayoutAllocationStatus
from campaigns.models import Allocation, Participation, Payout
from campaigns.services import (
    JoinResult,
    campaign_payouts_scan,
    participation_record,
    payout_allocate,
    payouts_allocate,
)
from campaigns.tasks import campaign_payouts_allocate_task
from ledger import codes
from ledger.models import JournalEntry
from ledger.selectors import account_balance, user_balances
from mrmarket.models import AuditEvent, User
from tests.campaigns.erc20_fixture import Chain
from tests.campaigns.factories import campaign_make, order_make, payout_make
from tests.exchanges.factories import AssetFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = datetime(2025, 3, 10, tzinfo=UTC)  # the payout's UTC day
HMT = uuid.UUID("30e340a7-3284-3f04-8594-fbdd8f2da79f")


@pytest.fixture
def hmt(db):  # type: ignore[no-untyped-def]
    return AssetFactory(asset_id=HMT, symbol="HMT")


@pytest.fixture
def campaign(db):  # type: ignore[no-untyped-def]
    # 6 decimals keeps every share within SQLite's 15 exact digits (PostgreSQL has 38).
    return campaign_make(
        start_date=DAY - timedelta(days=5),
        end_date=DAY + timedelta(days=5),
        fund_token_decimals=6,
    )


def _participant(campaign, user, *, joined_at=DAY - timedelta(days=1), left_at=None):  # type: ignore[no-untyped-def]
    order = order_make(user=user)
    participation_record(
        campaign=campaign, order_id=order.pk, user_id=user.pk, result=JoinResult("joined")
    )
    fields: dict[str, object] = {"joined_at": joined_at}
    if left_at is not None:
        fields.update(status=ParticipationStatus.LEFT, left_at=left_at)
    Participation.objects.filter(order=order).update(**fields)
    return order


def _credited(user) -> Decimal:  # type: ignore[no-untyped-def]
    balance = user_balances(user_id=user.pk).get(str(HMT))
    return balance.posted if balance else Decimal(0)


def _entries(kind: str) -> int:
    return JournalEntry.objects.filter(kind=kind).count()


def test_a_payout_is_booked_once_and_split_by_that_days_scores(
    campaign, hmt, user, other_user, fill_book
) -> None:
    # given two users who traded on the payout's day (scores 3,000 and 1,000)
    mine = _participant(campaign, user)
    theirs = _participant(campaign, other_user)
    fill_book.add(mine, at=DAY + timedelta(hours=3), volume=3000)
    fill_book.add(theirs, at=DAY + timedelta(hours=4), volume=1000)
    # the day before: not this payout's
    fill_book.add(theirs, at=DAY - timedelta(hours=4), volume=90000)
    payout = payout_make(
        campaign=campaign, amount_base_units=100_000_001, block_time=DAY + timedelta(hours=20)
    )

    # when it is allocated
    result = payout_allocate(payout_id=payout.pk)

    # then 100.000001 HMT: 75.000000 (+1 base unit of remainder to the largest score) and 25
    assert result.status == PayoutAllocationStatus.ALLOCATED
    assert _credited(user) == Decimal("75.000001") and _credited(other_user) == Decimal(25)
    rows = {a.user_id: a for a in Allocation.objects.all()}
    assert rows[user.pk].amount_base_units == "75000001" and rows[user.pk].score == Decimal(3000)
    assert rows[other_user.pk].amount_base_units == "25000000"
    assert rows[user.pk].entry_key == f"{payout.key}:user:{user.pk}"
    assert _entries("reward_received") == 1 and _entries("reward") == 2
    custody = account_balance(code=codes.CUSTODY_MIXIN, asset=str(HMT))
    assert custody.posted == Decimal("100.000001")
    assert account_balance(code=codes.REWARDS_HUFI, asset=str(HMT)).posted == 0  # all passed on
    payout.refresh_from_db()
    assert payout.asset_id == str(HMT) and payout.received_at and payout.allocated_at


def test_a_payout_seen_twice_on_chain_is_credited_once(hmt, user, other_user, fill_book) -> None:
    # given a reward transfer on chain (18 decimals), scanned twice
    chain = Chain()
    campaign = campaign_make(address=chain.escrow, fund_token=chain.token.address)
    chain.pay(chain.token, chain.escrow, chain.wallet, 12 * 10**18)
    chain.mine(2)
    for from_block in (None, 0):
        campaign_payouts_scan(
            chain_id=137, w3=chain.w3, wallet_address=chain.wallet, confirmations=2,
            from_block=from_block,
        )  # fmt: skip
    payout = Payout.objects.get()
    day = payout.block_time.replace(hour=0, minute=0, second=0, microsecond=0)
    mine = _participant(campaign, user, joined_at=day - timedelta(hours=1))
    theirs = _participant(campaign, other_user, joined_at=day - timedelta(hours=1))
    fill_book.add(mine, at=day, volume=300)
    fill_book.add(theirs, at=day, volume=100)
    # when allocation runs twice
    payouts_allocate()
    payouts_allocate()
    # then each user is credited once
    assert (_credited(user), _credited(other_user)) == (Decimal(9), Decimal(3))
    assert _entries("reward_received") == 1 and _entries("reward") == 2


def test_new_payouts_go_before_held_ones(campaign, hmt, user, fill_book) -> None:
    held = payout_make(campaign=campaign, amount_base_units=1, block_time=DAY - timedelta(days=1))
    payout_allocate(payout_id=held.pk)  # no score that day: held
    fill_book.add(_participant(campaign, user), at=DAY + timedelta(hours=1), volume=1)
    fresh = payout_make(campaign=campaign, amount_base_units=2, block_time=DAY)
    results = payouts_allocate(limit=1)
    assert [r.payout_id for r in results] == [fresh.pk]
    assert results[0].status == PayoutAllocationStatus.ALLOCATED


def test_a_task_run_twice_credits_once(campaign, hmt, user, fill_book) -> None:
    order = _participant(campaign, user)
    fill_book.add(order, at=DAY + timedelta(hours=1), volume=10)
    payout_make(campaign=campaign, amount_base_units=5_000_000, block_time=DAY + timedelta(hours=2))
    campaign_payouts_allocate_task()
    campaign_payouts_allocate_task()
    assert _credited(user) == Decimal(5)
    assert Allocation.objects.count() == 1
    assert _entries("reward_received") == 1 and _entries("reward") == 1


def test_remainder_goes_to_the_largest_score_ties_to_the_smallest_user_id(
    campaign, hmt, fill_book
) -> None:
    users: list[User] = sorted((UserFactory.create() for _ in range(3)), key=lambda u: str(u.pk))
    for u in users:
        fill_book.add(_participant(campaign, u), at=DAY + timedelta(hours=1), volume=7)
    payout = payout_make(campaign=campaign, amount_base_units=100, block_time=DAY)
    payout_allocate(payout_id=payout.pk)
    units = [Allocation.objects.get(user=u).amount_base_units for u in users]
    assert units == ["34", "33", "33"]


def test_only_fills_made_while_taking_part_count(
    campaign, hmt, user, other_user, fill_book
) -> None:
    # joined at noon: the morning's fills do not count
    late = _participant(campaign, user, joined_at=DAY + timedelta(hours=12))
    fill_book.add(late, at=DAY + timedelta(hours=6), volume=1000)
    fill_book.add(late, at=DAY + timedelta(hours=13), volume=100)
    # left at 10:00: fills after leaving do not count
    gone = _participant(
        campaign, other_user, joined_at=DAY - timedelta(days=2), left_at=DAY + timedelta(hours=10)
    )
    fill_book.add(gone, at=DAY + timedelta(hours=9), volume=300)
    fill_book.add(gone, at=DAY + timedelta(hours=11), volume=5000)
    # someone who joined after the day is not in it at all
    after = _participant(campaign, UserFactory(), joined_at=DAY + timedelta(days=1, hours=1))
    fill_book.add(after, at=DAY + timedelta(days=1, hours=2), volume=1000)
    payout = payout_make(
        campaign=campaign, amount_base_units=400, block_time=DAY + timedelta(hours=23)
    )
    payout_allocate(payout_id=payout.pk)
    got = {a.user_id: (a.score, a.amount_base_units) for a in Allocation.objects.all()}
    assert got == {user.pk: (Decimal(100), "100"), other_user.pk: (Decimal(300), "300")}


def test_a_day_without_scores_keeps_the_payout_unallocated(campaign, hmt, user, fill_book) -> None:
    order = _participant(campaign, user)
    payout = payout_make(campaign=campaign, amount_base_units=9_000_000, block_time=DAY)

    first = payout_allocate(payout_id=payout.pk)
    second = payout_allocate(payout_id=payout.pk)

    assert first.status == second.status == PayoutAllocationStatus.NO_SCORES
    assert "2025-03-10" in first.note
    assert Allocation.objects.count() == 0 and _entries("reward") == 0
    # received in custody and owed to users (the clearing account), credited to nobody
    assert _entries("reward_received") == 1
    assert account_balance(code=codes.REWARDS_HUFI, asset=str(HMT)).posted == Decimal(9)
    events = AuditEvent.objects.filter(action="payout_allocation_held", target_id=payout.key)
    assert events.count() == 1 and events.get().payload["status"] == "no_scores"

    # a late fill shows up: the next run shares it
    fill_book.add(order, at=DAY + timedelta(hours=5), volume=1)
    assert payout_allocate(payout_id=payout.pk).status == PayoutAllocationStatus.ALLOCATED
    assert _credited(user) == Decimal(9) and _entries("reward_received") == 1


def test_a_fund_token_without_a_mixin_asset_is_not_guessed(
    campaign, user, fill_book, settings
) -> None:
    order = _participant(campaign, user)
    fill_book.add(order, at=DAY + timedelta(hours=1), volume=10)
    payout = payout_make(campaign=campaign, amount_base_units=1_000_000, block_time=DAY)

    # no asset called HMT
    assert payout_allocate(payout_id=payout.pk).status == PayoutAllocationStatus.ASSET_UNMAPPED
    # two assets called HMT: ambiguous
    AssetFactory(symbol="HMT")
    AssetFactory(symbol="HMT")
    held = payout_allocate(payout_id=payout.pk)
    assert held.status == PayoutAllocationStatus.ASSET_UNMAPPED and "several" in held.note
    payouts_allocate()  # the task retrying: no new audit event for the same reason
    assert JournalEntry.objects.count() == 0 and Allocation.objects.count() == 0
    events = AuditEvent.objects.filter(action="payout_allocation_held", target_id=payout.key)
    assert events.count() == 2  # one per distinct reason
    assert Payout.objects.get(pk=payout.pk).allocation_status == "asset_unmapped"

    # the operator maps the token: it is booked as that asset
    AssetFactory(asset_id=HMT, symbol="HMT")
    settings.HUFI_REWARD_ASSETS = [f"{campaign.fund_token}={HMT}"]
    assert payout_allocate(payout_id=payout.pk).status == PayoutAllocationStatus.ALLOCATED
    assert _credited(user) == Decimal(1)


def test_a_ledger_refusal_writes_nothing_and_holds_the_payout(
    campaign, hmt, user, fill_book, settings
) -> None:
    fill_book.add(_participant(campaign, user), at=DAY + timedelta(hours=1), volume=10)
    payout = payout_make(campaign=campaign, amount_base_units=3_000_000, block_time=DAY)
    settings.HUFI_REWARD_CUSTODY_ACCOUNT = "revenue:service"  # misconfigured: not a custody account
    held = payout_allocate(payout_id=payout.pk)
    assert held.status == PayoutAllocationStatus.LEDGER_REFUSED and "custody" in held.note
    assert JournalEntry.objects.count() == 0 and Allocation.objects.count() == 0
    payout.refresh_from_db()
    assert payout.received_at is None and payout.asset_id == ""
    settings.HUFI_REWARD_CUSTODY_ACCOUNT = "custody:mixin"
    assert payout_allocate(payout_id=payout.pk).status == PayoutAllocationStatus.ALLOCATED


def test_a_mapping_to_an_unknown_asset_is_refused(campaign, user, fill_book, settings) -> None:
    settings.HUFI_REWARD_ASSETS = [f"hmt={uuid.uuid4()}"]
    payout = payout_make(campaign=campaign, amount_base_units=1, block_time=DAY)
    held = payout_allocate(payout_id=payout.pk)
    assert held.status == PayoutAllocationStatus.ASSET_UNMAPPED and "not a known asset" in held.note


@hsettings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    amount=st.integers(min_value=1, max_value=10**12),
    volumes=st.lists(
        st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**6), places=6),
        min_size=1,
        max_size=4,
    ),
)
def test_allocations_sum_exactly_to_the_payout(hmt, fill_book, amount, volumes) -> None:
    # a fresh campaign per example: the database outlives hypothesis' examples
    campaign = campaign_make(
        start_date=DAY - timedelta(days=5), end_date=DAY + timedelta(days=5), fund_token_decimals=6
    )
    users = [UserFactory() for _ in volumes]
    for u, volume in zip(users, volumes, strict=True):
        fill_book.add(_participant(campaign, u), at=DAY + timedelta(hours=2), volume=volume)
    payout = payout_make(campaign=campaign, amount_base_units=amount, block_time=DAY)
    payout_allocate(payout_id=payout.pk)
    rows = list(Allocation.objects.filter(payout=payout))
    assert sum(int(a.amount_base_units) for a in rows) == amount
    assert sum((a.amount for a in rows), Decimal(0)) == payout.amount
    entries = JournalEntry.objects.filter(kind="reward", reference=payout.key)
    credited = sum((e.postings.get(credit__gt=0).credit for e in entries), Decimal(0))
    assert credited == payout.amount and entries.count() == len(rows)
    # each share is the floor of its exact value; only the top score also gets the remainder
    total = sum(volumes)
    for a in rows:
        floor = int(Decimal(amount) * a.score / total)
        assert floor <= int(a.amount_base_units) <= floor + len(volumes)


def test_the_rewards_api_lists_the_callers_allocations(
    campaign, hmt, user, other_user, user_api, fill_book
) -> None:
    fill_book.add(_participant(campaign, user), at=DAY + timedelta(hours=1), volume=3)
    fill_book.add(_participant(campaign, other_user), at=DAY + timedelta(hours=1), volume=1)
    payout = payout_make(campaign=campaign, amount_base_units=2_000_000, block_time=DAY)
    payout_allocate(payout_id=payout.pk)
    body = user_api.get("/campaigns/rewards").json()
    assert body["has_more"] is False and len(body["results"]) == 1
    row = body["results"][0]
    assert row["amount"] == "1.5" and row["payout_amount"] == "2" and row["score"] == "3"
    assert row["asset_id"] == str(HMT) and row["tx_hash"] == payout.tx_hash
    assert row["address"] == campaign.address and row["block_time"] == "2025-03-10T00:00:00Z"
    joined = user_api.get("/campaigns/joined").json()["results"][0]
    assert joined["rewards_received"] == "1.5"


def test_the_rewards_api_needs_a_user(api) -> None:
    assert api.get("/campaigns/rewards").status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_allocating_one_payout_credit_it_once(campaign, hmt, fill_book) -> None:
    users = [UserFactory() for _ in range(3)]
    for i, u in enumerate(users):
        fill_book.add(_participant(campaign, u), at=DAY + timedelta(hours=1), volume=i + 1)
    payout = payout_make(campaign=campaign, amount_base_units=6_000_000, block_time=DAY)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            payout_allocate(payout_id=payout.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [_credited(u) for u in users] == [Decimal(1), Decimal(2), Decimal(3)]
    assert _entries("reward_received") == 1 and _entries("reward") == 3
    assert Allocation.objects.count() == 3
