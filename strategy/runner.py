"""The tick and the session run.

Tick (`strategy_tick`, every STRATEGY_TICK_MS from beat): in one short transaction, claim
the due running sessions — `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (on SQLite the
IMMEDIATE transaction serializes the claim) — and stamp them with a lease (`lease_until`,
`lease_token`, `claimed_tick`). The task first sends one `market_data_refresh_task` per
(venue, pair) the claimed sessions read, then the batches grouped by (venue, pair) to
`strategy_sessions_run_task`, so a batch mostly needs one market snapshot.

Run (`session_run`): reads the slot's cached market snapshot (`strategy.marketdata`; it
never fetches: no snapshot fresh enough, the run skips and the session stays due), then
in one transaction locks the session row (skip if locked: someone runs it now), checks
that the lease it was claimed with is still its own, and turns (parameters, snapshot,
ledger budget, live orders) into intents: `build_quotes` → `diff_quotes` → self-trade
prevention against all our resting orders on the venue and pair → risk → budget gate →
`OrderIntent` rows. It clears the lease and sets `next_run_at` in the same transaction.
No venue is called inside; the executor sends the intents after commit. Runs of one
(venue, pair) are serialized by a transaction-scoped advisory lock on PostgreSQL so
self-trade prevention sees every place another session just wrote.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import structlog
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q

from exchanges.venues.base import OrderSide
from mrmarket.exceptions import ValidationFailed
from strategy import marketdata, risk, venues
from strategy.enums import (
    INTENT_ACTIVE,
    IntentKind,
    IntentStatus,
    SessionKind,
    SessionState,
    TrackedStatus,
)
from strategy.models import OrderIntent, StrategySession, TrackedOrder
from strategy.params import ArbitrageParams, PriceSourceType, PureMarketMakingParams
from strategy.quoting.arbitrage import ArbitragePlan, find_arbitrage
from strategy.quoting.diff import diff_quotes
from strategy.quoting.ids import client_order_id
from strategy.quoting.pure_mm import build_quotes, in_filled_order_delay, source_price
from strategy.quoting.stp import RestingOrder, filter_self_trades
from strategy.quoting.types import DesiredQuote, LiveOrder
from strategy.selectors import (
    Commitments,
    commitments_of,
    order_budget_available,
    tracked_for_budget,
)

log = structlog.get_logger(__name__)
ZERO = Decimal(0)


# ---------------------------------------------------------------------------- the tick


@dataclass(frozen=True)
class MarketNeed:
    """A (venue, pair) the claimed sessions read this tick; `with_last` when any quotes
    from the last price."""

    exchange_id: str
    symbol: str
    with_last: bool = False


@dataclass
class TickResult:
    tick: int
    claimed: int = 0
    batches: list[list[int]] = field(default_factory=list)
    # Refreshed (market_data_refresh_task) before the batches are sent: runs never fetch.
    markets: list[MarketNeed] = field(default_factory=list)


def _market_needs(
    rows: list[tuple[int, str, str, str, str, dict[str, object]]],
) -> list[MarketNeed]:
    """Every (venue, pair) the claimed sessions will read: their own, arbitrage's second
    venue and oracle venues."""
    needs: dict[tuple[str, str], bool] = {}

    def need(exchange_id: str, symbol: str, with_last: bool = False) -> None:
        needs[(exchange_id, symbol)] = needs.get((exchange_id, symbol), False) or with_last

    for _, exchange_id, symbol, kind, exchange_b_id, raw in rows:
        if kind == SessionKind.ARBITRAGE:
            need(exchange_id, symbol)
            need(exchange_b_id, symbol)
            continue
        try:
            params = _pmm_params(raw)
        except ValidationFailed:  # the run releases it as invalid; its own pair is harmless
            need(exchange_id, symbol)
            continue
        need(exchange_id, symbol, params.price_source_type is PriceSourceType.LAST_PRICE)
        if params.oracle_exchange_name is not None:
            need(params.oracle_exchange_name, symbol)
    return [MarketNeed(e, s, last) for (e, s), last in sorted(needs.items())]


def strategy_tick() -> TickResult:
    """Claim due sessions under a lease and cut them into batches (the task fans them out)."""
    from mrmarket.services import heartbeat_beat

    now = venues.now()
    tick = marketdata.tick_of(now)
    result = TickResult(tick=tick)
    lease_until = now + timedelta(seconds=settings.STRATEGY_LEASE_SECONDS)
    with transaction.atomic():
        due = (
            StrategySession.objects.filter(state=SessionState.RUNNING, next_run_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("next_run_at", "id")
        )
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        rows = list(
            due.values_list("pk", "exchange_id", "symbol", "kind", "exchange_b_id", "params")[
                : settings.STRATEGY_TICK_MAX_CLAIM
            ]
        )
        if rows:
            StrategySession.objects.filter(pk__in=[r[0] for r in rows]).update(
                lease_until=lease_until, lease_token=uuid.uuid4().hex, claimed_tick=tick
            )
    heartbeat_beat(name="strategy_tick", at=now, payload={"claimed": len(rows), "tick": tick})
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, exchange_id, symbol, *_ in rows:
        groups[(exchange_id, symbol)].append(pk)
    result.markets = _market_needs(rows)
    # Batches hold whole pairs where they fit (a pair's runs share reads and one lock), and
    # several pairs each, so a short tick does not fan out one message per pair.
    size = max(settings.STRATEGY_TICK_BATCH_SIZE, 1)
    current: list[int] = []
    for pair in sorted(groups):
        ids = groups[pair]
        if current and len(current) + len(ids) > size:
            result.batches.append(current)
            current = []
        for i in range(0, len(ids), size):
            chunk = ids[i : i + size]
            if len(current) + len(chunk) > size:
                result.batches.append(current)
                current = []
            current += chunk
    if current:
        result.batches.append(current)
    result.claimed = len(rows)
    if rows:
        log.info("strategy_tick_claimed", tick=tick, claimed=len(rows), batches=len(result.batches))
    return result


# ---------------------------------------------------------------------------- the run


@dataclass
class RunOutcome:
    session_id: int
    ran: bool
    reason: str = ""
    lateness_ms: float = 0.0
    places: int = 0
    cancels: int = 0
    intent_ids: list[int] = field(default_factory=list)


def _pair_lock(exchange_id: str, symbol: str) -> None:
    """Serialize runs of one (venue, pair) inside their transaction (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return  # SQLite: IMMEDIATE transactions are serialized already
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_pair_key((exchange_id, symbol))])


