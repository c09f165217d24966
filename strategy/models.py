"""Strategy runtime state: sessions, intents, tracked venue orders, fills, kill switches.

Every row the runtime acts on is persisted before the act (DESIGN §4): an `OrderIntent`
exists (with its deterministic client order id) before the executor talks to the venue, a
`TrackedOrder` exists for every order of ours believed live, a `Fill` is stored once per
(venue, trade id) in the same transaction that settles it in the ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, overload

from django.conf import settings
from django.db import models
from django.db.models import CheckConstraint, Q, UniqueConstraint
from django.db.models.expressions import Combinable

from strategy.enums import (
    INTENT_ACTIVE,
    IntentKind,
    IntentStatus,
    KillScope,
    SessionKind,
    SessionState,
    TrackedStatus,
)


@overload
def _amount(
    *, null: Literal[True], **kw: Any
) -> models.DecimalField[Decimal | float | str | Combinable | None, Decimal | None]: ...
@overload
def _amount(
    *, null: Literal[False] = False, **kw: Any
) -> models.DecimalField[Decimal | float | str | Combinable, Decimal]: ...
def _amount(*, null: bool = False, **kw: Any) -> models.DecimalField[Any, Any]:
    """Prices and amounts: 38 digits, 18 decimals, like the ledger and the paper venue."""
    return models.DecimalField(max_digits=38, decimal_places=18, null=null, **kw)


class StrategySession(models.Model):
    """One running strategy: an order's (`order` set) or an operator/user one keyed by
    (`owner`, `client_id`) from the `/strategy/execute-*` DTOs.

    Scheduling: due when `state=running` and `next_run_at <= now`. The tick claims due rows
    with `FOR UPDATE SKIP LOCKED` and sets the lease (`lease_until`, `lease_token`); a run
    happens only under a live lease and clears it. `generation` numbers the runs that
    wrote places: client order ids derive from (session, generation, side, level, kind).
    """

    id = models.BigAutoField(primary_key=True)
    order = models.OneToOneField(
        "orders.MarketMakingOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="strategy_session",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="strategy_sessions",
    )
    client_id = models.CharField(max_length=100, blank=True, default="")
    kind = models.CharField(max_length=24, choices=SessionKind.choices)
    params = models.JSONField(default=dict)
    # Venue account(s): A is the quoted venue (pure MM) or the first arbitrage leg.
    exchange_id = models.CharField(max_length=32)
    account_index = models.PositiveSmallIntegerField(default=0)
    exchange_b_id = models.CharField(max_length=32, blank=True, default="")
    account_b_index = models.PositiveSmallIntegerField(default=0)
    symbol = models.CharField(max_length=41)
    # Ledger asset ids of the pair (order sessions settle fills into `order:<id>`).
    base_asset_id = models.CharField(max_length=36, blank=True, default="")
    quote_asset_id = models.CharField(max_length=36, blank=True, default="")
    state = models.CharField(
        max_length=10, choices=SessionState.choices, default=SessionState.RUNNING
    )
    next_run_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True, default="")
    claimed_tick = models.BigIntegerField(default=0)  # tick sequence that claimed it
    generation = models.PositiveBigIntegerField(default=0)
    run_count = models.PositiveBigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The last complete fill of a non-hanging order: starts the filled-order delay
    # (Hummingbot semantics; partial fills and hanging orders never delay quoting).
    last_fill_at = models.DateTimeField(null=True, blank=True)
    # Hummingbot's state kept between runs (pure market making): the moving price band,
    # the ping-pong fill counts, the last own trade price and the inventory cost basis
    # (`strategy.pmm.state`; `EngineState.to_dict` shapes, Decimals as strings). Written by
    # the run (under its row lock) and by the tracker on fills (under the same lock).
    engine_state = models.JSONField(default=dict, blank=True)
    # Places held back until this session's cancels land (budget); a landed cancel makes
    # the session due at once instead of after a whole refresh period.
    deferred_places = models.BooleanField(default=False)
    max_open_orders = models.PositiveIntegerField()
    max_notional = _amount(null=True, blank=True)  # quote units; None: budget only
    last_error = models.TextField(blank=True, default="")
    stop_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            CheckConstraint(
                condition=Q(state__in=SessionState.values), name="strategy_session_state_valid"
            ),
            CheckConstraint(
                condition=Q(kind__in=SessionKind.values), name="strategy_session_kind_valid"
            ),
            UniqueConstraint(
                fields=["owner", "client_id", "kind"],
                condition=Q(order__isnull=True),
                name="strategy_session_owner_client_uniq",
            ),
            CheckConstraint(
                condition=Q(order__isnull=False) | ~Q(client_id=""),
                name="strategy_session_identity",
            ),
        ]
        indexes = [
            # The tick's claim: due running sessions in due order.
            models.Index(
                fields=["next_run_at"],
                condition=Q(state=SessionState.RUNNING),
                name="strategy_session_due",
            ),
            models.Index(fields=["exchange_id", "symbol"], name="strategy_session_market"),
        ]

    def __str__(self) -> str:
        who = f"order {self.order_id}" if self.order_id else f"{self.owner_id}/{self.client_id}"
        return f"session {self.pk} ({self.kind}, {who}, {self.state})"

    @property
    def strategy_key(self) -> str:
        """Mr.Market's strategy instance key: `<user>-<client>-<kind>`."""
        if self.order_id:
            return f"{self.order_id}-{self.kind}"
        return f"{self.owner_id}-{self.client_id}-{self.kind}"


