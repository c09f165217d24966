"""The order lifecycle's shared fixtures and helpers, a pytest plugin (`tests/conftest.py`
lists it in `pytest_plugins`): the demo venue, a paying user (`pay`), and a driver that plays
beat (snapshot intake, the fake chain, the sweeper's steps) until the order settles. Test
modules import the helpers from here, never from another test module."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest

from exchanges import demo as exchanges_demo
from exchanges.models import MarketMakingPair
from orders.models import MarketMakingOrder
from orders.services import intake, lifecycle, transfers
from orders.services.intents import order_intent_create
from standins.custody.chain import fake_chain_relay
from standins.custody.gateway import fake_custody_asset_upsert, fake_custody_pay

BTC = str(exchanges_demo.BTC)
USDT = str(exchanges_demo.USDT)


@pytest.fixture
def lifecycle_settings(settings):  # type: ignore[no-untyped-def]
    settings.CUSTODY_BACKEND = "fake"
    settings.CUSTODY_FAKE_CONFIRM_SECONDS = 0
    settings.ORDER_STEP_POLL_SECONDS = 0
    settings.CUSTODY_TRANSFER_RETRY_BASE_SECONDS = 0
    settings.ORDER_JOIN_CAMPAIGNS = False
    settings.CUSTODY_SNAPSHOT_OVERLAP_SECONDS = 60
    return settings


@pytest.fixture
def demo(db, lifecycle_settings) -> MarketMakingPair:  # type: ignore[no-untyped-def]
    """The demo paper venue with its pairs; BTC/USDT is returned. Custody fees: 0.00001 BTC
    and 1 USDT per withdrawal, so fee handling is exercised."""
    exchanges_demo.seed()
    fake_custody_asset_upsert(
        asset_id=BTC,
        symbol="BTC",
        chain_id=BTC,
        precision=8,
        price_usd=Decimal(95000),
        withdrawal_fee=Decimal("0.00001"),
    )
    fake_custody_asset_upsert(
        asset_id=USDT,
        symbol="USDT",
        chain_id=str(exchanges_demo.ETH),
        precision=8,
        price_usd=Decimal(1),
        withdrawal_fee=Decimal(1),
    )
    return MarketMakingPair.objects.get(pk=exchanges_demo.pair_id("BTC/USDT"))


@pytest.fixture
def new_order(demo, user) -> Callable[..., MarketMakingOrder]:  # type: ignore[no-untyped-def]
    def make(**kwargs: object) -> MarketMakingOrder:
        return order_intent_create(user=kwargs.pop("user", user), pair_id=demo.pk, **kwargs)  # type: ignore[arg-type]

    return make


def play_beat(
    order: MarketMakingOrder, *, rounds: int = 30, until: set[str] | None = None
) -> MarketMakingOrder:
    """Run intake, the fake chain, the transfer driver and the order's due step until it
    stops moving."""
    seen = []
    for _ in range(rounds):
        for pk in intake.custody_snapshots_poll():
            intake.payment_snapshot_process(snapshot_pk=pk)
        fake_chain_relay()
        drive_transfers()
        lifecycle.order_step(order_id=order.pk)
        order.refresh_from_db()
        seen.append(order.state)
        if until and order.state in until:
            break
        if len(seen) >= 4 and len(set(seen[-4:])) == 1 and order.next_step_at is None:
            break
    return order


def drive_transfers() -> int:
    """What the sweeper does for transfers: advance every one that is due, once."""
    advanced = 0
    for pk, _token in transfers.transfers_queue_due():
        advanced += transfers.transfer_advance(transfer_id=pk, token=_token_of(_token)) is not None
    return advanced


def _token_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


def pay(order, asset: str, amount: str, *, payer=None, memo: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """The order's user (or `payer`) pays through the fake custody; intake runs at once."""
    fake_custody_pay(
        user_id=str(payer or order.user_id),
        asset_id=asset,
        amount=Decimal(amount),
        memo_text=memo if memo is not None else order.memo,
    )
    for pk in intake.custody_snapshots_poll():
        intake.payment_snapshot_process(snapshot_pk=pk)
    order.refresh_from_db()