def _pair_key(pair: tuple[str, str]) -> int:
    """The advisory lock key of a (venue, pair); batches take several in this order."""
    digest = hashlib.sha256(f"strategy:{pair[0]}:{pair[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _release(session: StrategySession, *, next_run_at: datetime | None, error: str = "") -> None:
    """Give the lease back; `next_run_at` None keeps the session due (next tick retries)."""
    fields: dict[str, object] = {"lease_until": None, "lease_token": "", "last_error": error[:500]}
    if next_run_at is not None:
        fields["next_run_at"] = next_run_at
    StrategySession.objects.filter(pk=session.pk, lease_token=session.lease_token).update(**fields)


def sessions_run(*, session_ids: list[int]) -> list[RunOutcome]:
    """Run a batch: its pure market-making sessions share one transaction (row locks, the
    pair locks, kill switches, resting orders and live views read once, a savepoint per
    session); arbitrage sessions run one by one."""
    outcomes: dict[int, RunOutcome] = {}
    # One read for the batch; each run re-checks its row under lock before writing.
    prefetched = StrategySession.objects.in_bulk(session_ids)
    pmm: list[StrategySession] = []
    for session_id in session_ids:
        session = prefetched.get(session_id)
        if session is not None and session.kind == SessionKind.PURE_MARKET_MAKING:
            pmm.append(session)
            continue
        outcomes[session_id] = _run_guarded(session_id, session)
    if pmm:
        try:
            outcomes.update(_pmm_batch_run(pmm))
        except Exception:  # the shared transaction failed: fall back to one run at a time
            log.exception("strategy_batch_run_crashed", sessions=len(pmm))
            for session in pmm:
                outcomes[session.pk] = _run_guarded(session.pk, session)
    return [outcomes[i] for i in session_ids if i in outcomes] + [
        RunOutcome(session_id=i, ran=False, reason="not_running")
        for i in session_ids
        if i not in outcomes
    ]


def _run_guarded(session_id: int, session: StrategySession | None) -> RunOutcome:
    try:
        return session_run(session_id=session_id, prefetched=session)
    except Exception:  # one broken session must not starve the rest of its batch
        log.exception("strategy_session_run_crashed", session_id=session_id)
        return RunOutcome(session_id=session_id, ran=False, reason="crashed")


_PARAMS: dict[str, PureMarketMakingParams] = {}


def _pmm_params(raw: dict[str, object]) -> PureMarketMakingParams:
    """Parsed parameters, memoised per distinct JSON (validation is not free)."""
    key = json.dumps(raw, sort_keys=True)
    params = _PARAMS.get(key)
    if params is None:
        if len(_PARAMS) > 10_000:
            _PARAMS.clear()
        params = _PARAMS[key] = PureMarketMakingParams.from_dto(raw)
    return params


def session_run(*, session_id: int, prefetched: StrategySession | None = None) -> RunOutcome:
    """Run one claimed session. A no-op unless the session holds a live lease."""
    started = venues.now()
    session = prefetched or StrategySession.objects.filter(pk=session_id).first()
    if session is None or session.state != SessionState.RUNNING:
        return RunOutcome(session_id=session_id, ran=False, reason="not_running")
    if session.lease_until is None or session.lease_until <= started:
        return RunOutcome(session_id=session_id, ran=False, reason="no_lease")
    lateness = (started - session.next_run_at).total_seconds() * 1000
    try:
        if session.kind == SessionKind.ARBITRAGE:
            return _arbitrage_run(session, started, lateness)
        return _pmm_run(session, started, lateness)
    except ValidationFailed as exc:
        # Parameters that no longer validate: the session cannot quote; stop placing.
        _release(session, next_run_at=started + timedelta(seconds=60), error=str(exc))
        return RunOutcome(session_id=session_id, ran=False, reason="invalid_params")


def _lock_claimed(session: StrategySession, now: datetime) -> StrategySession | None:
    locked = (
        StrategySession.objects.select_for_update(skip_locked=True)
        .filter(pk=session.pk, lease_token=session.lease_token, lease_until__gt=now)
        .first()
    )
    if locked is None or locked.state != SessionState.RUNNING:
        return None
    return locked


@dataclass
class LiveView:
    tracked: list[TrackedOrder]  # open
    places: list[OrderIntent]  # place intents in flight
    cancelling: set[str]  # client ids with a cancel in flight
    unsettled: list[TrackedOrder]  # closed, with venue fills not settled yet

    def commitments(self, *, maker_fee: Decimal, hanging_only: bool = False) -> Commitments:
        return commitments_of(
            tracked=self.tracked + self.unsettled,
            places=self.places,
            maker_fee=maker_fee,
            hanging_only=hanging_only,
        )


def _live(session: StrategySession) -> LiveView:
    """Everything the session has on (or on its way to) the venue: two queries."""
    rows = tracked_for_budget(session=session)
    intents = list(OrderIntent.objects.filter(session=session, status__in=INTENT_ACTIVE))
    return _view_of(rows, intents)


def _live_many(sessions: list[StrategySession]) -> dict[int, LiveView]:
    """`_live` of many sessions in two queries (the runs of one pair transaction)."""
    ids = [s.pk for s in sessions]
    rows: dict[int, list[TrackedOrder]] = defaultdict(list)
    for order in TrackedOrder.objects.filter(session_id__in=ids).filter(
        Q(status=TrackedStatus.OPEN) | Q(venue_filled__gt=F("filled"))
    ):
        assert order.session_id is not None
        rows[order.session_id].append(order)
    intents: dict[int, list[OrderIntent]] = defaultdict(list)
    for intent in OrderIntent.objects.filter(session_id__in=ids, status__in=INTENT_ACTIVE):
        assert intent.session_id is not None
        intents[intent.session_id].append(intent)
    return {pk: _view_of(rows[pk], intents[pk]) for pk in ids}


def _view_of(rows: list[TrackedOrder], intents: list[OrderIntent]) -> LiveView:
    return LiveView(
        tracked=[o for o in rows if o.status == TrackedStatus.OPEN],
        places=[i for i in intents if i.kind == IntentKind.PLACE],
        cancelling={i.client_order_id for i in intents if i.kind == IntentKind.CANCEL},
        unsettled=[o for o in rows if o.status != TrackedStatus.OPEN],
    )


def _live_view(
    session: StrategySession,
) -> tuple[list[TrackedOrder], list[OrderIntent], set[str]]:
    """(open tracked orders, active place intents, client ids with an active cancel)."""
    view = _live(session)
    return view.tracked, view.places, view.cancelling


def _resting(exchange_id: str, symbol: str) -> list[RestingOrder]:
    """Every order of ours resting (or about to) on the venue and pair, whoever owns it."""
    tracked = TrackedOrder.objects.filter(
        exchange_id=exchange_id, symbol=symbol, status=TrackedStatus.OPEN
    ).values_list("side", "price", "client_order_id")
    places = OrderIntent.objects.filter(
        exchange_id=exchange_id, symbol=symbol, kind=IntentKind.PLACE, status__in=INTENT_ACTIVE
    ).values_list("side", "price", "client_order_id")
    return [
        RestingOrder(side=OrderSide(side), price=price, client_order_id=cid)
        for side, price, cid in [*tracked, *places]
        if price is not None
    ]


def _resting_many(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], list[RestingOrder]]:
    """`_resting` of several pairs in two queries."""
    wanted = set(pairs)
    venues_, symbols = {p[0] for p in pairs}, {p[1] for p in pairs}
    tracked = TrackedOrder.objects.filter(
        exchange_id__in=venues_, symbol__in=symbols, status=TrackedStatus.OPEN
    ).values_list("exchange_id", "symbol", "side", "price", "client_order_id")
    places = OrderIntent.objects.filter(
        exchange_id__in=venues_,
        symbol__in=symbols,
        kind=IntentKind.PLACE,
        status__in=INTENT_ACTIVE,
    ).values_list("exchange_id", "symbol", "side", "price", "client_order_id")
    out: dict[tuple[str, str], list[RestingOrder]] = defaultdict(list)
    for exchange_id, symbol, side, price, cid in [*tracked, *places]:
        if price is not None and (exchange_id, symbol) in wanted:
            out[(exchange_id, symbol)].append(
                RestingOrder(side=OrderSide(side), price=price, client_order_id=cid)
            )
    return out


