"""The cheap checks on every tick for every running pure market-making session
(`strategy_guard_task`, sent by the tick after its batches and refreshes), without
building a proposal.

Hummingbot runs minimum spread, max order age and the hanging-order distance on every
tick of `c_tick`; a session run here is one full decision per refresh (10 s and more), and
a session in its filled-order delay, shed under load, or not due yet would otherwise keep
an order that crossed into the spread until then.

A full pass reads every open order of every running session that has no cancel in flight
(plain rows, one statement) and the sessions' parameters by digest, prices each session off
the cached market snapshot (the same reference price its run uses: `source_price`, with
the stored last own trade price), applies `checks.tick_cancels` (hanging distance, max age,
minimum spread, the static price band and the moving band as the session's next run would
see it: its stored band, re-centred when due; the stored state is one more query, only for
sessions using it) and writes the cancels in one insert under the pair locks of the pairs
concerned, so a full run of the same pair either sees them or ran before. Nothing is
placed here: re-creation stays the full run's (at its refresh), except for sessions that
opt into `requoteAfterMinSpreadCancel`, which are made due at once.

A tick whose open orders and snapshots are those of the last full pass, with no order at
its max age yet, checks nothing more (`age_only`): the full pass runs about once per
market-data slot. Once per tick however many times the task is delivered (`cache.add` on
the tick it runs in).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import MD5, Cast

from exchanges.venues.base import OrderSide
from mrmarket.exceptions import ValidationFailed
from mrmarket.pg import server_cursor
from strategy import marketdata, venues
from strategy.enums import (
    INTENT_ACTIVE,
    INTENT_ACTIVE_SQL,
    IntentKind,
    SessionKind,
    SessionState,
    TrackedStatus,
)
from strategy.intents import CancelRow, cancel_intents_bulk, enqueue_on_commit
from strategy.models import OrderIntent, StrategySession, TrackedOrder
from strategy.params import PriceSourceType, PureMarketMakingParams
from strategy.pmm.parse import pmm_params
from strategy.pmm.state import guard_band, state_of
from strategy.quoting import checks
from strategy.quoting.pure_mm import source_price
from strategy.quoting.types import LiveOrder
from strategy.sessions.locks import Pair, pair_locks_take

log = structlog.get_logger(__name__)

GUARD_KEY = "strategy:guard:{tick}"
GUARD_KEY_SECONDS = 60
# The last full pass: the snapshots it priced off and the first moment (epoch seconds) an
# order it checked reaches its max age. Until either changes, a tick checks nothing more.
LAST_PASS_KEY = "strategy:guard:last"

_PARAMS_BY_DIGEST: dict[str, PureMarketMakingParams | None] = {}
_MAX_CACHED = 10_000


@dataclass
class GuardResult:
    ran: bool = True  # False: another delivery already checked this tick
    # True: prices unchanged since the last full pass and nothing due by age yet.
    age_only: bool = False
    sessions: int = 0  # running sessions with open orders
    orders: int = 0  # open orders checked
    no_price: int = 0  # sessions whose market had no snapshot (only max age checked)
    cancels: dict[str, int] = field(default_factory=dict)  # by reason
    intent_ids: list[int] = field(default_factory=list)
    # (venue, pair, with last price) this pass priced off an older slot's snapshot or found
    # none (not fetched with fetch=False): the tick sends their refreshes
    stale: list[tuple[str, str, bool]] = field(default_factory=list)


@dataclass
class _Session:
    params: PureMarketMakingParams
    exchange_id: str
    symbol: str
    orders: list[LiveOrder] = field(default_factory=list)
    accounts: dict[str, tuple[int, str]] = field(default_factory=dict)  # cid: (index, side)

    def cancel_row(self, session_id: int, client_order_id: str, reason: str) -> CancelRow:
        index, side = self.accounts[client_order_id]
        return CancelRow(
            session_id, self.exchange_id, index, self.symbol, client_order_id, side, reason
        )


def _params(text: str) -> PureMarketMakingParams | None:
    """Parameters from their stored text (None: no longer valid; the run stops those).
    Memoised by digest in `_params_of`."""
    try:
        return pmm_params(json.loads(text))
    except ValidationFailed:
        return None


def _open_orders() -> dict[int, _Session]:
    """Every open order of the running pure market-making sessions without a cancel in
    flight, grouped by session: one query for the orders with their session's parameter
    digest (plain rows, no model; on PostgreSQL the creation time as epoch microseconds,
    which skips Django's per-value time-zone loader), and the texts only of parameters
    this process has not parsed yet."""
    if connection.vendor == "postgresql":
        with server_cursor() as cursor:
            cursor.execute(_ORDERS)
            rows = [
                (*r[:9], _EPOCH + timedelta(microseconds=r[9]), r[10], r[11])
                for r in cursor.fetchall()
            ]
    else:
        plain = list(_orders_queryset())
        digests = _digests({r[0] for r in plain})
        rows = [(*r, digests.get(r[0], "")) for r in plain]
    params = _params_of({r[0]: r[11] for r in rows})
    sessions: dict[int, _Session] = {}
    for sid, ex, idx, symbol, cid, side, level, price, left, at, hanging, _ in rows:
        session = sessions.get(sid)
        if session is None:
            p = params.get(sid)
            if p is None:
                continue
            session = sessions[sid] = _Session(params=p, exchange_id=ex, symbol=symbol)
        session.orders.append(
            LiveOrder(
                client_order_id=cid,
                side=_SIDES[side],
                level=level,
                price=price,
                amount=left,
                created_at=at,
                hanging=hanging,
            )
        )
        session.accounts[cid] = (idx, side)
    return sessions


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SIDES = {side.value: side for side in OrderSide}
# The digest once per session (MATERIALIZED: not once per joined order row).
_ORDERS = (
    "WITH s AS MATERIALIZED (SELECT id, md5(params::text) AS digest "  # noqa: S608
    f"FROM {StrategySession._meta.db_table} WHERE state = '{SessionState.RUNNING.value}' "
    f"AND kind = '{SessionKind.PURE_MARKET_MAKING.value}') "
    "SELECT t.session_id, t.exchange_id, t.account_index, t.symbol, t.client_order_id, "
    "t.side, t.level, t.price, t.amount - t.filled, "
    "(extract(epoch FROM t.created_at) * 1000000)::bigint, t.hanging, s.digest "
    f"FROM {TrackedOrder._meta.db_table} t JOIN s ON s.id = t.session_id "
    f"WHERE t.status = '{TrackedStatus.OPEN.value}' AND NOT EXISTS ("
    f"SELECT 1 FROM {OrderIntent._meta.db_table} c WHERE c.kind = '{IntentKind.CANCEL.value}' "
    f"AND c.status IN {INTENT_ACTIVE_SQL} "
    "AND c.exchange_id = t.exchange_id AND c.account_index = t.account_index "
    "AND c.client_order_id = t.client_order_id)"
)


def _orders_queryset() -> QuerySet[TrackedOrder, tuple[Any, ...]]:
    """`_ORDERS` through the ORM (SQLite)."""
    cancelling = OrderIntent.objects.filter(
        kind=IntentKind.CANCEL,
        status__in=INTENT_ACTIVE,
        exchange_id=OuterRef("exchange_id"),
        account_index=OuterRef("account_index"),
        client_order_id=OuterRef("client_order_id"),
    )
    return (
        TrackedOrder.objects.filter(
            status=TrackedStatus.OPEN,
            session__state=SessionState.RUNNING,
            session__kind=SessionKind.PURE_MARKET_MAKING,
        )
        .filter(~Exists(cancelling))
        .annotate(left=F("amount") - F("filled"))
        .values_list(
            "session_id",
            "exchange_id",
            "account_index",
            "symbol",
            "client_order_id",
            "side",
            "level",
            "price",
            "left",
            "created_at",
            "hanging",
        )
    )


def _digests(session_ids: set[int]) -> dict[int, str]:
    """md5 of each session's parameter text (SQLite: PostgreSQL reads them with the orders)."""
    return dict(
        StrategySession.objects.filter(pk__in=session_ids)
        .annotate(digest=MD5(Cast("params", TextField())))
        .values_list("pk", "digest")
    )


def _params_of(digests: dict[int, str]) -> dict[int, PureMarketMakingParams]:
    """Parsed parameters of the sessions by their digests (invalid ones left out: the run
    stops those). Sessions share few distinct parameter sets: the text is read only for a
    digest this process has not parsed yet."""
    if not digests:
        return {}
    unknown = {d for d in digests.values() if d not in _PARAMS_BY_DIGEST}
    if unknown:
        if len(_PARAMS_BY_DIGEST) + len(unknown) > _MAX_CACHED:
            _PARAMS_BY_DIGEST.clear()
        wanted = list({d: pk for pk, d in digests.items() if d in unknown}.values())
        texts = (
            StrategySession.objects.filter(pk__in=wanted)
            .annotate(digest=MD5(Cast("params", TextField())), text=Cast("params", TextField()))
            .values_list("digest", "text")
        )
        for digest, text in texts:
            _PARAMS_BY_DIGEST[digest] = _params(text)
    out: dict[int, PureMarketMakingParams] = {}
    for pk, digest in digests.items():
        p = _PARAMS_BY_DIGEST.get(digest)
        if p is not None:
            out[pk] = p
    return out


class _Prices:
    """The tick's snapshots, read once per (venue, pair) and fetched when the tick's
    refresh did not cover the pair (sessions not claimed this tick)."""

    def __init__(self, tick: int, *, fetch: bool = True) -> None:
        self.tick, self.fetch = tick, fetch
        self.snaps: dict[tuple[str, str, bool], marketdata.MarketSnapshot | None] = {}

    def snap(
        self, exchange_id: str, symbol: str, with_last: bool = False
    ) -> marketdata.MarketSnapshot | None:
        key = (exchange_id, symbol, with_last)
        if key not in self.snaps:
            snap = marketdata.snapshot_get(
                exchange_id=exchange_id, symbol=symbol, tick=self.tick, with_last=with_last
            )
            if (
                snap is None
                and self.fetch
                and marketdata.market_data_refresh(
                    exchange_id=exchange_id, symbol=symbol, with_last=with_last
                )
            ):
                snap = marketdata.snapshot_get(
                    exchange_id=exchange_id, symbol=symbol, tick=self.tick, with_last=with_last
                )
            self.snaps[key] = snap
        return self.snaps[key]

    def stale(self) -> list[tuple[str, str, bool]]:
        """The pairs read without a snapshot of the current slot (none, or an older one)."""
        slot = marketdata.slot_of(self.tick)
        return sorted(
            key
            for key, snap in self.snaps.items()
            if snap is None or marketdata.slot_of(marketdata.tick_of(snap.fetched_at)) < slot
        )

    def seen(self) -> dict[str, str] | None:
        """What this pass priced off: each snapshot's fetch time by (venue, pair, last);
        None when a price was missing (the next tick checks again)."""
        if any(snap is None for snap in self.snaps.values()):
            return None
        return {
            "|".join((ex, sym, str(int(last)))): snap.fetched_at.isoformat()
            for (ex, sym, last), snap in self.snaps.items()
            if snap is not None
        }

    def unchanged(self, seen: dict[str, str]) -> bool:
        """The snapshots now cached are the ones a pass priced off (`seen`): read without
        fetching (a refresh still queued leaves the latest snapshot in place)."""
        for key, fetched_at in seen.items():
            ex, sym, last = key.split("|")
            snap = marketdata.snapshot_get(
                exchange_id=ex, symbol=sym, tick=self.tick, with_last=last == "1"
            )
            if snap is None or snap.fetched_at.isoformat() != fetched_at:
                return False
            self.snaps[(ex, sym, last == "1")] = snap  # a full pass reads it from here
        return True

    def reference(self, s: _Session, last_own: Decimal | None = None) -> Decimal | None:
        """The session's reference price, as its run computes it (None: unknown)."""
        params = s.params
        snap = self.snap(
            s.exchange_id, s.symbol, params.price_source_type is PriceSourceType.LAST_PRICE
        )
        oracle = None
        if params.oracle_exchange_name is not None:
            oracle_snap = self.snap(params.oracle_exchange_name, s.symbol)
            if oracle_snap is None:
                return None
            oracle = marketdata.reference_mid(oracle_snap)
        if snap is None:
            return None
        return source_price(
            params=params,
            book=snap.book,
            last_price=snap.last_price,
            reference_price=oracle,
            last_own_trade_price=last_own,
        )


def _stored_states(sessions: dict[int, _Session]) -> dict[int, dict[str, object]]:
    """The stored engine state of the sessions whose checks depend on it (moving price
    band, price type `last_own_trade_price`): one more query, only when there are any."""
    ids = [
        sid
        for sid, s in sessions.items()
        if s.params.moving_price_band_enabled
        or s.params.price_source_type is PriceSourceType.LAST_OWN_TRADE_PRICE
    ]
    if not ids:
        return {}
    return dict(StrategySession.objects.filter(pk__in=ids).values_list("pk", "engine_state"))


def sessions_guard(
    *, now: datetime | None = None, for_tick: int | None = None, fetch: bool = True
) -> GuardResult:
    """Check every running session's open orders once for the current tick; cancel those
    that fail a check. Safe to run twice (the second run of a tick does nothing).

    `fetch=False` (the tick itself, which must not wait on a venue): a pair without a
    fresh snapshot is not fetched here; it and every pair priced off an older slot are
    listed in `stale` for the caller to refresh (sessions without a price get only the
    max-age check this tick)."""
    now = now or venues.now()
    # The current tick (`for_tick` only for tests): a message that waited in the queue
    # checks the tick it runs in, so late messages of several ticks collapse into one.
    tick = marketdata.tick_of(now) if for_tick is None else for_tick
    if not cache.add(GUARD_KEY.format(tick=tick), 1, timeout=GUARD_KEY_SECONDS):
        return GuardResult(ran=False)
    prices = _Prices(tick, fetch=fetch)
    last = cache.get(LAST_PASS_KEY)
    orders_now = _orders_marker()
    if (
        last is not None
        and now.timestamp() < last["due"]
        and last["orders"] == orders_now
        and prices.unchanged(last["seen"])
    ):
        # The same open orders and every price the one the last full pass checked: only
        # age moved since, and no order reaches its max age before `due`.
        return GuardResult(age_only=True, stale=prices.stale())
    result = GuardResult()
    cancels: list[CancelRow] = []
    requote: list[int] = []
    sessions = _open_orders()
    states = _stored_states(sessions)
    earliest = float("inf")  # the first moment an order reaches its max age
    for sid, s in sessions.items():
        result.sessions += 1
        result.orders += len(s.orders)
        max_age = timedelta(milliseconds=s.params.max_order_age_ms)
        if s.orders:
            earliest = min(earliest, (min(o.created_at for o in s.orders) + max_age).timestamp())
        raw = states.get(sid)
        price = prices.reference(s, state_of(raw).last_own_trade_price if raw else None)
        if price is None:
            result.no_price += 1
        p = s.params
        ceiling, floor = guard_band(p, raw, price=price, now=now)
        found = checks.tick_cancels(
            s.orders,
            price=price,
            now=now,
            minimum_spread=p.minimum_spread,
            max_order_age=timedelta(milliseconds=p.max_order_age_ms),
            hanging_enabled=p.hanging_orders_enabled,
            hanging_cancel_pct=p.hanging_orders_cancel_pct,
            ceiling=ceiling,
            floor=floor,
        )
        for order, reason in found:
            cancels.append(s.cancel_row(sid, order.client_order_id, reason))
            result.cancels[reason] = result.cancels.get(reason, 0) + 1
        if p.requote_after_min_spread_cancel and any(
            r == checks.BELOW_MIN_SPREAD for _, r in found
        ):
            requote.append(sid)
    if cancels:
        result.intent_ids = _write(cancels, requote, now=now)
        log.info("strategy_guard_cancelled", tick=tick, **result.cancels)
    result.stale = prices.stale()
    seen = prices.seen()
    if seen is not None:
        cache.set(
            LAST_PASS_KEY,
            {"due": earliest, "seen": seen, "orders": orders_now},
            timeout=GUARD_KEY_SECONDS,
        )
    else:
        cache.delete(LAST_PASS_KEY)
    return result


def _orders_marker() -> list[int]:
    """[newest tracked order id, open orders, active cancels]: changes whenever an order
    is tracked, closes, or gets a cancel in flight (three small aggregates)."""
    newest = TrackedOrder.objects.aggregate(m=Max("id"))["m"] or 0
    open_count = TrackedOrder.objects.filter(status=TrackedStatus.OPEN).count()
    cancels = OrderIntent.objects.filter(kind=IntentKind.CANCEL, status__in=INTENT_ACTIVE).count()
    return [int(newest), open_count, cancels]


def _write(cancels: list[CancelRow], requote: list[int], *, now: datetime) -> list[int]:
    """The cancels in one insert under the locks of their pairs (a full run of the pair
    reads its live view after taking the same lock); opted-in sessions made due now."""
    pairs: list[Pair] = [(r.exchange_id, r.symbol) for r in cancels]
    with transaction.atomic():
        pair_locks_take(pairs)
        ids = list(cancel_intents_bulk(cancels, now=now).values())
        if requote:
            StrategySession.objects.filter(pk__in=requote, state=SessionState.RUNNING).filter(
                Q(lease_until__isnull=True) | Q(lease_until__lt=now)
            ).update(next_run_at=now)
        enqueue_on_commit(ids)
    return ids