class OrderIntent(models.Model):
    """A place or cancel the runtime decided on, persisted before the executor sends it.

    `client_order_id` is deterministic (`strategy.quoting.ids`); for a cancel it is the
    target order's. Places are unique per venue account and client id (the venue's own
    dedupe key); at most one active cancel exists per target.
    """

    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(
        StrategySession,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="intents",
    )  # null: the tracker cancelling an orphan of ours no session owns
    kind = models.CharField(max_length=6, choices=IntentKind.choices)
    exchange_id = models.CharField(max_length=32)
    account_index = models.PositiveSmallIntegerField(default=0)
    symbol = models.CharField(max_length=41)
    client_order_id = models.CharField(max_length=40)
    side = models.CharField(max_length=4)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    hanging = models.BooleanField(default=False)
    price = _amount(null=True, blank=True)
    amount = _amount(null=True, blank=True)
    generation = models.PositiveBigIntegerField(default=0)
    reason = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=IntentStatus.choices, default=IntentStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    sending_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    venue_order_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            UniqueConstraint(
                fields=["exchange_id", "account_index", "client_order_id"],
                condition=Q(kind=IntentKind.PLACE),
                name="strategy_intent_place_client_uniq",
            ),
            UniqueConstraint(
                fields=["exchange_id", "account_index", "client_order_id"],
                condition=Q(kind=IntentKind.CANCEL) & Q(status__in=INTENT_ACTIVE),
                name="strategy_intent_cancel_active_uniq",
            ),
            CheckConstraint(
                condition=Q(status__in=IntentStatus.values), name="strategy_intent_status_valid"
            ),
            CheckConstraint(
                condition=Q(kind=IntentKind.CANCEL)
                | (Q(price__gt=0) & Q(amount__gt=0) & Q(level__isnull=False)),
                name="strategy_intent_place_fields",
            ),
        ]
        indexes = [
            # Executor gates and the sweeper: active intents by status and due time.
            models.Index(
                fields=["status", "next_attempt_at"],
                condition=Q(status__in=INTENT_ACTIVE),
                name="strategy_intent_active",
            ),
            # Self-trade prevention: places in flight on one venue and pair (without it the
            # run scans every intent ever written; 0550).
            models.Index(
                fields=["exchange_id", "symbol"],
                condition=Q(kind=IntentKind.PLACE) & Q(status__in=INTENT_ACTIVE),
                name="strategy_intent_live_market",
            ),
            models.Index(fields=["session", "status"], name="strategy_intent_session"),
            models.Index(fields=["session", "-id"], name="strategy_intent_recent"),
        ]

    def __str__(self) -> str:
        return f"intent {self.pk} {self.kind} {self.client_order_id} ({self.status})"