def venue_balances_cached(*, exchange_id: str, account_index: int) -> dict[str, Decimal] | None:
    """Free balances per currency the tracker last saw on a venue account (budgets of
    sessions without an order)."""
    raw = cache.get(f"strategy:bal:{exchange_id}:{account_index}")
    return None if raw is None else {k: Decimal(v) for k, v in raw.items()}


def _cancel_intent(
    session: StrategySession | None,
    *,
    exchange_id: str,
    account_index: int,
    symbol: str,
    cid: str,
    side: str,
    reason: str,
    now: datetime,
) -> OrderIntent | None:
    """A cancel intent for one order, unless one is already active (unique constraint)."""
    if OrderIntent.objects.filter(
        exchange_id=exchange_id,
        account_index=account_index,
        client_order_id=cid,
        kind=IntentKind.CANCEL,
        status__in=INTENT_ACTIVE,
    ).exists():
        return None
    return OrderIntent.objects.create(
        session=session,
        kind=IntentKind.CANCEL,
        exchange_id=exchange_id,
        account_index=account_index,
        symbol=symbol,
        client_order_id=cid,
        side=side,
        reason=reason,
        status=IntentStatus.DRY_RUN if settings.STRATEGY_DRY_RUN else IntentStatus.PENDING,
        next_attempt_at=now,
    )


