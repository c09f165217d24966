"""What is live: a session's orders on (or on their way to) the venue, every order of ours
resting on a (venue, pair), and the venue account balances the tracker last saw.

Reads only. The batch reads (`*_many`, `PairContext.load_many`) take the same few queries
whatever the number of sessions and pairs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import F, Q

from exchanges.venues.base import OrderSide
from mrmarket.pg import array_literal, server_cursor
from strategy import risk
from strategy.enums import INTENT_ACTIVE, INTENT_ACTIVE_SQL, IntentKind, TrackedStatus
from strategy.memo import memoized
from strategy.models import OrderIntent, StrategySession, TrackedOrder
from strategy.quoting.stp import Bounds, RestingOrder, resting_bounds
from strategy.quoting.types import LiveOrder
from strategy.selectors import Commitments, commitments_of, tracked_for_budget
from strategy.sessions.locks import Pair


def balances_cache_key(exchange_id: str, account_index: int) -> str:
    """Free balances per currency of a venue account, written by the tracker."""
    return f"strategy:bal:{exchange_id}:{account_index}"


def balances_closed_cache_key(exchange_id: str, account_index: int) -> str:
    """The account's closed-order count when its balances were read (arbitrage)."""
    return f"strategy:bal_closed:{exchange_id}:{account_index}"


def live_order(order: TrackedOrder, *, amount: Decimal | None = None) -> LiveOrder:
    """A tracked order as the quoting core sees it: its unfilled rest unless `amount` says
    otherwise."""
    return LiveOrder(
        client_order_id=order.client_order_id,
        side=OrderSide(order.side),
        level=order.level,
        price=order.price,
        amount=order.amount - order.filled if amount is None else amount,
        created_at=order.created_at,
        hanging=order.hanging,
    )


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


def _view_of(rows: list[TrackedOrder], intents: list[OrderIntent]) -> LiveView:
    return LiveView(
        tracked=[o for o in rows if o.status == TrackedStatus.OPEN],
        places=[i for i in intents if i.kind == IntentKind.PLACE],
        cancelling={i.client_order_id for i in intents if i.kind == IntentKind.CANCEL},
        unsettled=[o for o in rows if o.status != TrackedStatus.OPEN],
    )


def live_of(session: StrategySession) -> LiveView:
    """Everything the session has on (or on its way to) the venue: two queries."""
    rows = tracked_for_budget(session=session)
    intents = list(OrderIntent.objects.filter(session=session, status__in=INTENT_ACTIVE))
    return _view_of(rows, intents)


def live_many(sessions: list[StrategySession]) -> dict[int, LiveView]:
    """`live_of` of many sessions in two queries (the runs of one pair transaction). On
    PostgreSQL constant statements over an id array: no ORM query building per batch."""
    ids = [s.pk for s in sessions]
    rows: dict[int, list[TrackedOrder]] = defaultdict(list)
    intents: dict[int, list[OrderIntent]] = defaultdict(list)
    tracked_rows: Iterable[TrackedOrder]
    intent_rows: Iterable[OrderIntent]
    if connection.vendor == "postgresql":
        tracked_rows = TrackedOrder.objects.raw(_LIVE_TRACKED, [array_literal(ids)])
        intent_rows = OrderIntent.objects.raw(_LIVE_INTENTS, [array_literal(ids)])
    else:
        tracked_rows = TrackedOrder.objects.filter(session_id__in=ids).filter(
            Q(status=TrackedStatus.OPEN) | Q(venue_filled__gt=F("filled"))
        )
        intent_rows = OrderIntent.objects.filter(session_id__in=ids, status__in=INTENT_ACTIVE)
    for order in tracked_rows:
        assert order.session_id is not None
        rows[order.session_id].append(order)
    for intent in intent_rows:
        assert intent.session_id is not None
        intents[intent.session_id].append(intent)
    return {pk: _view_of(rows[pk], intents[pk]) for pk in ids}


_LIVE_TRACKED = (
    f"SELECT * FROM {TrackedOrder._meta.db_table} WHERE session_id = ANY(%s::bigint[]) "  # noqa: S608
    f"AND (status = '{TrackedStatus.OPEN.value}' OR venue_filled > filled)"
)
_LIVE_INTENTS = (
    f"SELECT * FROM {OrderIntent._meta.db_table} WHERE session_id = ANY(%s::bigint[]) "  # noqa: S608
    f"AND status IN {INTENT_ACTIVE_SQL}"
)
_RESTING = (
    f"SELECT exchange_id, symbol, side, price, client_order_id FROM {TrackedOrder._meta.db_table} "  # noqa: S608
    f"WHERE exchange_id = ANY(%s::varchar[]) AND symbol = ANY(%s::varchar[]) "
    f"AND status = '{TrackedStatus.OPEN.value}' UNION ALL "
    f"SELECT exchange_id, symbol, side, price, client_order_id FROM {OrderIntent._meta.db_table} "
    f"WHERE exchange_id = ANY(%s::varchar[]) AND symbol = ANY(%s::varchar[]) "
    f"AND kind = '{IntentKind.PLACE.value}' AND status IN {INTENT_ACTIVE_SQL}"
)


