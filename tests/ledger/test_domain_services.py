"""Domain services: the postings each one makes, and replay of every call changing nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledger import codes
from ledger import services as ledger
from ledger.enums import EntryKind, EntryStatus, FeeKind
from ledger.exceptions import InsufficientFunds, InvalidAccount, WrongEntryKind
from ledger.models import JournalEntry
from ledger.selectors import account_balance, order_balances, user_balances
from tests.ledger.helpers import assert_ledger_ok, available, new_asset, posted, snapshot

pytestmark = pytest.mark.django_db

D = Decimal
M = codes.CUSTODY_MIXIN
VENUE = codes.custody_venue("binance", "mm-1")


@pytest.fixture
def ids() -> dict:
    return {
        "user": uuid.uuid4(),
        "order": uuid.uuid4(),
        "base": new_asset(),
        "quote": new_asset(),
    }


def test_deposit_then_allocate_then_release(ids) -> None:
    u, o, q = ids["user"], ids["order"], ids["quote"]
    entry = ledger.deposit_credit(
        idempotency_key="dep", user_id=u, asset=q, amount=D(100), snapshot_id="snap-1"
    )
    assert (entry.kind, entry.reference) == (EntryKind.DEPOSIT, "snap-1")
    ledger.order_allocate(idempotency_key="alloc", user_id=u, order_id=o, asset=q, amount=D(80))
    ledger.order_release(idempotency_key="rel", user_id=u, order_id=o, asset=q, amount=D(30))
    assert user_balances(user_id=u)[q].posted == D(50)
    assert order_balances(order_id=o)[q].posted == D(50)
    assert posted(M, q) == D(100)
    with pytest.raises(InsufficientFunds):
        ledger.order_release(idempotency_key="rel2", user_id=u, order_id=o, asset=q, amount=D(51))
    assert_ledger_ok()


def _fund_order_on_venue(ids, quote_amount: str = "1000") -> None:
    u, o, q = ids["user"], ids["order"], ids["quote"]
    ledger.deposit_credit(
        idempotency_key="dep", user_id=u, asset=q, amount=D(quote_amount), snapshot_id="s"
    )
    ledger.order_allocate(
        idempotency_key="alloc", user_id=u, order_id=o, asset=q, amount=D(quote_amount)
    )
    ledger.custody_move_start(
        idempotency_key="move",
        source=M,
        destination=VENUE,
        asset=q,
        amount=D(quote_amount),
        reference=str(o),
    )
    ledger.custody_move_confirm(entry_key="move", idempotency_key="move:seen")


def test_buy_fill_moves_base_and_quote_and_charges_the_venue_fee_to_the_order(ids) -> None:
    _fund_order_on_venue(ids)
    o, b, q = ids["order"], ids["base"], ids["quote"]
    order = codes.order_account(o)
    # when: buy 2 base for 200 quote, fee 0.002 base
    entry = ledger.fill_settle(
        idempotency_key="fill-1",
        order_id=o,
        venue="binance",
        venue_account="mm-1",
        trade_id="t-1",
        side="buy",
        base_asset=b,
        quote_asset=q,
        base_amount=D(2),
        quote_amount=D(200),
        fee_asset=b,
        fee_amount=D("0.002"),
    )
    # then
    assert entry.reference == "binance:t-1"
    assert posted(order, b) == D("1.998") and posted(order, q) == D(800)
    assert posted(VENUE, b) == D("1.998") and posted(VENUE, q) == D(800)
    # charged on to the order: the fee expense nets out, but its debits and credits show it
    fee_account = account_balance(code=codes.FEES_VENUE, asset=b)
    assert fee_account.posted == 0
    assert fee_account.debits_posted == D("0.002") == fee_account.credits_posted
    assert_ledger_ok()


def _buy(ids, key: str, fee_amount: Decimal, fee_asset: str | None) -> JournalEntry:
    return ledger.fill_settle(
        idempotency_key=key,
        order_id=ids["order"],
        venue="binance",
        venue_account="mm-1",
        trade_id=key,
        side="buy",
        base_asset=ids["base"],
        quote_asset=ids["quote"],
        base_amount=D(2),
        quote_amount=D(200),
        fee_asset=fee_asset,
        fee_amount=fee_amount,
    )


def test_a_maker_rebate_is_paid_into_the_venue_custody_and_belongs_to_the_order(ids) -> None:
    _fund_order_on_venue(ids)
    b, q = ids["base"], ids["quote"]
    order = codes.order_account(ids["order"])
    # when: a buy whose maker rebate is 0.02 quote (venues report it as a negative fee)
    entry = _buy(ids, "fill-r", D("-0.02"), q)
    # then: the venue paid it in; the order owns it; the fee account shows it both ways
    assert posted(order, b) == D(2) and posted(order, q) == D("800.02")
    assert posted(VENUE, q) == D("800.02")
    fees = account_balance(code=codes.FEES_VENUE, asset=q)
    assert fees.posted == 0 and fees.debits_posted == D("0.02") == fees.credits_posted
    assert entry.postings.count() == 8
    # a replay is the same entry
    assert _buy(ids, "fill-r", D("-0.02"), q).pk == entry.pk
    assert_ledger_ok()


def test_a_zero_fee_fill_books_no_fee_legs_and_needs_no_fee_asset(ids) -> None:
    _fund_order_on_venue(ids)
    entry = _buy(ids, "fill-0", D(0), None)
    assert entry.postings.count() == 4
    assert account_balance(code=codes.FEES_VENUE, asset=ids["quote"]).debits_posted == 0
    assert_ledger_ok()


def test_a_rebate_without_its_asset_is_refused_and_books_nothing(ids) -> None:
    _fund_order_on_venue(ids)
    before = snapshot()
    with pytest.raises(InvalidAccount):
        _buy(ids, "fill-x", D("-0.02"), None)
    assert snapshot() == before


def test_a_venue_funding_wallet_has_its_own_custody_code() -> None:
    funding = codes.custody_venue("okx", "0", codes.WALLET_FUNDING)
    assert funding == "custody:venue:okx:0:funding"
    assert codes.custody_venue("okx", "0") == "custody:venue:okx:0"
    spec = codes.account_spec(funding)
    assert (spec.kind, spec.venue, spec.venue_account, spec.venue_wallet) == (
        "asset",
        "okx",
        "0",
        "funding",
    )
    assert codes.account_spec("custody:venue:okx:0").venue_wallet == "trading"
    with pytest.raises(InvalidAccount):
        codes.custody_venue("okx", "0", "margin")
    with pytest.raises(InvalidAccount):
        codes.account_spec("custody:venue:okx:0:margin")


def test_sell_fill_needs_the_base_in_the_order(ids) -> None:
    _fund_order_on_venue(ids)
    o, b, q = ids["order"], ids["base"], ids["quote"]
    args = dict(
        order_id=o, venue="binance", venue_account="mm-1", side="sell", base_asset=b, quote_asset=q
    )
    before = snapshot()
    with pytest.raises(InsufficientFunds):
        ledger.fill_settle(
            idempotency_key="f", trade_id="t", base_amount=D(1), quote_amount=D(100), **args
        )  # type: ignore[arg-type]
    assert snapshot() == before
    ledger.fill_settle(
        idempotency_key="f-buy",
        trade_id="t0",
        base_amount=D(1),
        quote_amount=D(100),
        **{**args, "side": "buy"},  # type: ignore[arg-type]
    )
    ledger.fill_settle(
        idempotency_key="f-sell",
        trade_id="t1",
        base_amount=D(1),
        quote_amount=D(110),
        fee_asset=q,
        fee_amount=D("0.11"),
        **args,  # type: ignore[arg-type]
    )
    order = codes.order_account(o)
    assert posted(order, b) == 0 and posted(order, q) == D("1009.89")
    assert posted(VENUE, q) == D("1009.89")
    assert_ledger_ok()


def test_fee_paid_by_a_payer_or_by_the_service(ids) -> None:
    _fund_order_on_venue(ids)
    o, q = ids["order"], ids["quote"]
    ledger.fee_pay(
        idempotency_key="fee-1",
        fee_kind=FeeKind.VENUE,
        custody=VENUE,
        asset=q,
        amount=D(1),
        payer=codes.order_account(o),
        reference="withdraw-fee",
    )
    ledger.fee_pay(
        idempotency_key="fee-2",
        fee_kind=FeeKind.NETWORK,
        custody=VENUE,
        asset=q,
        amount=D(2),
        payer=None,
        reference="x",
    )
    assert posted(codes.order_account(o), q) == D(999)
    assert posted(VENUE, q) == D(997)
    assert posted(codes.FEES_VENUE, q) == 0
    assert posted(codes.FEES_NETWORK, q) == D(2)  # Mr.Market's own expense
    with pytest.raises(InvalidAccount):
        ledger.fee_pay(
            idempotency_key="fee-3",
            fee_kind="gas",
            custody=VENUE,
            asset=q,
            amount=D(1),
            payer=None,
            reference="x",
        )
    with pytest.raises(InvalidAccount):
        ledger.fee_pay(
            idempotency_key="fee-4",
            fee_kind=FeeKind.VENUE,
            custody=codes.order_account(o),
            asset=q,
            amount=D(1),
            payer=None,
            reference="x",
        )
    assert_ledger_ok()


def test_refund_is_pending_until_confirmed(ids) -> None:
    u, q = ids["user"], ids["quote"]
    ledger.deposit_credit(idempotency_key="dep", user_id=u, asset=q, amount=D(10), snapshot_id="s")
    user = codes.user_available(u)
    # when
    entry = ledger.refund_start(
        idempotency_key="refund", user_id=u, asset=q, amount=D(9), network_fee=D(1), reference="r"
    )
    # then: spendable balance is gone at once, custody still holds it
    assert entry.status == EntryStatus.PENDING
    assert available(user, q) == 0 and posted(user, q) == D(10)
    assert available(M, q) == 0 and posted(M, q) == D(10)
    ledger.refund_confirm(entry_key="refund", idempotency_key="refund:sent")
    assert posted(user, q) == 0 and posted(M, q) == 0
    assert posted(codes.FEES_NETWORK, q) == 0
    assert_ledger_ok()


def test_failed_refund_gives_the_money_back(ids) -> None:
    u, o, q = ids["user"], ids["order"], ids["quote"]
    ledger.deposit_credit(idempotency_key="dep", user_id=u, asset=q, amount=D(10), snapshot_id="s")
    ledger.order_allocate(idempotency_key="alloc", user_id=u, order_id=o, asset=q, amount=D(10))
    ledger.refund_start(
        idempotency_key="refund", user_id=u, order_id=o, asset=q, amount=D(10), reference="r"
    )
    assert available(codes.order_account(o), q) == 0
    entry = ledger.refund_fail(entry_key="refund", idempotency_key="refund:failed")
    assert entry.status == EntryStatus.VOIDED
    assert available(codes.order_account(o), q) == D(10) and posted(M, q) == D(10)
    assert_ledger_ok()


def test_custody_move_to_a_venue_is_not_spendable_there_until_seen(ids) -> None:
    u, o, b, q = ids["user"], ids["order"], ids["base"], ids["quote"]
    ledger.deposit_credit(idempotency_key="dep", user_id=u, asset=q, amount=D(100), snapshot_id="s")
    ledger.order_allocate(idempotency_key="alloc", user_id=u, order_id=o, asset=q, amount=D(100))
    ledger.custody_move_start(
        idempotency_key="move",
        source=M,
        destination=VENUE,
        asset=q,
        amount=D(99),
        network_fee=D(1),
        fee_payer=codes.order_account(o),
        reference=str(o),
    )
    assert available(M, q) == 0 and available(VENUE, q) == 0
    assert available(codes.order_account(o), q) == D(99)
    # a fill cannot spend quote the venue has not received yet
    with pytest.raises(InsufficientFunds):
        ledger.fill_settle(
            idempotency_key="f",
            order_id=o,
            venue="binance",
            venue_account="mm-1",
            trade_id="t",
            side="buy",
            base_asset=b,
            quote_asset=q,
            base_amount=D(1),
            quote_amount=D(50),
        )
    with pytest.raises(WrongEntryKind):
        ledger.refund_confirm(entry_key="move", idempotency_key="nope")
    ledger.custody_move_confirm(entry_key="move", idempotency_key="move:seen")
    assert posted(VENUE, q) == D(99) and posted(M, q) == 0
    assert posted(codes.order_account(o), q) == D(99)
    assert_ledger_ok()


def test_custody_move_that_failed_is_voided(ids) -> None:
    u, q = ids["user"], ids["quote"]
    ledger.deposit_credit(idempotency_key="dep", user_id=u, asset=q, amount=D(5), snapshot_id="s")
    ledger.custody_move_start(
        idempotency_key="move", source=M, destination=VENUE, asset=q, amount=D(5), reference="x"
    )
    ledger.custody_move_fail(entry_key="move", idempotency_key="move:failed")
    assert posted(M, q) == D(5) and available(M, q) == D(5) and posted(VENUE, q) == 0
    with pytest.raises(InvalidAccount):
        ledger.custody_move_start(
            idempotency_key="m2", source=M, destination=M, asset=q, amount=D(1), reference="x"
        )


def test_rewards_are_received_then_credited_never_beyond_what_arrived(ids) -> None:
    u, b = ids["user"], ids["base"]
    ledger.reward_receive(idempotency_key="rw", asset=b, amount=D(3), reference="campaign-1")
    ledger.reward_credit(
        idempotency_key="rw:u1", user_id=u, asset=b, amount=D(2), reference="campaign-1"
    )
    with pytest.raises(InsufficientFunds):
        ledger.reward_credit(
            idempotency_key="rw:u2",
            user_id=uuid.uuid4(),
            asset=b,
            amount=D("1.5"),
            reference="campaign-1",
        )
    assert posted(codes.user_available(u), b) == D(2)
    assert posted(codes.REWARDS_HUFI, b) == D(1)
    assert posted(M, b) == D(3)
    assert_ledger_ok()


def test_service_fee_goes_to_revenue(ids) -> None:
    u, o, q = ids["user"], ids["order"], ids["quote"]
    ledger.deposit_credit(idempotency_key="dep", user_id=u, asset=q, amount=D(10), snapshot_id="s")
    ledger.order_allocate(idempotency_key="alloc", user_id=u, order_id=o, asset=q, amount=D(10))
    ledger.service_fee_take(
        idempotency_key="svc",
        payer=codes.order_account(o),
        asset=q,
        amount=D("0.01"),
        reference=str(o),
    )
    assert posted(codes.REVENUE_SERVICE, q) == D("0.01")
    assert posted(codes.order_account(o), q) == D("9.99")
    with pytest.raises(InvalidAccount):
        ledger.service_fee_take(
            idempotency_key="svc2", payer=M, asset=q, amount=D(1), reference="x"
        )


def _every_service_once(ids) -> None:
    u, o, b, q = ids["user"], ids["order"], ids["base"], ids["quote"]
    order = codes.order_account(o)
    ledger.deposit_credit(
        idempotency_key="r:dep", user_id=u, asset=q, amount=D(1000), snapshot_id="s1"
    )
    ledger.order_allocate(idempotency_key="r:alloc", user_id=u, order_id=o, asset=q, amount=D(900))
    ledger.order_release(idempotency_key="r:rel", user_id=u, order_id=o, asset=q, amount=D(100))
    ledger.custody_move_start(
        idempotency_key="r:move",
        source=M,
        destination=VENUE,
        asset=q,
        amount=D(700),
        network_fee=D(1),
        fee_payer=order,
        reference=str(o),
    )
    ledger.custody_move_confirm(entry_key="r:move", idempotency_key="r:move:seen")
    ledger.fill_settle(
        idempotency_key="r:fill",
        order_id=o,
        venue="binance",
        venue_account="mm-1",
        trade_id="t1",
        side="buy",
        base_asset=b,
        quote_asset=q,
        base_amount=D(3),
        quote_amount=D(300),
        fee_asset=q,
        fee_amount=D("0.3"),
    )
    ledger.fee_pay(
        idempotency_key="r:fee",
        fee_kind=FeeKind.VENUE,
        custody=VENUE,
        asset=q,
        amount=D(1),
        payer=order,
        reference="w",
    )
    ledger.service_fee_take(
        idempotency_key="r:svc", payer=order, asset=q, amount=D(2), reference=str(o)
    )
    ledger.reward_receive(idempotency_key="r:rw", asset=b, amount=D(1), reference="c1")
    ledger.reward_credit(idempotency_key="r:rw:u", user_id=u, asset=b, amount=D(1), reference="c1")
    ledger.refund_start(
        idempotency_key="r:refund",
        user_id=u,
        asset=q,
        amount=D(50),
        network_fee=D(1),
        reference="x",
    )
    ledger.refund_confirm(entry_key="r:refund", idempotency_key="r:refund:sent")
    ledger.refund_start(
        idempotency_key="r:refund2", user_id=u, asset=q, amount=D(10), reference="y"
    )
    ledger.refund_fail(entry_key="r:refund2", idempotency_key="r:refund2:failed")
    ledger.ledger_transfer_create(
        idempotency_key="r:xfer",
        debit_account=codes.user_available(u),
        credit_account=order,
        asset=b,
        amount=D(1),
    )
    ledger.ledger_transfer_create(
        idempotency_key="r:pend",
        debit_account=order,
        credit_account=codes.user_available(u),
        asset=b,
        amount=D(1),
        pending=True,
    )
    ledger.ledger_pending_void(entry_key="r:pend", idempotency_key="r:pend:void")


def test_replaying_every_service_call_with_the_same_keys_changes_nothing(ids) -> None:
    # given
    _every_service_once(ids)
    before = snapshot()
    entries = JournalEntry.objects.count()
    assert entries == 13
    # when
    _every_service_once(ids)
    # then
    assert snapshot() == before
    assert_ledger_ok()