def session_cancel_all(*, session: StrategySession, reason: str) -> list[int]:
    """Inside a transaction: cancel intents for every live order of the session; places not
    sent yet are withdrawn at once. Returns the new intents' ids (to enqueue on commit)."""
    now = venues.now()
    tracked, places, cancelling = _live_view(session)
    ids = []
    for order in tracked:
        if order.client_order_id in cancelling:
            continue
        intent = _cancel_intent(
            session,
            exchange_id=order.exchange_id,
            account_index=order.account_index,
            symbol=order.symbol,
            cid=order.client_order_id,
            side=order.side,
            reason=reason,
            now=now,
        )
        if intent is not None:
            ids.append(intent.pk)
    for place in places:
        OrderIntent.objects.filter(pk=place.pk, status=IntentStatus.PENDING).update(
            status=IntentStatus.CANCELED, last_error=f"superseded: {reason}"
        )
    return ids


def _enqueue_on_commit(ids: list[int]) -> None:
    if not ids or settings.STRATEGY_DRY_RUN:
        return
    from strategy.executor import intents_enqueue

    transaction.on_commit(lambda: intents_enqueue(intent_ids=ids))


def _budget(
    session: StrategySession,
    view: LiveView,
    *,
    base_symbol: str,
    quote_symbol: str,
    maker_fee: Decimal,
) -> tuple[Decimal, Decimal]:
    """(base, quote) the session may lock in total: the order's ledger balance, or for a
    session without an order the venue account's free balance plus what it locks itself."""
    if session.order_id is not None:
        return order_budget_available(session=session)
    free = venue_balances_cached(
        exchange_id=session.exchange_id, account_index=session.account_index
    )
    if free is None:
        return ZERO, ZERO
    own = view.commitments(maker_fee=maker_fee)
    return free.get(base_symbol, ZERO) + own.base, free.get(quote_symbol, ZERO) + own.quote


@dataclass
class _Prepared:
    params: PureMarketMakingParams
    snap: marketdata.MarketSnapshot
    reference: Decimal | None


def _pmm_prepare(session: StrategySession, started: datetime) -> _Prepared | RunOutcome:
    """Outside any transaction: the filled-order delay and the tick's market data."""
    params = _pmm_params(session.params)
    refresh = timedelta(milliseconds=params.order_refresh_time_ms)
    if in_filled_order_delay(params=params, now=started, last_fill_at=session.last_fill_at):
        # Leave the orders alone during the delay (Hummingbot keeps them; see 0350).
        assert session.last_fill_at is not None
        resume = session.last_fill_at + timedelta(milliseconds=params.filled_order_delay_ms)
        _release(session, next_run_at=min(resume, started + refresh))
        return RunOutcome(session_id=session.pk, ran=False, reason="filled_order_delay")
    snap = marketdata.snapshot_get(
        exchange_id=session.exchange_id,
        symbol=session.symbol,
        tick=session.claimed_tick,
        with_last=params.price_source_type is PriceSourceType.LAST_PRICE,
    )
    oracle = None
    if params.oracle_exchange_name is not None:
        oracle = marketdata.snapshot_get(
            exchange_id=params.oracle_exchange_name,
            symbol=session.symbol,
            tick=session.claimed_tick,
        )
    if snap is None or (params.oracle_exchange_name is not None and oracle is None):
        _release(session, next_run_at=None, error="market data unavailable this tick")
        return RunOutcome(session_id=session.pk, ran=False, reason="no_market_data")
    reference = marketdata.reference_mid(oracle) if oracle is not None else None
    return _Prepared(params=params, snap=snap, reference=reference)


def _pmm_run(session: StrategySession, started: datetime, lateness: float) -> RunOutcome:
    prepared = _pmm_prepare(session, started)
    if isinstance(prepared, RunOutcome):
        return prepared
    with transaction.atomic():
        now = venues.now()
        locked = _lock_claimed(session, now)
        if locked is None:
            return RunOutcome(session_id=session.pk, ran=False, reason="lease_lost")
        _pair_lock(locked.exchange_id, locked.symbol)
        ctx = _PairContext.load(locked.exchange_id, locked.symbol, [locked])
        return _pmm_decide_and_write(locked, prepared, ctx, now=now, lateness=lateness)


