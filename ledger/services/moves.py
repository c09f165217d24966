"""Domain moves: what other apps call to move value (deposits, allocations, fills, fees,
refunds, custody moves, rewards). Each builds the postings of one entry and hands them to the
write path; the account codes are `ledger.codes`'s."""

from __future__ import annotations

import uuid
from decimal import Decimal

from ledger import codes
from ledger.enums import AccountKind, EntryKind, EntryStatus, FeeKind, FillSide
from ledger.exceptions import InvalidAccount
from ledger.models import ZERO, JournalEntry
from ledger.services.entries import PostingSpec, amount_check, credit, debit
from ledger.services.write import ledger_entry_create, ledger_transfer_create, pending_resolve

# --------------------------------------------------------------------------- domain services


def _custody_check(code: str) -> str:
    if codes.account_spec(code).kind != AccountKind.ASSET:
        raise InvalidAccount(f"{code!r} is not a custody account.")
    return code


def _payer_check(code: str) -> str:
    spec = codes.account_spec(code)
    if spec.kind != AccountKind.LIABILITY or code == codes.REWARDS_HUFI:
        raise InvalidAccount(f"{code!r} is not a user or order account.")
    return code


def _fee_legs(
    *, fee_code: str, custody: str, payer: str | None, asset: str, amount: Decimal
) -> list[PostingSpec]:
    """The fee leaves custody into the fee expense; a payer, if any, reimburses the expense.

    With a payer the fee account's balance is unchanged (its debits and credits both grow by
    the fee, so the totals show what was paid and what was charged on); without one the fee is
    Mr.Market's own expense and stays as the fee account's debit balance.
    """
    legs = [debit(fee_code, asset, amount), credit(custody, asset, amount)]
    if payer is not None:
        legs += [debit(payer, asset, amount), credit(fee_code, asset, amount)]
    return legs


def _is_negative(value: object) -> bool:
    """A signed amount below zero (a rebate); anything else is left to `amount_check`."""
    return isinstance(value, Decimal | int) and not isinstance(value, bool) and value < 0


def deposit_credit(
    *, idempotency_key: str, user_id: uuid.UUID | str, asset: str, amount: Decimal, snapshot_id: str
) -> JournalEntry:
    """A Mixin snapshot paid `amount` into the bot's wallet for `user_id`.

    Dr custody:mixin, Cr user:<user>:available.
    """
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.DEPOSIT,
        reference=snapshot_id,
        debit_account=codes.CUSTODY_MIXIN,
        credit_account=codes.user_available(user_id),
        asset=asset,
        amount=amount,
    )


def order_allocate(
    *,
    idempotency_key: str,
    user_id: uuid.UUID | str,
    order_id: uuid.UUID | str,
    asset: str,
    amount: Decimal,
) -> JournalEntry:
    """Move the user's free balance into the order's budget. Dr user available, Cr order."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.ALLOCATION,
        reference=str(order_id),
        debit_account=codes.user_available(user_id),
        credit_account=codes.order_account(order_id),
        asset=asset,
        amount=amount,
    )


def order_release(
    *,
    idempotency_key: str,
    user_id: uuid.UUID | str,
    order_id: uuid.UUID | str,
    asset: str,
    amount: Decimal,
) -> JournalEntry:
    """Give the order's budget back to the user's free balance. Dr order, Cr user available."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.RELEASE,
        reference=str(order_id),
        debit_account=codes.order_account(order_id),
        credit_account=codes.user_available(user_id),
        asset=asset,
        amount=amount,
    )


def fill_settle(
    *,
    idempotency_key: str,
    order_id: uuid.UUID | str,
    venue: str,
    venue_account: str,
    trade_id: str,
    side: str,
    base_asset: str,
    quote_asset: str,
    base_amount: Decimal,
    quote_amount: Decimal,
    fee_asset: str | None = None,
    fee_amount: Decimal = ZERO,
) -> JournalEntry:
    """One exchange fill of the order's trading on a venue account.

    `base_amount`/`quote_amount` are the gross traded amounts; the venue fee (any asset) is
    taken from the venue custody and charged to the order. A buy: Dr custody base, Cr order
    base; Dr order quote, Cr custody quote. A sell is the mirror. Reference: `<venue>:<trade>`.

    A negative `fee_amount` is a maker rebate, as venues report it: the venue pays it into
    its custody and it belongs to the order (Dr custody, Cr fees:venue; Dr fees:venue, Cr
    order — the fee account's totals show the rebate, its balance does not change). A zero
    fee books no fee legs.
    """
    if side not in FillSide.values:
        raise InvalidAccount(f"side must be buy or sell, got {side!r}.")
    custody = codes.custody_venue(venue, venue_account)
    order = codes.order_account(order_id)
    gets, pays = (custody, order) if side == FillSide.BUY else (order, custody)
    postings = [
        debit(gets, base_asset, base_amount),
        credit(pays, base_asset, base_amount),
        debit(pays, quote_asset, quote_amount),
        credit(gets, quote_asset, quote_amount),
    ]
    rebate = _is_negative(fee_amount)
    fee = amount_check(-fee_amount if rebate else fee_amount, what="fee_amount", allow_zero=True)
    if fee > 0 and fee_asset is None:
        raise InvalidAccount("fee_asset is required with a fee or a rebate.")
    if fee > 0 and rebate:
        assert fee_asset is not None
        postings += [
            debit(custody, fee_asset, fee),
            credit(codes.FEES_VENUE, fee_asset, fee),
            debit(codes.FEES_VENUE, fee_asset, fee),
            credit(order, fee_asset, fee),
        ]
    elif fee > 0:
        assert fee_asset is not None
        postings += _fee_legs(
            fee_code=codes.FEES_VENUE, custody=custody, payer=order, asset=fee_asset, amount=fee
        )
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.FILL,
        reference=f"{venue}:{trade_id}",
        postings=postings,
        metadata={"order_id": str(order_id), "side": side, "trade_id": trade_id},
    )


