"""The payment's own state machine (`PaymentState`), kept apart from the order's.

The payment page polls `PaymentState.state` every 3 s for up to 180 s waiting for
`payment_complete`; the order itself passes that state in under a second on its way to the
venue, so the poller must read the payment, not the order. Three entry points, each called
inside the transaction that holds the order's row lock:

- `payment_state_open` when the memo is handed out (the order is created);
- `payment_state_credit` when a snapshot is credited to the order (amounts, snapshot ids);
- `payment_state_follow` from `order_transition`: the order's payment-phase transitions
  move the payment (partial, complete, memo expired / payment timed out, refunded). Every
  later order transition leaves a complete payment complete.

Each is idempotent: a transition whose effect already holds is a no-op.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F
from django_fsm import can_proceed

from orders.enums import OrderState, PaymentRole, PaymentStatus
from orders.models import MarketMakingOrder, PaymentState

S = OrderState
P = PaymentStatus

# Order transition → payment transition (with the payment states it applies from).
_FOLLOW: dict[str, tuple[str, set[str]]] = {
    "payment_partially_received": ("partially_paid", {P.PAYMENT_PENDING}),
    "payment_completed": ("paid", {P.PAYMENT_PENDING, P.PAYMENT_INCOMPLETE}),
    "memo_expired": ("timed_out", {P.PAYMENT_PENDING, P.PAYMENT_INCOMPLETE}),
    # An order fails before its payment completed only by the payment timeout; a later
    # failure (a withdrawal that broke) leaves the complete payment complete.
    "failed": ("timed_out", {P.PAYMENT_PENDING, P.PAYMENT_INCOMPLETE}),
    "refunded": ("refunded", {P.TIMEOUT}),
}

_AMOUNT_FIELDS = {
    PaymentRole.BASE: ("base_asset_amount", "base_asset_snapshot_id"),
    PaymentRole.QUOTE: ("quote_asset_amount", "quote_asset_snapshot_id"),
    PaymentRole.BASE_FEE: ("base_fee_asset_amount", None),
    PaymentRole.QUOTE_FEE: ("quote_fee_asset_amount", None),
}


def payment_state_open(*, order: MarketMakingOrder) -> PaymentState:
    """The order's payment row, created in `payment_pending` (kept if it exists)."""
    pair = order.pair
    payment: PaymentState
    payment, _ = PaymentState.objects.get_or_create(
        order=order,
        defaults={
            "user_id": order.user_id,
            "symbol": pair.symbol,
            "base_asset_id": str(pair.base_asset_id),
            "quote_asset_id": str(pair.quote_asset_id),
            "base_fee_asset_id": order.base_fee_asset_id,
            "quote_fee_asset_id": order.quote_fee_asset_id,
            "required_base_withdrawal_fee": order.required_base_withdrawal_fee,
            "required_quote_withdrawal_fee": order.required_quote_withdrawal_fee,
            "required_strategy_fee_percentage": order.strategy_fee_percentage,
        },
    )
    return payment


def payment_state_credit(
    *, order: MarketMakingOrder, role: str, amount: Decimal, snapshot_id: str
) -> None:
    """Count one credited snapshot (called once per snapshot, under the order lock)."""
    payment_state_open(order=order)
    amount_field, snapshot_field = _AMOUNT_FIELDS[PaymentRole(role)]
    changes: dict[str, object] = {amount_field: F(amount_field) + amount}
    if snapshot_field is not None:
        changes[snapshot_field] = snapshot_id  # the latest snapshot of that asset
    PaymentState.objects.filter(pk=order.pk).update(**changes)


def payment_state_follow(*, order: MarketMakingOrder, transition_name: str) -> None:
    """Move the payment along with the order's payment-phase transition `transition_name`."""
    follow = _FOLLOW.get(transition_name)
    if follow is None:
        return
    name, sources = follow
    payment = PaymentState.objects.select_for_update().filter(pk=order.pk).first()
    if payment is None or payment.state not in sources:
        return  # no payment phase (an order made without a memo), or already moved on
    method = getattr(payment, name)
    if can_proceed(method):
        method()
        payment.save()