def _pmm_batch_run(sessions: list[StrategySession]) -> dict[int, RunOutcome]:
    """Pure market-making sessions of a batch in one transaction: their rows locked at once
    (SKIP LOCKED, lease token checked per row), the lock of every (venue, pair) involved
    taken in key order (no deadlock between batches sharing pairs), kill switches, resting
    orders and live views read once; each session's writes in a savepoint so one failure
    loses only its own run. Places written by an earlier session of the batch join its
    pair's resting list, so self-trade prevention still sees every order."""
    outcomes: dict[int, RunOutcome] = {}
    ready: list[tuple[StrategySession, _Prepared, float]] = []
    for session in sessions:
        started = venues.now()
        if session.state != SessionState.RUNNING:
            outcomes[session.pk] = RunOutcome(
                session_id=session.pk, ran=False, reason="not_running"
            )
            continue
        if session.lease_until is None or session.lease_until <= started:
            outcomes[session.pk] = RunOutcome(session_id=session.pk, ran=False, reason="no_lease")
            continue
        lateness = (started - session.next_run_at).total_seconds() * 1000
        try:
            prepared = _pmm_prepare(session, started)
        except ValidationFailed as exc:
            _release(session, next_run_at=started + timedelta(seconds=60), error=str(exc))
            prepared = RunOutcome(session_id=session.pk, ran=False, reason="invalid_params")
        if isinstance(prepared, RunOutcome):
            outcomes[session.pk] = prepared
            continue
        ready.append((session, prepared, lateness))
    if not ready:
        return outcomes
    with transaction.atomic():
        now = venues.now()
        rows = StrategySession.objects.select_for_update(skip_locked=True).filter(
            pk__in=[s.pk for s, _, _ in ready], lease_until__gt=now
        )
        locked = {row.pk: row for row in rows}
        held: list[tuple[StrategySession, _Prepared, float]] = []
        for session, prepared, lateness in ready:
            row = locked.get(session.pk)
            if (
                row is None
                or row.lease_token != session.lease_token
                or row.state != SessionState.RUNNING
            ):
                outcomes[session.pk] = RunOutcome(
                    session_id=session.pk, ran=False, reason="lease_lost"
                )
                continue
            held.append((row, prepared, lateness))
        if not held:
            return outcomes
        pairs = sorted({(row.exchange_id, row.symbol) for row, _, _ in held}, key=_pair_key)
        for exchange_id, symbol in pairs:
            _pair_lock(exchange_id, symbol)
        contexts = _PairContext.load_many(pairs, [row for row, _, _ in held])
        for row, prepared, _ in held:
            ctx = contexts[(row.exchange_id, row.symbol)]
            # Lateness from the moment this session's own run starts (not the batch's).
            now = venues.now()
            lateness = (now - row.next_run_at).total_seconds() * 1000
            try:
                with transaction.atomic():  # savepoint: a failure loses only this run
                    outcomes[row.pk] = _pmm_decide_and_write(
                        row, prepared, ctx, now=now, lateness=lateness
                    )
            except Exception:
                log.exception("strategy_session_run_crashed", session_id=row.pk)
                ctx.rollback(row.pk)
                outcomes[row.pk] = RunOutcome(session_id=row.pk, ran=False, reason="crashed")
    return outcomes


@dataclass
class _PairContext:
    """What every run of one (venue, pair) transaction reads, read once under the pair lock.

    Fresh enough: the pair lock keeps other runs from writing places on the pair until this
    transaction commits, the runs of the transaction add their own places (and drop their
    withdrawals) here, and kill switches are read at its start — a transaction holds a
    batch of one pair for a few milliseconds per session."""

    halts: list[risk.Halt]
    resting: list[RestingOrder]
    views: dict[int, LiveView]
    pending: dict[int, tuple[set[str], list[RestingOrder]]] = field(default_factory=dict)

    @classmethod
    def load(cls, exchange_id: str, symbol: str, sessions: list[StrategySession]) -> _PairContext:
        return cls(
            halts=risk.active_halts(),
            resting=_resting(exchange_id, symbol),
            views=_live_many(sessions),
        )

    @classmethod
    def load_many(
        cls, pairs: list[tuple[str, str]], sessions: list[StrategySession]
    ) -> dict[tuple[str, str], _PairContext]:
        """Contexts of several pairs: five queries whatever the number of pairs."""
        halts = risk.active_halts()
        resting = _resting_many(pairs)
        views = _live_many(sessions)
        return {
            pair: cls(
                halts=halts,
                resting=resting.get(pair, []),
                views={s.pk: views[s.pk] for s in sessions if (s.exchange_id, s.symbol) == pair},
            )
            for pair in pairs
        }

    def apply(self, session_id: int, *, withdrawn: set[str], added: list[RestingOrder]) -> None:
        """A run's effect on the pair: withdrawn places leave, new places join."""
        if withdrawn:
            self.resting = [r for r in self.resting if r.client_order_id not in withdrawn]
        self.resting.extend(added)
        self.pending[session_id] = (withdrawn, added)

    def rollback(self, session_id: int) -> None:
        """The run's savepoint rolled back: its places never existed (withdrawals only
        shrank the list, which stays conservative for self-trade prevention)."""
        _, added = self.pending.pop(session_id, (set(), []))
        gone = {r.client_order_id for r in added}
        if gone:
            self.resting = [r for r in self.resting if r.client_order_id not in gone]


