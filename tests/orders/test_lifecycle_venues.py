"""Acceptance of issue 12: the demo order lifecycle end to end on the OKX v5 and Bybit v5
emulators, through ccxt's real `okx` and `bybit` classes and the product's own gateway.

intent → paid → custody withdraws to the venue's deposit address → the deposit lands in the
venue's funding wallet → moved to the trading wallet → running: the strategy quotes on the
venue, an outside trade fills a quote → exit: quotes cancelled, the order's balances moved
back to funding, withdrawn to custody → refunded → exit_complete, and the ledger is clean
with every venue wallet account at zero.

The test plays the chain between the fake custody and the emulated venue (what a real
blockchain does by itself) and the task broker (strategy messages are run inline).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import TestCase
from django.utils import timezone

from exchanges import demo as exchanges_demo
from exchanges import services
from exchanges.enums import ExchangeKind
from exchanges.models import AssetNetwork, MarketMakingPair
from ledger import codes
from ledger.selectors import account_balance, ledger_verify_report, order_balances
from orders.enums import TransferPurpose, TransferStatus
from orders.models import CustodyTransfer, MarketMakingOrder, OrderEvent
from orders.services import intake, lifecycle, transfers
from orders.services.controls import order_exit
from orders.services.intents import order_intent_create
from orders.services.reconcile import custody_reconcile
from standins.custody.gateway import FakeCustody, fake_custody_deposit_receive
from standins.venues.bybit import BybitEmulator
from standins.venues.okx import OkxEmulator
from strategy.executor import order_intent_execute
from strategy.marketdata import market_data_refresh
from strategy.models import Fill, TrackedOrder
from strategy.runner import sessions_run
from strategy.tick import strategy_tick
from strategy.tracking import venue_account_sync
from tests.support.order_flow import BTC, USDT, drive_transfers, pay

pytestmark = pytest.mark.django_db

D = Decimal
P = TransferPurpose
T = TransferStatus
KEY, SECRET, PASSPHRASE = "LifeKey0000000001", "life-secret", "life-pass"
VENUE_FEE = D("0.0002")  # the emulated venue's withdrawal fee, charged on top, per coin
BID, ASK = D("59000"), D("61000")  # outside liquidity around the emulator's last price
# ccxt network codes of the chains each emulator lists (OKX: `<coin>-ERC20`; Bybit: BTC, ETH)
# A maker fee on OKX; a maker rebate on Bybit (paid in the coin the order gives away)
MAKER_FEE = {"okx": D("0.001"), "bybit": D("-0.0001")}
NETWORKS = {"okx": {"BTC": "ERC20", "USDT": "ERC20"}, "bybit": {"BTC": "BTC", "USDT": "ERC20"}}


@dataclass
class VenueWorld:
    name: str
    emulator: Any
    pair: MarketMakingPair
    sent: list[tuple[Any, ...]]  # task messages, recorded by the suite instead of sent

    def funding(self) -> dict[str, tuple[Decimal, Decimal]]:
        return self.emulator.wallet(KEY, funding=True)

    def trading(self) -> dict[str, tuple[Decimal, Decimal]]:
        return self.emulator.wallet(KEY, funding=False)


@pytest.fixture(params=["okx", "bybit"])
def venue_world(
    request: pytest.FixtureRequest, demo: MarketMakingPair, sent_tasks: list[tuple[Any, ...]]
) -> Iterator[VenueWorld]:
    name: str = request.param
    emulator = (OkxEmulator if name == "okx" else BybitEmulator)(
        withdraw_fee=VENUE_FEE, maker_fee=MAKER_FEE[name]
    )
    emulator.add_account(name="mm", api_key=KEY, secret=SECRET, passphrase=PASSPHRASE)
    emulator.add_account(
        name="outside",
        api_key="OutsideKey0000001",
        secret="outside",
        balances={"BTC": D(10), "USDT": D(1_000_000)},
    )
    for side, price in (("buy", BID), ("sell", ASK)):
        emulator.engine.place(
            account="outside", symbol="BTC/USDT", side=side, price=price, amount=D(1)
        )
    emulator.start()
    exchange = services.exchange_create(
        exchange_id=name,
        name=name.upper(),
        actor=None,
        kind=ExchangeKind.CCXT,
        ccxt_id=name,
        options={"base_url": emulator.base_url, "timeout_ms": 5000},
    )
    for asset_id, currency in ((exchanges_demo.BTC, "BTC"), (exchanges_demo.USDT, "USDT")):
        services.registry_object_save(
            obj=AssetNetwork(
                asset_id=asset_id,
                exchange=exchange,
                currency=currency,
                network=NETWORKS[name][currency],
                withdraw_fee=VENUE_FEE,
            ),
            created=True,
            actor=None,
        )
    services.venue_account_create(
        exchange=exchange,
        index=0,
        name=f"{name} account 0",
        api_key=KEY,
        api_secret=SECRET,
        api_passphrase=PASSPHRASE if name == "okx" else "",
        actor=None,
    )
    pair = services.market_making_pair_create(
        data={
            "exchange_id": name,
            "symbol": "BTC/USDT",
            "base_asset_id": exchanges_demo.BTC,
            "quote_asset_id": exchanges_demo.USDT,
            "min_order_amount": D("0.00001"),
        },
        actor=None,
    )
    yield VenueWorld(name=name, emulator=emulator, pair=pair, sent=sent_tasks)
    services.gateway_cache_clear()
    threading.Thread(target=emulator.stop, daemon=True).start()


# ---------------------------------------------------------------------------- the outside world


def chain_relay(world: VenueWorld) -> None:
    """The chain: a confirmed custody withdrawal lands in the venue's funding wallet, a
    confirmed venue withdrawal lands in custody, each once by its transaction hash."""
    confirmed = CustodyTransfer.objects.filter(
        status=T.CONFIRMED, purpose__in=[P.WITHDRAW_TO_VENUE, P.VENUE_TO_CUSTODY]
    ).exclude(transaction_hash="")
    for transfer in confirmed:
        if transfer.purpose == P.WITHDRAW_TO_VENUE:
            coin = "BTC" if transfer.asset_id == BTC else "USDT"
            world.emulator.credit_deposit(
                api_key=KEY, coin=coin, amount=transfer.amount, txid=transfer.transaction_hash
            )
        else:
            fake_custody_deposit_receive(
                asset_id=transfer.asset_id,
                amount=transfer.amount,
                transaction_hash=transfer.transaction_hash,
            )


def committed(fn: Callable[..., Any], /, **kwargs: Any) -> Any:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return fn(**kwargs)


def strategy_round(world: VenueWorld) -> None:
    """What beat and the workers do for the strategy: a tick, its market-data refreshes,
    the runs, then every intent and account-sync message until none is left."""
    result = committed(strategy_tick)
    for need in result.markets:
        market_data_refresh(
            exchange_id=need.exchange_id, symbol=need.symbol, with_last=need.with_last
        )
    for batch in result.batches:
        committed(sessions_run, session_ids=batch)
    world.sent.append(("venue_account_sync_task", (world.name, 0), {}, {}))
    for _ in range(10):
        messages = list(world.sent)
        world.sent.clear()  # the order steps' own messages too: `beat` runs the steps
        runs = [
            m for m in messages if m[0] in ("order_intent_execute_task", "venue_account_sync_task")
        ]
        if not runs:
            return
        for name, args, _kwargs, _options in runs:
            if name == "order_intent_execute_task":
                committed(order_intent_execute, intent_id=args[0])
            else:
                committed(venue_account_sync, exchange_id=args[0], account_index=args[1])


class WorkerDied(Exception):
    """A worker killed mid-drive (raised by a test's patch; nothing in the product catches it)."""


def _leases_run_out(order: MarketMakingOrder) -> None:
    """After a worker died: its leases end (time passes), so the work is due again."""
    now = timezone.now()
    CustodyTransfer.objects.filter(order=order, status__in=[T.PENDING, T.SENT]).update(
        next_attempt_at=now
    )
    MarketMakingOrder.objects.filter(pk=order.pk).update(next_step_at=now)


def beat(
    world: VenueWorld, order: MarketMakingOrder, *, until: set[str], rounds: int = 40
) -> MarketMakingOrder:
    for _ in range(rounds):
        for pk in intake.custody_snapshots_poll():
            intake.payment_snapshot_process(snapshot_pk=pk)
        chain_relay(world)
        try:
            drive_transfers()
            committed(lifecycle.order_step, order_id=order.pk)
        except WorkerDied:
            _leases_run_out(order)
        order.refresh_from_db()
        if order.state in until:
            return order
        if order.state in ("running", "exit_requested", "exit_withdrawing"):
            strategy_round(world)
    return order


# ---------------------------------------------------------------------------- the lifecycle


def test_the_demo_order_lifecycle_runs_end_to_end_on_the_emulated_venue(
    venue_world: VenueWorld, user: Any
) -> None:
    world = venue_world
    # given a user's order on the venue, paid in full
    order = order_intent_create(user=user, pair_id=world.pair.pk)
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    assert order.state == "payment_complete"

    # when beat plays, the order reaches running with its money in the trading wallet
    order = beat(world, order, until={"running", "failed"})
    assert order.state == "running", order.failure_reason
    deposits = {
        t.asset_id: t
        for t in CustodyTransfer.objects.filter(order=order, purpose=P.WITHDRAW_TO_VENUE)
    }
    to_trading = {
        t.asset_id: t
        for t in CustodyTransfer.objects.filter(order=order, purpose=P.FUNDING_TO_TRADING)
    }
    assert {t.status for t in deposits.values()} == {T.ARRIVED}
    assert {a: (t.status, t.amount) for a, t in to_trading.items()} == {
        a: (T.ARRIVED, deposits[a].amount) for a in (BTC, USDT)
    }
    assert world.trading()["BTC"][0] == deposits[BTC].amount
    assert world.trading()["USDT"][0] == deposits[USDT].amount
    assert all(free == 0 and used == 0 for free, used in world.funding().values())
    venue = codes.custody_venue(world.name, "0")
    funding = codes.custody_venue(world.name, "0", codes.WALLET_FUNDING)
    assert account_balance(code=venue, asset=BTC).posted == deposits[BTC].amount
    assert account_balance(code=funding, asset=BTC).posted == 0
    states = list(OrderEvent.objects.filter(order=order).values_list("to_state", flat=True))
    assert states[-3:] == ["deposit_confirmed", "created", "running"]
    # reconciliation reads each wallet against its own custody account and finds no drift
    run = custody_reconcile(venue=world.name, source="command")
    assert run.ok, run.drifts
    assert {r["account"] for r in run.rows} == {venue, funding}

    # and the strategy quotes on the venue through ccxt
    strategy_round(world)
    quotes = TrackedOrder.objects.filter(session__order=order, status="open")
    assert quotes.filter(side="buy").exists() and quotes.filter(side="sell").exists()
    bid = quotes.filter(side="buy").order_by("-price").first()
    assert bid is not None
    # an outside seller takes our best bid (and nothing of the outside bid below it)
    world.emulator.external_trade("BTC/USDT", bid.price, bid.amount)
    strategy_round(world)
    fill = Fill.objects.get(order=order)
    assert fill.ledger_key and fill.settle_error == ""
    assert (fill.side, fill.amount, fill.price) == ("buy", bid.amount, bid.price)
    if MAKER_FEE[world.name] > 0:  # charged on what the buy receives
        assert (fill.fee, fill.fee_asset_id) == (bid.amount * MAKER_FEE[world.name], BTC)
    else:  # Bybit's rebate: paid in what the buy gives away, owned by the order
        assert fill.fee < 0 and fill.fee_asset_id == USDT

    # when the user exits
    committed(order_exit, order_id=order.pk, actor=user)
    order = beat(world, order, until={"exit_complete", "failed", "refunded"}, rounds=60)

    # then everything came back through funding and custody to the user
    assert order.state == "exit_complete", order.failure_reason
    states = list(OrderEvent.objects.filter(order=order).values_list("to_state", flat=True))
    assert states[-4:] == ["exit_requested", "exit_withdrawing", "exit_refunding", "exit_complete"]
    back = {
        t.asset_id: t
        for t in CustodyTransfer.objects.filter(order=order, purpose=P.VENUE_TO_CUSTODY)
    }
    to_funding = {
        t.asset_id: t
        for t in CustodyTransfer.objects.filter(order=order, purpose=P.TRADING_TO_FUNDING)
    }
    assert {t.status for t in [*back.values(), *to_funding.values()]} == {T.ARRIVED}
    for asset in (BTC, USDT):
        # what left the trading wallet is what the venue sent, fee on top, to custody
        assert back[asset].amount + back[asset].fee_amount == to_funding[asset].amount
        assert back[asset].fee_amount == VENUE_FEE
    assert all(free == 0 and used == 0 for free, used in world.trading().values())
    assert all(free == 0 and used == 0 for free, used in world.funding().values())
    for code in (venue, funding):
        for asset in (BTC, USDT):
            assert account_balance(code=code, asset=asset).posted == 0
    refunds = CustodyTransfer.objects.filter(order=order, purpose=P.REFUND)
    assert {(r.asset_id, r.status) for r in refunds} == {(BTC, T.CONFIRMED), (USDT, T.CONFIRMED)}
    custody = FakeCustody()
    for refund in refunds:
        tx = custody.transaction(request_id=refund.request_id)
        assert tx is not None and tx.amount == refund.amount
    assert all(b.posted == 0 for b in order_balances(order_id=order.pk).values())
    report = ledger_verify_report()
    assert report.ok, report


def test_a_crash_between_the_venues_wallet_move_and_the_ledger_post_never_moves_twice(
    venue_world: VenueWorld, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = venue_world
    # given a worker that dies once per wallet move, after the venue applied it and before
    # the ledger posted it
    died: list[str] = []
    apply_answer = transfers._apply_wallet_move_answer

    def die_once(transfer: CustodyTransfer, moved: Any) -> None:
        if transfer.request_id not in died:
            died.append(transfer.request_id)
            raise WorkerDied(transfer.request_id)
        apply_answer(transfer, moved)

    monkeypatch.setattr(transfers, "_apply_wallet_move_answer", die_once)
    order = order_intent_create(user=user, pair_id=world.pair.pk)
    pay(order, BTC, "0.01")
    pay(order, USDT, "1000")
    # when beat plays on (the next drive after each death looks the move up)
    order = beat(world, order, until={"running", "failed"})
    # then each deposit moved to trading once, and the ledger posted each move once
    assert order.state == "running", order.failure_reason
    to_trading = CustodyTransfer.objects.filter(order=order, purpose=P.FUNDING_TO_TRADING)
    assert len(died) == 2
    assert [(t.status, t.attempts) for t in to_trading] == [(T.ARRIVED, 2), (T.ARRIVED, 2)]
    account = world.emulator.accounts[KEY]
    assert len(account.transfers) == 2
    venue = codes.custody_venue(world.name, "0")
    for move in to_trading:
        assert account_balance(code=venue, asset=move.asset_id).posted == move.amount
        assert world.trading()["BTC" if move.asset_id == BTC else "USDT"][0] == move.amount
    assert all(free == 0 for free, _used in world.funding().values())

    # and the same on the way out
    committed(order_exit, order_id=order.pk, actor=user)
    order = beat(world, order, until={"exit_complete", "failed", "refunded"}, rounds=60)
    assert order.state == "exit_complete", order.failure_reason
    to_funding = CustodyTransfer.objects.filter(order=order, purpose=P.TRADING_TO_FUNDING)
    assert len(died) == 4
    assert [(t.status, t.attempts) for t in to_funding] == [(T.ARRIVED, 2), (T.ARRIVED, 2)]
    assert len(account.transfers) == 4
    assert all(free == 0 and used == 0 for free, used in world.trading().values())
    assert all(free == 0 and used == 0 for free, used in world.funding().values())
    report = ledger_verify_report()
    assert report.ok, report