class TrackedOrder(models.Model):
    """One of our orders on a venue, as we last saw it."""

    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(
        StrategySession, on_delete=models.PROTECT, related_name="tracked_orders"
    )
    intent = models.OneToOneField(
        OrderIntent, null=True, blank=True, on_delete=models.PROTECT, related_name="tracked"
    )
    exchange_id = models.CharField(max_length=32)
    account_index = models.PositiveSmallIntegerField(default=0)
    symbol = models.CharField(max_length=41)
    client_order_id = models.CharField(max_length=40)
    venue_order_id = models.CharField(max_length=64, blank=True, default="")
    side = models.CharField(max_length=4)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    price = _amount()
    amount = _amount()
    # `filled`: what our stored (and settled) fills add up to; `venue_filled`: what the venue
    # last reported. Between the two, fills exist on the venue we have not settled yet.
    filled = _amount(default=Decimal(0))
    venue_filled = _amount(default=Decimal(0))
    status = models.CharField(
        max_length=10, choices=TrackedStatus.choices, default=TrackedStatus.OPEN
    )
    not_found_count = models.PositiveSmallIntegerField(default=0)
    hanging = models.BooleanField(default=False)
    created_at = models.DateTimeField()  # when the venue accepted it (order age)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            UniqueConstraint(
                fields=["exchange_id", "account_index", "client_order_id"],
                name="strategy_tracked_client_uniq",
            ),
            CheckConstraint(
                condition=Q(filled__gte=0) & Q(amount__gt=0) & Q(filled__lte=models.F("amount")),
                name="strategy_tracked_filled_range",
            ),
            CheckConstraint(
                condition=Q(status__in=TrackedStatus.values), name="strategy_tracked_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["exchange_id", "symbol"],
                condition=Q(status=TrackedStatus.OPEN),
                name="strategy_tracked_live_market",
            ),
            models.Index(fields=["session", "status"], name="strategy_tracked_session"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id}:{self.account_index} {self.client_order_id} ({self.status})"

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled


class Fill(models.Model):
    """One trade of ours on a venue: stored once, settled in the ledger in the same transaction."""

    id = models.BigAutoField(primary_key=True)
    exchange_id = models.CharField(max_length=32)
    account_index = models.PositiveSmallIntegerField(default=0)
    trade_id = models.CharField(max_length=64)
    tracked_order = models.ForeignKey(TrackedOrder, on_delete=models.PROTECT, related_name="fills")
    session = models.ForeignKey(StrategySession, on_delete=models.PROTECT, related_name="fills")
    order = models.ForeignKey(
        "orders.MarketMakingOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="strategy_fills",
    )
    symbol = models.CharField(max_length=41)
    side = models.CharField(max_length=4)
    price = _amount()
    amount = _amount()
    quote_amount = _amount()
    fee = _amount(default=Decimal(0))  # as the venue reports it: negative is a maker rebate
    fee_currency = models.CharField(max_length=20, blank=True, default="")
    fee_asset_id = models.CharField(max_length=36, blank=True, default="")
    taker_or_maker = models.CharField(max_length=6, blank=True, default="")
    executed_at = models.DateTimeField()
    ledger_key = models.CharField(max_length=200, blank=True, default="")  # "" until settled
    settle_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["executed_at", "id"]
        constraints = [
            UniqueConstraint(fields=["exchange_id", "trade_id"], name="strategy_fill_trade_uniq"),
            CheckConstraint(
                condition=Q(amount__gt=0) & Q(price__gt=0), name="strategy_fill_amounts"
            ),
        ]
        indexes = [
            models.Index(fields=["order", "executed_at"], name="strategy_fill_order_time"),
            models.Index(fields=["session", "executed_at"], name="strategy_fill_session_time"),
        ]

    def __str__(self) -> str:
        return f"fill {self.exchange_id}:{self.trade_id} {self.side} {self.amount}@{self.price}"


