"""The user's market-making order and its lifecycle records.

`MarketMakingOrder.state` is a protected django-fsm-2 field: the only way to change it is a
transition method below, called by `orders.services.transitions.order_transition`, which
locks the row, applies the transition, writes the `OrderEvent` in the same transaction and
schedules the next step on commit. Transition methods are pure (no I/O).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.expressions import Combinable
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from orders.enums import (
    EXITABLE_STATES,
    OrderState,
    PaymentRole,
    PaymentStatus,
    SnapshotStatus,
    TransferPurpose,
    TransferStatus,
)

S = OrderState
P = PaymentStatus


def amount_field(**kwargs: Any) -> models.DecimalField[Decimal | float | str | Combinable, Decimal]:
    """Money: 38 digits, 18 decimals (room for 18-decimal tokens, as in the ledger)."""
    return models.DecimalField(max_digits=38, decimal_places=18, **kwargs)


class MarketMakingOrder(ConcurrentTransitionMixin, models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mm_orders"
    )
    pair = models.ForeignKey(
        "exchanges.MarketMakingPair", on_delete=models.PROTECT, related_name="orders"
    )
    state = FSMField(default=S.PAYMENT_PENDING, choices=S.choices, protected=True, db_index=True)
    venue_account = models.ForeignKey(
        "exchanges.VenueAccount", on_delete=models.PROTECT, related_name="mm_orders"
    )
    state_changed_at = models.DateTimeField()
    # When the current state times out (memo, payment, withdrawal, deposit, exit timeouts).
    deadline_at = models.DateTimeField(null=True, blank=True)
    # When the step of the current state should run (again); also its lease: a step claims
    # the order by moving this forward with a conditional UPDATE. Null: waits for a person.
    next_step_at = models.DateTimeField(null=True, blank=True, db_index=True)
    step_attempts = models.PositiveIntegerField(default=0)
    memo = models.TextField()
    memo_expires_at = models.DateTimeField()
    reward_address = models.CharField(max_length=42, blank=True, default="")
    strategy_key = models.CharField(max_length=40, default="pure_market_making")
    strategy_params = models.JSONField(default=dict)
    # Fees quoted when the memo was handed out; the payment must cover them.
    base_fee_asset_id = models.CharField(max_length=36)
    quote_fee_asset_id = models.CharField(max_length=36)
    required_base_withdrawal_fee = amount_field()
    required_quote_withdrawal_fee = amount_field()
    strategy_fee_percentage = models.DecimalField(max_digits=10, decimal_places=8)
    failure_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_market_making_order"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="mm_order_user_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(required_base_withdrawal_fee__gte=0)
                & models.Q(required_quote_withdrawal_fee__gte=0)
                & models.Q(strategy_fee_percentage__gte=0),
                name="mm_order_fees_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.id} ({self.state})"

    # --- payment --------------------------------------------------------------------
    @transition(field=state, source=S.PAYMENT_PENDING, target=S.PAYMENT_INCOMPLETE)
    def payment_partially_received(self) -> None: ...

    @transition(
        field=state, source=[S.PAYMENT_PENDING, S.PAYMENT_INCOMPLETE], target=S.PAYMENT_COMPLETE
    )
    def payment_completed(self) -> None: ...

    @transition(field=state, source=S.PAYMENT_PENDING, target=S.DELETED)
    def memo_expired(self) -> None: ...

    # --- custody to venue -------------------------------------------------------------
    @transition(field=state, source=S.PAYMENT_COMPLETE, target=S.WITHDRAWING)
    def withdrawal_started(self) -> None: ...

    @transition(field=state, source=S.WITHDRAWING, target=S.WITHDRAWAL_CONFIRMED)
    def withdrawal_confirmed(self) -> None: ...

    @transition(field=state, source=S.WITHDRAWAL_CONFIRMED, target=S.DEPOSIT_CONFIRMING)
    def deposit_watch_started(self) -> None: ...

    @transition(field=state, source=S.DEPOSIT_CONFIRMING, target=S.DEPOSIT_CONFIRMED)
    def deposit_confirmed(self) -> None: ...

    # --- campaign and start -------------------------------------------------------------
    @transition(field=state, source=S.DEPOSIT_CONFIRMED, target=S.JOINING_CAMPAIGN)
    def campaign_join_started(self) -> None: ...

    @transition(field=state, source=S.JOINING_CAMPAIGN, target=S.CAMPAIGN_JOINED)
    def campaign_join_succeeded(self) -> None: ...

    @transition(
        field=state,
        source=[S.DEPOSIT_CONFIRMED, S.JOINING_CAMPAIGN, S.CAMPAIGN_JOINED],
        target=S.CREATED,
    )
    def strategy_created(self) -> None: ...

    @transition(field=state, source=S.CREATED, target=S.RUNNING)
    def started(self) -> None: ...

    # --- controls -----------------------------------------------------------------------
    @transition(field=state, source=S.RUNNING, target=S.PAUSED)
    def paused(self) -> None: ...

    @transition(field=state, source=S.PAUSED, target=S.RUNNING)
    def resumed(self) -> None: ...

    @transition(field=state, source=[S.RUNNING, S.PAUSED], target=S.STOPPED)
    def stopped(self) -> None: ...

    # --- exit ---------------------------------------------------------------------------
    @transition(field=state, source=EXITABLE_STATES, target=S.EXIT_REQUESTED)
    def exit_requested(self) -> None: ...

    @transition(field=state, source=S.EXIT_REQUESTED, target=S.EXIT_WITHDRAWING)
    def exit_withdrawal_started(self) -> None: ...

    @transition(field=state, source=[S.EXIT_REQUESTED, S.EXIT_WITHDRAWING], target=S.EXIT_REFUNDING)
    def exit_refund_started(self) -> None: ...

    @transition(field=state, source=S.EXIT_REFUNDING, target=S.EXIT_COMPLETE)
    def exit_completed(self) -> None: ...

    # --- failure --------------------------------------------------------------------------
    @transition(
        field=state,
        source=[
            S.PAYMENT_INCOMPLETE,
            S.PAYMENT_COMPLETE,
            S.WITHDRAWING,
            S.WITHDRAWAL_CONFIRMED,
            S.DEPOSIT_CONFIRMING,
        ],
        target=S.FAILED,
    )
    def failed(self) -> None: ...

    @transition(field=state, source=S.FAILED, target=S.REFUNDED)
    def refunded(self) -> None: ...


class PaymentState(ConcurrentTransitionMixin, models.Model):
    """The payment of one order, as the payment page polls it (CONTRACT `PaymentState`).

    Its own small state machine on its own row, so the poller reads the payment's state and
    not the order's (an order passes `payment_complete` in under a second):
    payment_pending → payment_incomplete → payment_complete (terminal), and
    payment_pending | payment_incomplete → timeout → refunded. Driven by the order's
    transitions and by credited snapshots (`orders.services.payments`), under the order lock.
    """

    order = models.OneToOneField(
        MarketMakingOrder, primary_key=True, on_delete=models.CASCADE, related_name="payment"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=20, default="market_making")
    state = FSMField(
        default=PaymentStatus.PAYMENT_PENDING, choices=PaymentStatus.choices, protected=True
    )
    symbol = models.CharField(max_length=41)
    base_asset_id = models.CharField(max_length=36)
    base_asset_amount = amount_field(default=0)
    base_asset_snapshot_id = models.CharField(max_length=64, blank=True, default="")
    quote_asset_id = models.CharField(max_length=36)
    quote_asset_amount = amount_field(default=0)
    quote_asset_snapshot_id = models.CharField(max_length=64, blank=True, default="")
    base_fee_asset_id = models.CharField(max_length=36)
    base_fee_asset_amount = amount_field(default=0)
    quote_fee_asset_id = models.CharField(max_length=36)
    quote_fee_asset_amount = amount_field(default=0)
    required_base_withdrawal_fee = amount_field()
    required_quote_withdrawal_fee = amount_field()
    required_strategy_fee_percentage = models.DecimalField(max_digits=10, decimal_places=8)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_payment_state"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(base_asset_amount__gte=0)
                & models.Q(quote_asset_amount__gte=0)
                & models.Q(base_fee_asset_amount__gte=0)
                & models.Q(quote_fee_asset_amount__gte=0),
                name="payment_state_amounts_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return f"payment of {self.order_id} ({self.state})"

    @transition(field=state, source=P.PAYMENT_PENDING, target=P.PAYMENT_INCOMPLETE)
    def partially_paid(self) -> None: ...

    @transition(
        field=state, source=[P.PAYMENT_PENDING, P.PAYMENT_INCOMPLETE], target=P.PAYMENT_COMPLETE
    )
    def paid(self) -> None: ...

    @transition(field=state, source=[P.PAYMENT_PENDING, P.PAYMENT_INCOMPLETE], target=P.TIMEOUT)
    def timed_out(self) -> None: ...

    @transition(field=state, source=P.TIMEOUT, target=P.REFUNDED)
    def refunded(self) -> None: ...


class OrderEvent(models.Model):
    """One state change (or a notable step) of an order; append-only. The contract's outbox."""

    id = models.BigAutoField(primary_key=True)
    order = models.ForeignKey(MarketMakingOrder, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=32, blank=True, default="")
    to_state = models.CharField(max_length=32)
    trigger = models.CharField(max_length=64)  # the topic: what caused it
    task_id = models.CharField(max_length=160, blank=True, default="")
    trace_id = models.CharField(max_length=64, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True, default="")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "orders_order_event"
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "id"], name="order_event_order_id")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_state} -> {self.to_state} ({self.trigger})"