def fee_pay(
    *,
    idempotency_key: str,
    fee_kind: str,
    custody: str,
    asset: str,
    amount: Decimal,
    payer: str | None,
    reference: str,
) -> JournalEntry:
    """A fee left `custody` (a network or venue fee); `payer` (user/order code) bears it, or
    Mr.Market does when `payer` is None."""
    if fee_kind not in FeeKind.values:
        raise InvalidAccount(f"unknown fee kind {fee_kind!r}.")
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.FEE,
        reference=reference,
        postings=_fee_legs(
            fee_code=codes.fees_account(fee_kind),
            custody=_custody_check(custody),
            payer=_payer_check(payer) if payer is not None else None,
            asset=asset,
            amount=amount,
        ),
    )


def _refund_source(user_id: uuid.UUID | str, order_id: uuid.UUID | str | None) -> str:
    return codes.order_account(order_id) if order_id is not None else codes.user_available(user_id)


def refund_start(
    *,
    idempotency_key: str,
    user_id: uuid.UUID | str,
    asset: str,
    amount: Decimal,
    reference: str,
    order_id: uuid.UUID | str | None = None,
    network_fee: Decimal = ZERO,
) -> JournalEntry:
    """Pending refund from custody:mixin to the user's wallet, before the transfer is sent.

    Paid from the order's budget when `order_id` is given, else from the user's free balance;
    a network fee, if any, is charged to the same account. Confirm with `refund_confirm` once
    Mixin shows the transfer, `refund_fail` if it definitely failed.
    """
    source = _refund_source(user_id, order_id)
    postings = [debit(source, asset, amount), credit(codes.CUSTODY_MIXIN, asset, amount)]
    fee = amount_check(network_fee, what="network_fee", allow_zero=True)
    if fee > 0:
        postings += _fee_legs(
            fee_code=codes.FEES_NETWORK,
            custody=codes.CUSTODY_MIXIN,
            payer=source,
            asset=asset,
            amount=fee,
        )
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.REFUND,
        reference=reference,
        pending=True,
        postings=postings,
        metadata={"user_id": str(user_id), "order_id": str(order_id) if order_id else None},
    )


def refund_confirm(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.POSTED,
        kind=EntryKind.REFUND,
    )


def refund_fail(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.VOIDED,
        kind=EntryKind.REFUND,
    )


def custody_move_start(
    *,
    idempotency_key: str,
    source: str,
    destination: str,
    asset: str,
    amount: Decimal,
    reference: str,
    network_fee: Decimal = ZERO,
    fee_payer: str | None = None,
) -> JournalEntry:
    """Pending move between custody accounts (Mixin → venue account, or back on exit).

    `amount` is what arrives at `destination`; a network fee additionally leaves `source`,
    borne by `fee_payer` (an order/user code) or by Mr.Market. Post with
    `custody_move_confirm` when the deposit is seen at the destination, void with
    `custody_move_fail` if the withdrawal definitely failed. Pending credits count against
    what the source can still send; the destination cannot spend them until posted.
    """
    source = _custody_check(source)
    destination = _custody_check(destination)
    if source == destination:
        raise InvalidAccount("source and destination are the same custody account.")
    postings = [debit(destination, asset, amount), credit(source, asset, amount)]
    fee = amount_check(network_fee, what="network_fee", allow_zero=True)
    if fee > 0:
        postings += _fee_legs(
            fee_code=codes.FEES_NETWORK,
            custody=source,
            payer=_payer_check(fee_payer) if fee_payer is not None else None,
            asset=asset,
            amount=fee,
        )
    return ledger_entry_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.CUSTODY_MOVE,
        reference=reference,
        pending=True,
        postings=postings,
    )


def custody_move_confirm(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.POSTED,
        kind=EntryKind.CUSTODY_MOVE,
    )


def custody_move_fail(*, entry_key: str, idempotency_key: str) -> JournalEntry:
    return pending_resolve(
        entry_key=entry_key,
        idempotency_key=idempotency_key,
        to_status=EntryStatus.VOIDED,
        kind=EntryKind.CUSTODY_MOVE,
    )


def reward_receive(
    *,
    idempotency_key: str,
    asset: str,
    amount: Decimal,
    reference: str,
    custody: str = codes.CUSTODY_MIXIN,
) -> JournalEntry:
    """A HuFi reward arrived in custody; it is owed to users until credited. Dr custody, Cr rewards:hufi."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.REWARD_RECEIVED,
        reference=reference,
        debit_account=_custody_check(custody),
        credit_account=codes.REWARDS_HUFI,
        asset=asset,
        amount=amount,
    )


def reward_credit(
    *, idempotency_key: str, user_id: uuid.UUID | str, asset: str, amount: Decimal, reference: str
) -> JournalEntry:
    """A user's share of a received reward. Dr rewards:hufi, Cr user available."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.REWARD,
        reference=reference,
        debit_account=codes.REWARDS_HUFI,
        credit_account=codes.user_available(user_id),
        asset=asset,
        amount=amount,
    )


def service_fee_take(
    *, idempotency_key: str, payer: str, asset: str, amount: Decimal, reference: str
) -> JournalEntry:
    """Mr.Market's own fee, from an order or a user. Dr payer, Cr revenue:service."""
    return ledger_transfer_create(
        idempotency_key=idempotency_key,
        kind=EntryKind.SERVICE_FEE,
        reference=reference,
        debit_account=_payer_check(payer),
        credit_account=codes.REVENUE_SERVICE,
        asset=asset,
        amount=amount,
    )
