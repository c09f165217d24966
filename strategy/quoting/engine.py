"""Hummingbot's per-tick decision, as a pure state machine.

`tick` is `PureMarketMakingStrategy.c_tick` after the market-readiness checks:

    if create_at <= now: proposal = build_proposal(...)        (else None)
    hanging orders: cancel the ones too far from the price, renew the ones past max age
    cancel every non-hanging order if any is past max_order_age
    c_cancel_active_orders: once cancel_at <= now, cancel all non-hanging orders unless
        the proposal is within the refresh tolerance of them (a negative tolerance or no
        proposal never defers)
    cancel non-hanging orders below minimum_spread
    create the proposal if create_at < now, no non-hanging order is left, and (when
        should_wait_order_cancel_confirmation) no cancel is still in flight;
    then set_timers: create_at and cancel_at move to now + order_refresh_time.

`on_order_completed` is `c_did_complete_buy_order`/`..._sell_order`: a *complete* fill of a
non-hanging order delays re-creation by `filled_order_delay` (cancel_at follows if it was
later), counts for ping-pong and sets the last own trade price. Partial fills change
nothing here (`on_fill` only feeds the inventory cost basis), so a partial fill never
stops quoting, and during the delay the minimum-spread, max-age and refresh cancels go on.

The runtime persists `EngineState.to_dict()` with the session. Timers are datetimes; None
is Hummingbot's initial 0 (always in the past).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from exchanges.venues.base import OrderSide
from strategy.params import PriceSourceType, PureMarketMakingParams
from strategy.quoting import checks
from strategy.quoting.bands import MovingBand
from strategy.quoting.cost_basis import CostBasis, Fee, apply_fill
from strategy.quoting.diff import diff_quotes
from strategy.quoting.proposal import Inputs, Proposal, ProposalState, build_proposal
from strategy.quoting.types import DesiredQuote, LiveOrder


@dataclass(frozen=True)
class EngineState:
    create_at: datetime | None = None
    cancel_at: datetime | None = None
    proposal: ProposalState = field(default_factory=ProposalState)
    last_own_trade_price: Decimal | None = None
    cost_basis: CostBasis | None = None
    delayed_until: datetime | None = None  # end of the last filled-order delay

    def to_dict(self) -> dict[str, Any]:
        return {
            "create_at": self.create_at.isoformat() if self.create_at else None,
            "cancel_at": self.cancel_at.isoformat() if self.cancel_at else None,
            "band": self.proposal.band.to_dict(),
            "filled_buys_balance": self.proposal.filled_buys_balance,
            "filled_sells_balance": self.proposal.filled_sells_balance,
            "last_own_trade_price": (
                str(self.last_own_trade_price) if self.last_own_trade_price is not None else None
            ),
            "cost_basis": self.cost_basis.to_dict() if self.cost_basis else None,
            "delayed_until": self.delayed_until.isoformat() if self.delayed_until else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EngineState:
        if not data:
            return cls()

        def when(key: str) -> datetime | None:
            return datetime.fromisoformat(data[key]) if data.get(key) else None

        last = data.get("last_own_trade_price")
        return cls(
            create_at=when("create_at"),
            cancel_at=when("cancel_at"),
            proposal=ProposalState(
                band=MovingBand.from_dict(data.get("band")),
                filled_buys_balance=int(data.get("filled_buys_balance", 0)),
                filled_sells_balance=int(data.get("filled_sells_balance", 0)),
            ),
            last_own_trade_price=Decimal(last) if last is not None else None,
            cost_basis=CostBasis.from_dict(data.get("cost_basis")),
            delayed_until=when("delayed_until"),
        )


class Reason:
    HANGING_FAR = checks.HANGING_FAR
    HANGING_RENEW = "hanging_renew"
    MAX_AGE = checks.MAX_AGE
    REFRESH = "refresh"
    BELOW_MIN_SPREAD = checks.BELOW_MIN_SPREAD


@dataclass(frozen=True)
class TickDecision:
    cancels: tuple[tuple[LiveOrder, str], ...]  # (order, reason), in decision order
    places: Proposal | None  # None: create nothing this tick
    renew: tuple[LiveOrder, ...]  # hanging orders to re-place as they are
    state: EngineState
    to_hang: tuple[LiveOrder, ...] = ()  # potential hanging orders kept at the refresh

    @property
    def cancel_ids(self) -> list[str]:
        return [order.client_order_id for order, _ in self.cancels]


def _due(at: datetime | None, now: datetime, *, strictly: bool = False) -> bool:
    if at is None:
        return True
    return at < now if strictly else at <= now


def tick(
    params: PureMarketMakingParams,
    state: EngineState,
    *,
    inputs: Inputs | None,
    live: list[LiveOrder],
    now: datetime,
    cancels_in_flight: int = 0,
    potential_hanging: frozenset[str] = frozenset(),
) -> TickDecision:
    """One tick. `inputs` None: no price this tick (no proposal, checks still run).

    `potential_hanging`: ids of orders whose pair filled completely (`orders_to_hang`).
    As in Hummingbot's tracker they become hanging at the refresh: not cancelled then,
    returned in `to_hang` for the runtime to flag, and not waited for before creating.
    """
    price = inputs.price if inputs is not None else None
    proposal: Proposal | None = None
    proposal_state = state.proposal
    if inputs is not None and _due(state.create_at, now):
        proposal, proposal_state = build_proposal(params, inputs, state.proposal)
    state = replace(state, proposal=proposal_state)

    cancelled: dict[str, str] = {}

    def cancel(orders: list[LiveOrder], reason: str) -> None:
        for order in orders:
            cancelled.setdefault(order.client_order_id, reason)

    renew: list[LiveOrder] = []
    hanging_live = [o for o in live if o.hanging and params.hanging_orders_enabled]
    regular = [o for o in live if not (o.hanging and params.hanging_orders_enabled)]
    max_age = timedelta(milliseconds=params.max_order_age_ms)
    if params.hanging_orders_enabled:
        cancel(
            checks.hanging_too_far(
                hanging_live, price=price, cancel_pct=params.hanging_orders_cancel_pct
            ),
            Reason.HANGING_FAR,
        )
        for order in hanging_live:
            if order.client_order_id not in cancelled and now - order.created_at > max_age:
                cancel([order], Reason.HANGING_RENEW)
                renew.append(order)
    hang_now = potential_hanging if params.hanging_orders_enabled else frozenset()
    if params.per_level_refresh:
        return _per_level(
            params, state, proposal, live, regular, cancelled, renew, hang_now, price, now
        )
    cancel(checks.past_max_age(regular, now=now, max_order_age=max_age), Reason.MAX_AGE)
    remaining = [o for o in regular if o.client_order_id not in cancelled]
    to_hang: list[LiveOrder] = []
    if remaining and _due(state.cancel_at, now):
        defer = proposal is not None and (
            checks.within_tolerance(
                [o.price for o in remaining if o.side == OrderSide.BUY],
                [b.price for b in proposal.buys],
                params.order_refresh_tolerance_pct,
            )
            and checks.within_tolerance(
                [o.price for o in remaining if o.side == OrderSide.SELL],
                [s.price for s in proposal.sells],
                params.order_refresh_tolerance_pct,
            )
        )
        if not defer:
            cancel([o for o in remaining if o.client_order_id not in hang_now], Reason.REFRESH)
            to_hang = [o for o in remaining if o.client_order_id in hang_now]
    below = checks.below_minimum_spread(
        [o for o in regular if o.client_order_id not in cancelled],
        price=price,
        minimum_spread=params.minimum_spread,
    )
    cancel(below, Reason.BELOW_MIN_SPREAD)

    left = [
        o
        for o in regular
        if o.client_order_id not in cancelled and o.client_order_id not in hang_now
    ]
    waiting = params.should_wait_order_cancel_confirmation and (
        cancels_in_flight > 0 or any(o.client_order_id in cancelled for o in regular)
    )
    places = None
    if (
        proposal is not None
        and _due(state.create_at, now, strictly=True)
        and not left
        and not waiting
    ):
        places = proposal
        if proposal.buys or proposal.sells:
            state = _set_timers(state, params, now)
    elif (
        params.requote_after_min_spread_cancel
        and below
        and inputs is not None
        and not (state.delayed_until is not None and now < state.delayed_until)
    ):
        # Mr.Market's opt-in: the side emptied by the minimum-spread check is re-quoted at
        # once instead of waiting for the next refresh (never during a filled-order delay).
        if proposal is None:
            proposal, proposal_state = build_proposal(params, inputs, state.proposal)
            state = replace(state, proposal=proposal_state)
        emptied = {o.side for o in below} - {o.side for o in left}
        places = Proposal(
            proposal.buys if OrderSide.BUY in emptied else (),
            proposal.sells if OrderSide.SELL in emptied else (),
        )
    by_id = {o.client_order_id: o for o in live}
    return TickDecision(
        cancels=tuple((by_id[cid], reason) for cid, reason in cancelled.items()),
        places=places,
        renew=tuple(renew),
        state=state,
        to_hang=tuple(to_hang),
    )


def _per_level(
    params: PureMarketMakingParams,
    state: EngineState,
    proposal: Proposal | None,
    live: list[LiveOrder],
    regular: list[LiveOrder],
    cancelled: dict[str, str],
    renew: list[LiveOrder],
    hang_now: frozenset[str],
    price: Decimal | None,
    now: datetime,
) -> TickDecision:
    """Mr.Market's opt-in `perLevelRefresh`: at each refresh every level is judged on its
    own (`diff.diff_quotes`: its own tolerance, age and minimum spread); between refreshes
    the minimum-spread check still runs every tick."""
    candidates = [
        o
        for o in regular
        if o.client_order_id not in cancelled and o.client_order_id not in hang_now
    ]
    places: Proposal | None = None
    to_hang = [o for o in regular if o.client_order_id in hang_now]
    if (
        proposal is not None
        and _due(state.cancel_at, now)
        and _due(state.create_at, now, strictly=True)
    ):
        plan = diff_quotes(
            desired=[
                DesiredQuote(side=side, level=p.level, price=p.price, amount=p.size)
                for side, entries in (
                    (OrderSide.BUY, proposal.buys),
                    (OrderSide.SELL, proposal.sells),
                )
                for p in entries
            ],
            live=candidates,
            refresh_tolerance_pct=params.order_refresh_tolerance_pct,
            max_order_age=timedelta(milliseconds=params.max_order_age_ms),
            now=now,
            reference_price=price,
            minimum_spread=params.minimum_spread,
        )
        for order in plan.cancels:
            cancelled.setdefault(order.client_order_id, str(plan.reasons[order.client_order_id]))
        wanted = {(q.side, q.level) for q in plan.places}
        places = Proposal(
            tuple(p for p in proposal.buys if (OrderSide.BUY, p.level) in wanted),
            tuple(p for p in proposal.sells if (OrderSide.SELL, p.level) in wanted),
        )
        state = _set_timers(state, params, now)
    else:
        for order in checks.below_minimum_spread(
            candidates, price=price, minimum_spread=params.minimum_spread
        ):
            cancelled.setdefault(order.client_order_id, Reason.BELOW_MIN_SPREAD)
    by_id = {o.client_order_id: o for o in live}
    return TickDecision(
        cancels=tuple((by_id[cid], reason) for cid, reason in cancelled.items()),
        places=places,
        renew=tuple(renew),
        state=state,
        to_hang=tuple(to_hang),
    )


def _set_timers(state: EngineState, params: PureMarketMakingParams, now: datetime) -> EngineState:
    next_cycle = now + timedelta(milliseconds=params.order_refresh_time_ms)
    create_at = next_cycle if _due(state.create_at, now) else state.create_at
    cancel_at = state.cancel_at
    if _due(cancel_at, now):
        assert create_at is not None
        cancel_at = min(create_at, next_cycle)
    return replace(state, create_at=create_at, cancel_at=cancel_at)


def on_order_completed(
    params: PureMarketMakingParams,
    state: EngineState,
    *,
    side: OrderSide,
    price: Decimal,
    hanging: bool,
    now: datetime,
) -> EngineState:
    """A complete fill of one of our orders (Hummingbot's `c_did_complete_*_order`)."""
    if hanging and params.hanging_orders_enabled:
        return state  # a hanging order's fill delays nothing
    create_at = now + timedelta(milliseconds=params.filled_order_delay_ms)
    cancel_at = create_at if state.cancel_at is None else min(state.cancel_at, create_at)
    ps = state.proposal
    if not params.ping_pong_enabled:
        pass  # Hummingbot counts only `if self._ping_pong_enabled`
    elif side == OrderSide.BUY:
        ps = replace(ps, filled_buys_balance=ps.filled_buys_balance + 1)
    else:
        ps = replace(ps, filled_sells_balance=ps.filled_sells_balance + 1)
    return replace(
        state,
        create_at=create_at,
        cancel_at=cancel_at,
        proposal=ps,
        last_own_trade_price=price,
        delayed_until=create_at,
    )


def on_fill(
    params: PureMarketMakingParams,
    state: EngineState,
    *,
    side: OrderSide,
    amount: Decimal,
    price: Decimal,
    base_asset: str,
    quote_asset: str,
    fees: tuple[Fee, ...] = (),
) -> EngineState:
    """Any fill, partial or complete (`c_did_fill_order`): only the cost basis moves."""
    if params.price_source_type is not PriceSourceType.INVENTORY_COST:
        return state
    basis = state.cost_basis
    if (basis is None or basis.base_volume == 0) and side == OrderSide.SELL:
        # Hummingbot raises here; a session keeps quoting, its cost price falling back to
        # `inventoryPrice` (the base it started with was bought before any recorded fill).
        return state
    return replace(
        state,
        cost_basis=apply_fill(
            basis,
            side=side,
            amount=amount,
            price=price,
            base_asset=base_asset,
            quote_asset=quote_asset,
            fees=fees,
        ),
    )