def next_due(*, due: datetime, now: datetime, refresh: timedelta) -> datetime:
    """When a session that was due at `due` and runs at `now` is due next.

    One refresh after it was *due*, not after it ran: otherwise every run inherits the
    tick's quantization (due between two ticks, claimed at the next) and the session drifts
    to one run per refresh + one tick, always about one tick late (0550). A run later than
    half a refresh restarts the cadence from now, so a backlog never turns into a burst of
    runs close together."""
    scheduled = due + refresh
    return scheduled if scheduled >= now + refresh / 2 else now + refresh


def _pmm_decide_and_write(
    session: StrategySession,
    prepared: _Prepared,
    ctx: _PairContext,
    *,
    now: datetime,
    lateness: float,
) -> RunOutcome:
    """Inside the caller's transaction, with the session row and the pair lock held."""
    params, snap, reference = prepared.params, prepared.snap, prepared.reference
    refresh = timedelta(milliseconds=params.order_refresh_time_ms)
    market = snap.market
    view = ctx.views[session.pk]
    tracked, places_inflight, cancelling = view.tracked, view.places, view.cancelling
    by_cid = {o.client_order_id: o for o in tracked}
    pending_by_cid = {i.client_order_id: i for i in places_inflight}

    live = [
        LiveOrder(
            client_order_id=o.client_order_id,
            side=OrderSide(o.side),
            level=o.level,
            price=o.price,
            amount=o.amount - o.filled,
            created_at=o.created_at,
            hanging=o.hanging,
        )
        for o in tracked
        if o.client_order_id not in cancelling
    ] + [
        LiveOrder(
            client_order_id=i.client_order_id,
            side=OrderSide(i.side),
            level=i.level,
            price=i.price or ZERO,
            amount=i.amount or ZERO,
            created_at=i.created_at,
            hanging=i.hanging,
        )
        for i in places_inflight
    ]

    total_base, total_quote = _budget(
        session,
        view,
        base_symbol=market.base,
        quote_symbol=market.quote,
        maker_fee=market.maker_fee,
    )
    hanging = (
        view.commitments(maker_fee=market.maker_fee, hanging_only=True)
        if params.hanging_orders_enabled
        else None
    )
    ref = source_price(
        params=params, book=snap.book, last_price=snap.last_price, reference_price=reference
    )
    desired = build_quotes(
        params=params,
        market=market,
        book=snap.book,
        last_price=snap.last_price,
        reference_price=reference,
        base_balance=total_base,
        quote_balance=total_quote,
        budget_base=total_base - (hanging.base if hanging else ZERO),
        budget_quote=total_quote - (hanging.quote if hanging else ZERO),
        now=now,
        last_fill_at=session.last_fill_at,
    )
    plan = diff_quotes(
        desired=desired,
        live=live,
        refresh_tolerance_pct=params.order_refresh_tolerance_pct,
        max_order_age=timedelta(milliseconds=params.max_order_age_ms),
        now=now,
        hanging_orders_enabled=params.hanging_orders_enabled,
        hanging_orders_cancel_pct=params.hanging_orders_cancel_pct,
        reference_price=ref,
        minimum_spread=params.minimum_spread,
    )

    cancel_ids: list[int] = []
    withdrawn: set[str] = set()
    for order in plan.cancels:
        cid = order.client_order_id
        if cid in pending_by_cid:
            # Not sent yet: withdraw it; one already being sent is cancelled next run.
            if OrderIntent.objects.filter(
                pk=pending_by_cid[cid].pk, status=IntentStatus.PENDING
            ).update(status=IntentStatus.CANCELED, last_error="superseded by a newer quote"):
                withdrawn.add(cid)
            continue
        target = by_cid[cid]
        intent = _cancel_intent(
            session,
            exchange_id=target.exchange_id,
            account_index=target.account_index,
            symbol=target.symbol,
            cid=cid,
            side=target.side,
            reason=str(plan.reasons.get(cid, "")),
            now=now,
        )
        if intent is not None:
            cancel_ids.append(intent.pk)

    halt = risk.halt_for(
        ctx.halts,
        exchange_id=session.exchange_id,
        symbol=session.symbol,
        session_id=session.pk,
    )
    places: list[DesiredQuote] = [] if halt is not None else list(plan.places)
    stp = filter_self_trades(
        quotes=places,
        resting=[r for r in ctx.resting if r.client_order_id not in withdrawn],
    )
    kept = {o.client_order_id for o in plan.keeps}
    keep_orders = [o for o in live if o.client_order_id in kept]
    checked = risk.risk_filter(
        places=stp.allowed,
        live_count=len(keep_orders),
        live_notional=sum((o.price * o.amount for o in keep_orders), ZERO),
        reference_price=ref,
        max_open_orders=session.max_open_orders,
        max_notional=session.max_notional,
        max_deviation=settings.STRATEGY_MAX_PRICE_DEVIATION,
        ceiling_price=params.ceiling_price,
        floor_price=params.floor_price,
    )

    # Budget gate: the venue account is shared by many orders, so a place goes out only
    # if it fits beside everything the session still locks (cancelled orders included,
    # until their cancel lands). What does not fit waits for the cancels.
    committed = view.commitments(maker_fee=market.maker_fee)
    left_base = total_base - committed.base
    left_quote = total_quote - committed.quote
    accepted: list[DesiredQuote] = []
    deferred = False
    fee = max(market.maker_fee, ZERO)
    for quote in checked.allowed:
        if quote.side == OrderSide.BUY:
            cost = quote.price * quote.amount * (1 + fee)
            if cost > left_quote:
                deferred = True
                continue
            left_quote -= cost
        else:
            if quote.amount > left_base:
                deferred = True
                continue
            left_base -= quote.amount
        accepted.append(quote)

    place_ids: list[int] = []
    created: list[OrderIntent] = []
    generation = session.generation
    if accepted:
        generation += 1
        status = IntentStatus.DRY_RUN if settings.STRATEGY_DRY_RUN else IntentStatus.PENDING
        created = OrderIntent.objects.bulk_create(
            [
                OrderIntent(
                    session=session,
                    kind=IntentKind.PLACE,
                    exchange_id=session.exchange_id,
                    account_index=session.account_index,
                    symbol=session.symbol,
                    client_order_id=client_order_id(
                        session_id=session.pk,
                        generation=generation,
                        side=q.side,
                        level=q.level,
                        kind="h" if q.hanging else "q",
                    ),
                    side=q.side,
                    level=q.level,
                    hanging=q.hanging,
                    price=q.price,
                    amount=q.amount,
                    generation=generation,
                    status=status,
                    next_attempt_at=now,
                )
                for q in accepted
            ]
        )
        place_ids = [i.pk for i in created]
        if not all(place_ids):  # backends without RETURNING on bulk insert
            place_ids = list(
                OrderIntent.objects.filter(
                    session=session, generation=generation, kind=IntentKind.PLACE
                ).values_list("pk", flat=True)
            )
    notes = []
    if halt is not None:
        notes.append(f"halted ({halt.scope}:{halt.key or '*'}): {halt.reason}")
    notes += [f"{q.side}{q.level}:{why}" for q, why in checked.rejected]
    StrategySession.objects.filter(pk=session.pk).update(
        lease_until=None,
        lease_token="",
        next_run_at=next_due(due=session.next_run_at, now=now, refresh=refresh),
        last_run_at=now,
        run_count=session.run_count + 1,
        generation=generation,
        deferred_places=deferred,
        last_error="; ".join(notes)[:500],
    )
    ctx.apply(
        session.pk,
        withdrawn=withdrawn,
        added=[
            RestingOrder(side=OrderSide(i.side), price=i.price, client_order_id=i.client_order_id)
            for i in created
            if i.price is not None
        ],
    )
    _enqueue_on_commit(cancel_ids + place_ids)  # cancels first
    if stp.dropped or checked.rejected or halt:
        log.info(
            "strategy_session_places_held",
            session_id=session.pk,
            stp_dropped=len(stp.dropped),
            risk_rejected=len(checked.rejected),
            halted=halt is not None,
        )
    return RunOutcome(
        session_id=session.pk,
        ran=True,
        lateness_ms=lateness,
        places=len(place_ids),
        cancels=len(cancel_ids),
        intent_ids=cancel_ids + place_ids,
    )