def resting_on(exchange_id: str, symbol: str) -> list[RestingOrder]:
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


def resting_many(pairs: list[Pair]) -> dict[Pair, list[RestingOrder]]:
    """`resting_on` of several pairs in two queries."""
    wanted = set(pairs)
    venues_, symbols = sorted({p[0] for p in pairs}), sorted({p[1] for p in pairs})
    found: list[tuple[str, str, str, Decimal | None, str]]
    if connection.vendor == "postgresql":
        v, sy = array_literal(venues_), array_literal(symbols)
        with server_cursor() as cursor:
            cursor.execute(_RESTING, [v, sy, v, sy])
            found = cursor.fetchall()
    else:
        tracked = TrackedOrder.objects.filter(
            exchange_id__in=venues_, symbol__in=symbols, status=TrackedStatus.OPEN
        ).values_list("exchange_id", "symbol", "side", "price", "client_order_id")
        places = OrderIntent.objects.filter(
            exchange_id__in=venues_,
            symbol__in=symbols,
            kind=IntentKind.PLACE,
            status__in=INTENT_ACTIVE,
        ).values_list("exchange_id", "symbol", "side", "price", "client_order_id")
        found = [*tracked, *places]
    out: dict[Pair, list[RestingOrder]] = defaultdict(list)
    for exchange_id, symbol, side, price, cid in found:
        if price is not None and (exchange_id, symbol) in wanted:
            out[(exchange_id, symbol)].append(
                RestingOrder(side=OrderSide(side), price=price, client_order_id=cid)
            )
    return out


def venue_balances_cached(*, exchange_id: str, account_index: int) -> dict[str, Decimal] | None:
    """Free balances per currency the tracker last saw on a venue account (budgets of
    sessions without an order); read once per batch (`strategy.memo`)."""

    def read() -> dict[str, Decimal] | None:
        raw = cache.get(balances_cache_key(exchange_id, account_index))
        return None if raw is None else {k: Decimal(v) for k, v in raw.items()}

    return memoized(("balances", exchange_id, account_index), read)


@dataclass
class PairContext:
    """What every run of one (venue, pair) transaction reads, read once under the pair lock.

    Fresh enough: the pair lock keeps other runs from writing places on the pair until this
    transaction commits, the runs of the transaction add their own places (and drop their
    withdrawals) here, and kill switches are read at its start — a transaction holds a
    batch of one pair for a few milliseconds per session."""

    halts: list[risk.Halt]
    resting: list[RestingOrder]
    views: dict[int, LiveView]
    pending: dict[int, tuple[set[str], list[RestingOrder]]] = field(default_factory=dict)
    _bounds: Bounds | None = field(default=None, repr=False)

    @classmethod
    def load(cls, exchange_id: str, symbol: str, sessions: list[StrategySession]) -> PairContext:
        return cls(
            halts=risk.active_halts(),
            resting=resting_on(exchange_id, symbol),
            views=live_many(sessions),
        )

    @classmethod
    def load_many(
        cls, pairs: list[Pair], sessions: list[StrategySession]
    ) -> dict[Pair, PairContext]:
        """Contexts of several pairs: five queries whatever the number of pairs."""
        halts = risk.active_halts()
        resting = resting_many(pairs)
        views = live_many(sessions)
        return {
            pair: cls(
                halts=halts,
                resting=resting.get(pair, []),
                views={s.pk: views[s.pk] for s in sessions if (s.exchange_id, s.symbol) == pair},
            )
            for pair in pairs
        }

    def bounds(self, *, without: set[str] | frozenset[str] = frozenset()) -> Bounds:
        """Self-trade prevention's bounds of the pair's resting orders (kept up to date
        as runs add places), leaving out the places in `without`."""
        if without:
            return resting_bounds([r for r in self.resting if r.client_order_id not in without])
        if self._bounds is None:
            self._bounds = resting_bounds(self.resting)
        return self._bounds

    def apply(self, session_id: int, *, withdrawn: set[str], added: list[RestingOrder]) -> None:
        """A run's effect on the pair: withdrawn places leave, new places join."""
        if withdrawn:
            self.resting = [r for r in self.resting if r.client_order_id not in withdrawn]
            self._bounds = None
        self.resting.extend(added)
        if self._bounds is not None:
            self._bounds = self._bounds.with_orders(added)
        self.pending[session_id] = (withdrawn, added)

    def rollback(self, session_id: int) -> None:
        """The run's savepoint rolled back: its places never existed (withdrawals only
        shrank the list, which stays conservative for self-trade prevention)."""
        _, added = self.pending.pop(session_id, (set(), []))
        gone = {r.client_order_id for r in added}
        if gone:
            self.resting = [r for r in self.resting if r.client_order_id not in gone]
            self._bounds = None


def closed_order_count(*, exchange_id: str, account_index: int) -> int:
    """How many of the account's tracked orders are closed (stamps its balances)."""
    return TrackedOrder.objects.filter(
        exchange_id=exchange_id, account_index=account_index, closed_at__isnull=False
    ).count()