class PaymentSnapshot(models.Model):
    """An incoming custody snapshot, stored once, processed through its own small state machine:
    received → credited | refunding → refunded | matched | ignored."""

    id = models.BigAutoField(primary_key=True)
    snapshot_id = models.CharField(max_length=64, unique=True)
    asset_id = models.CharField(max_length=36)
    amount = amount_field()
    opponent_id = models.CharField(max_length=64, blank=True, default="")
    memo_hex = models.TextField(blank=True, default="")
    transaction_hash = models.CharField(max_length=128, blank=True, default="", db_index=True)
    snapshot_created_at = models.DateTimeField()
    status = models.CharField(
        max_length=12,
        choices=SnapshotStatus.choices,
        default=SnapshotStatus.RECEIVED,
        db_index=True,
    )
    order = models.ForeignKey(
        MarketMakingOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    role = models.CharField(max_length=10, choices=PaymentRole.choices, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    # A quarantined snapshot's fields as custody gave them (strings), for an operator.
    raw = models.JSONField(default=dict, blank=True)
    # When the sweeper may queue its processing (again): set when it is queued, so a backlog
    # is queued once, and a message lost with a killed worker is queued again after it.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_payment_snapshot"
        ordering = ["snapshot_created_at", "id"]

    def __str__(self) -> str:
        return f"snapshot {self.snapshot_id} ({self.status})"


class IntakeCursor(models.Model):
    """Where snapshot polling resumes, per custody backend. Only ever moves forward."""

    name = models.CharField(max_length=20, primary_key=True)
    cursor = models.CharField(max_length=64, blank=True, default="")
    # When the last poll run that reached the end of the list started: every snapshot made
    # before it (less the overlap) is stored. Memo expiry waits for it to pass the deadline.
    polled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "orders_intake_cursor"

    def __str__(self) -> str:
        return f"{self.name}: {self.cursor}"


class CustodyTransfer(models.Model):
    """An outgoing move of money with a deterministic external id, persisted before it is sent.

    refund: custody → the user's Mixin wallet; withdraw_to_venue: custody → the venue's deposit
    address; venue_to_custody: the venue account → custody's deposit address. `request_id` is
    the idempotency key the outside world sees (Mixin request id / venue withdrawal client id);
    `entry_key` the pending ledger entry posted on confirmation and voided on failure.
    """

    id = models.BigAutoField(primary_key=True)
    request_id = models.CharField(max_length=36, unique=True)
    purpose = models.CharField(max_length=20, choices=TransferPurpose.choices)
    status = models.CharField(
        max_length=10, choices=TransferStatus.choices, default=TransferStatus.PENDING, db_index=True
    )
    order = models.ForeignKey(
        MarketMakingOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers"
    )
    snapshot = models.ForeignKey(
        PaymentSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    venue_account = models.ForeignKey(
        "exchanges.VenueAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient_id = models.CharField(max_length=64, blank=True, default="")  # Mixin user (refunds)
    asset_id = models.CharField(max_length=36)
    amount = amount_field()  # what arrives at the destination
    fee_asset_id = models.CharField(max_length=36, blank=True, default="")
    fee_amount = amount_field(default=0)
    destination = models.CharField(max_length=200, blank=True, default="")
    tag = models.CharField(max_length=100, blank=True, default="")
    network = models.CharField(max_length=32, blank=True, default="")
    entry_key = models.CharField(max_length=200)
    transaction_hash = models.CharField(max_length=128, blank=True, default="", db_index=True)
    external_id = models.CharField(max_length=100, blank=True, default="")  # venue withdrawal id
    attempts = models.PositiveIntegerField(default=0)  # sends (the same request id each time)
    # Drives since the transfer last made progress: the exponent of its backoff.
    checks = models.PositiveIntegerField(default=0)
    # When the driver advances it next (also its lease while a worker drives it); null once
    # it is final. Every open transfer has one: nothing sits open without a next attempt.
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Why an operator must look (a definite failure, a timeout); cleared by an operator.
    operator_issue = models.TextField(blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "orders_custody_transfer"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="custody_transfer_amount_pos"
            ),
            models.CheckConstraint(
                condition=models.Q(fee_amount__gte=0), name="custody_transfer_fee_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} {self.amount} {self.asset_id} ({self.status})"


class ReconciliationRun(models.Model):
    """One comparison of custody accounts in the ledger with the real world (DESIGN §3).

    `rows` has one `{account, assetId, expected, actual, inTransitOut, inTransitIn, drift}`
    per account checked; `drifts` the rows whose actual balance lies outside what money in
    transit explains. `persistent` (lasting): the same drift, by amount, in every run over at
    least `RECONCILE_LASTING_SECONDS`. `actions` lists the halts it set or released.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=16, default="periodic")  # periodic | command
    ok = models.BooleanField()
    persistent = models.BooleanField(default=False)
    rows = models.JSONField(default=list, blank=True)
    drifts = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "orders_reconciliation_run"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} ({'ok' if self.ok else 'drift'})"