class KillSwitch(models.Model):
    """A halt: while active, no new order goes out in its scope (cancels still do)."""

    id = models.BigAutoField(primary_key=True)
    scope = models.CharField(max_length=8, choices=KillScope.choices)
    key = models.CharField(max_length=64, blank=True, default="")
    active = models.BooleanField(default=False)
    reason = models.TextField(blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["scope", "key"]
        constraints = [
            UniqueConstraint(fields=["scope", "key"], name="strategy_kill_switch_uniq"),
            CheckConstraint(
                condition=Q(scope__in=KillScope.values), name="strategy_kill_scope_valid"
            ),
            CheckConstraint(
                condition=Q(scope=KillScope.GLOBAL, key="")
                | (~Q(scope=KillScope.GLOBAL) & ~Q(key="")),
                name="strategy_kill_key_matches_scope",
            ),
        ]
        indexes = [
            models.Index(
                fields=["scope", "key"], condition=Q(active=True), name="strategy_kill_active"
            )
        ]

    def __str__(self) -> str:
        state = "HALTED" if self.active else "off"
        return f"{self.scope}:{self.key or '*'} {state}"


class TradeCursor(models.Model):
    """Where own-trade polling resumes per venue account and market; only moves forward."""

    exchange_id = models.CharField(max_length=32)
    account_index = models.PositiveSmallIntegerField(default=0)
    symbol = models.CharField(max_length=41)
    since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            UniqueConstraint(
                fields=["exchange_id", "account_index", "symbol"],
                name="strategy_trade_cursor_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id}:{self.account_index} {self.symbol} since {self.since}"


class MarketSnapshotRecord(models.Model):
    """The book a slot's decisions were made from, kept once per (venue, pair, slot) and
    shared by every decision of that slot (decision replay, report marks)."""

    id = models.BigAutoField(primary_key=True)
    exchange_id = models.CharField(max_length=32)
    symbol = models.CharField(max_length=41)
    slot = models.BigIntegerField()
    payload = models.JSONField()  # strategy.marketdata's encoding of the snapshot
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            UniqueConstraint(
                fields=["exchange_id", "symbol", "slot"], name="strategy_snaprec_slot_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.exchange_id} {self.symbol} slot {self.slot}"


class ParamsRecord(models.Model):
    """Strategy parameters by content hash: decisions refer to them instead of copying them."""

    hash = models.CharField(max_length=64, primary_key=True)
    params = models.JSONField()

    def __str__(self) -> str:
        return self.hash[:12]


class DecisionRecord(models.Model):
    """What one quoting decision was made from and what it produced (compact, pruned after
    STRATEGY_DECISION_RETENTION_DAYS). `inputs` holds the per-session inputs of the pure
    builder (balances, budgets, clock, last fill); the book is the shared snapshot's and the
    parameters are the `params_hash` row's. `quotes` is the builder's answer as
    `[side, level, price, amount]` rows, so a replay can re-run and compare."""

    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(StrategySession, on_delete=models.CASCADE, related_name="+")
    run_at = models.DateTimeField()
    snapshot = models.ForeignKey(
        MarketSnapshotRecord, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    params_hash = models.CharField(max_length=64)
    mid = _amount(null=True)
    inputs = models.JSONField()
    quotes = models.JSONField()

    class Meta:
        indexes = [
            models.Index(fields=["session", "run_at"], name="strategy_decision_session"),
            models.Index(fields=["run_at"], name="strategy_decision_run_at"),
        ]

    def __str__(self) -> str:
        return f"decision {self.pk} of session {self.session_id} at {self.run_at}"