def _arbitrage_run(session: StrategySession, started: datetime, lateness: float) -> RunOutcome:
    """Two venues: leftovers of the previous legs are cancelled, a profitable opportunity
    (VWAP, net of fees, within both budgets) becomes two limit orders at the worst level
    touched. Budgets come from the venue accounts' free balances (operator sessions)."""
    params = ArbitrageParams.from_dto(session.params)
    snap_a = marketdata.snapshot_get(
        exchange_id=session.exchange_id, symbol=session.symbol, tick=session.claimed_tick
    )
    snap_b = marketdata.snapshot_get(
        exchange_id=session.exchange_b_id, symbol=session.symbol, tick=session.claimed_tick
    )
    if snap_a is None or snap_b is None:
        _release(session, next_run_at=None, error="market data unavailable this tick")
        return RunOutcome(session_id=session.pk, ran=False, reason="no_market_data")
    with transaction.atomic():
        now = venues.now()
        locked = _lock_claimed(session, now)
        if locked is None:
            return RunOutcome(session_id=session.pk, ran=False, reason="lease_lost")
        session = locked
        _pair_lock(session.exchange_id, session.symbol)
        cancel_ids = session_cancel_all(session=session, reason="arbitrage_leftover")
        tracked, places_inflight, _ = _live_view(session)
        halt = risk.halt_for(
            risk.active_halts(),
            exchange_id=session.exchange_id,
            symbol=session.symbol,
            session_id=session.pk,
        ) or risk.halt_for(
            risk.active_halts(),
            exchange_id=session.exchange_b_id,
            symbol=session.symbol,
            session_id=session.pk,
        )
        place_ids: list[int] = []
        generation = session.generation
        balances = (
            _arbitrage_balances(session)
            if not tracked and not places_inflight and halt is None
            else None
        )
        if balances is not None:
            bal_a, bal_b = balances
            ma, mb = snap_a.market, snap_b.market
            plan = find_arbitrage(
                book_a=snap_a.book,
                book_b=snap_b.book,
                market_a=ma,
                market_b=mb,
                fee_a=params.fee_a if params.fee_a is not None else ma.taker_fee,
                fee_b=params.fee_b if params.fee_b is not None else mb.taker_fee,
                order_amount=params.amount_to_trade,
                min_profitability=params.min_profitability,
                budget_a_base=bal_a.get(ma.base, ZERO),
                budget_a_quote=bal_a.get(ma.quote, ZERO),
                budget_b_base=bal_b.get(mb.base, ZERO),
                budget_b_quote=bal_b.get(mb.quote, ZERO),
            )
            if plan is not None:
                generation += 1
                legs = _arbitrage_legs(session, plan)
                for level, (exchange_id, account_index, side, price, amount) in enumerate(legs):
                    intent = OrderIntent.objects.create(
                        session=session,
                        kind=IntentKind.PLACE,
                        exchange_id=exchange_id,
                        account_index=account_index,
                        symbol=session.symbol,
                        client_order_id=client_order_id(
                            session_id=session.pk,
                            generation=generation,
                            side=OrderSide(side),
                            level=level,
                            kind="a",
                        ),
                        side=side,
                        level=level,
                        price=price,
                        amount=amount,
                        generation=generation,
                        reason="arbitrage",
                        status=IntentStatus.DRY_RUN
                        if settings.STRATEGY_DRY_RUN
                        else IntentStatus.PENDING,
                        next_attempt_at=now,
                    )
                    place_ids.append(intent.pk)
        StrategySession.objects.filter(pk=session.pk).update(
            lease_until=None,
            lease_token="",
            next_run_at=now + timedelta(seconds=max(settings.STRATEGY_TICK_MS / 1000, 1)),
            last_run_at=now,
            run_count=session.run_count + 1,
            generation=generation,
            last_error=f"halted: {halt.reason}" if halt else "",
        )
        _enqueue_on_commit(cancel_ids + place_ids)
    return RunOutcome(
        session_id=session.pk,
        ran=True,
        lateness_ms=lateness,
        places=len(place_ids),
        cancels=len(cancel_ids),
        intent_ids=cancel_ids + place_ids,
    )


def _arbitrage_balances(
    session: StrategySession,
) -> tuple[dict[str, Decimal], dict[str, Decimal]] | None:
    """Both accounts' free balances, if both were read after every one of the accounts'
    orders that is closed now was closed; else None, and a sync of both accounts is queued.

    Planning with balances from before the previous round trip would size a leg the venue can
    no longer fill: it fails while the other leg fills alone (an unhedged position). A sync
    stamps the balances with the account's closed-order count when it read them, so any leg
    closed since (by the sync or by the executor) makes them stale. Missing balances mean
    "not read yet", never zero.
    """
    from strategy.tracking import closed_order_count

    accounts = [
        (session.exchange_id, session.account_index),
        (session.exchange_b_id, session.account_b_index),
    ]
    found: list[dict[str, Decimal]] = []
    for exchange_id, account_index in accounts:
        free = venue_balances_cached(exchange_id=exchange_id, account_index=account_index)
        stamp = cache.get(f"strategy:bal_closed:{exchange_id}:{account_index}")
        current = closed_order_count(exchange_id=exchange_id, account_index=account_index)
        if free is None or stamp != current:
            from strategy.tasks import venue_account_sync_task

            for exchange, index in accounts:
                transaction.on_commit(
                    lambda e=exchange, i=index: venue_account_sync_task.delay(e, i)  # type: ignore[misc]
                )
            return None
        found.append(free)
    return found[0], found[1]


def _arbitrage_legs(
    session: StrategySession, plan: ArbitragePlan
) -> list[tuple[str, int, str, Decimal, Decimal]]:
    accounts = {
        "a": (session.exchange_id, session.account_index),
        "b": (session.exchange_b_id, session.account_b_index),
    }
    return [
        (*accounts[leg.venue], leg.side, leg.limit_price, leg.amount)
        for leg in (plan.buy, plan.sell)
    ]


def wait_until(deadline: float) -> None:
    """Sleep until a monotonic deadline (bench and tests driving ticks in a loop)."""
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
