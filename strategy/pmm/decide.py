"""One pure market-making run's decision, from what it read: the live orders the diff
sees, the budget, the desired quotes and the diff (`pmm_plan`), risk, and the budget gate.
No writes here (`strategy.pmm.write` turns the decision into rows)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from exchanges.venues.base import MarketInfo, OrderSide
from strategy import marketdata, risk
from strategy.decisions import decision_inputs
from strategy.live import LiveView, live_order, venue_balances_cached
from strategy.memo import memoized
from strategy.models import StrategySession
from strategy.params import PureMarketMakingParams
from strategy.pmm.state import band_due, cost_price, run_state, stored
from strategy.quoting.diff import QuotePlan, diff_quotes
from strategy.quoting.pure_mm import build_proposal_for, source_price
from strategy.quoting.stp import Bounds, StpResult, filter_self_trades
from strategy.quoting.types import DesiredQuote, LiveOrder
from strategy.selectors import order_budget_available

ZERO = Decimal(0)


@dataclass
class Prepared:
    """A run's inputs read outside any transaction."""

    params: PureMarketMakingParams
    snap: marketdata.MarketSnapshot
    reference: Decimal | None
    digest: str = ""  # `strategy.decisions.params_hash` of the session's parameters


@dataclass
class Plan:
    """The diff of this run and what it was computed from."""

    quotes: QuotePlan
    live: list[LiveOrder]
    reference_price: Decimal | None
    total_base: Decimal
    total_quote: Decimal
    # What the builder answered and the per-session inputs it answered from (a decision
    # record keeps both: `strategy.decisions`).
    desired: list[DesiredQuote] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    # The session's `engine_state` after this run (None: unchanged).
    engine_state: dict[str, Any] | None = None


def live_orders(view: LiveView) -> list[LiveOrder]:
    """What the diff compares the desired quotes with: open orders without a cancel in
    flight, and places in flight (at their full amount)."""
    return [live_order(o) for o in view.tracked if o.client_order_id not in view.cancelling] + [
        LiveOrder(
            client_order_id=i.client_order_id,
            side=OrderSide(i.side),
            level=i.level,
            price=i.price or ZERO,
            amount=i.amount or ZERO,
            created_at=i.created_at,
            hanging=i.hanging,
        )
        for i in view.places
    ]


def session_budget(
    session: StrategySession, view: LiveView, market: MarketInfo
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
    own = view.commitments(maker_fee=market.maker_fee)
    return free.get(market.base, ZERO) + own.base, free.get(market.quote, ZERO) + own.quote


def decision_fingerprint(
    session: StrategySession,
    prepared: Prepared,
    view: LiveView,
    budget: tuple[Decimal, Decimal],
    *,
    params_digest: str,
) -> str:
    """Everything a decision is made from but the clock: parameters, the book and last
    price, the oracle's price, the budget, the last complete fill, the live orders and the
    intents in flight. Equal fingerprints and nothing due by age: the same decision."""
    snap = prepared.snap
    book = memoized(  # the book's part once per batch, not once per session
        ("fingerprint_book", snap.exchange_id, snap.symbol, snap.fetched_at),
        lambda: repr((snap.exchange_id, snap.symbol, snap.book.bids, snap.book.asks)),
    )
    material = repr(
        (
            params_digest,
            book,
            snap.last_price,
            prepared.reference,
            budget,
            session.last_fill_at,
            session.engine_state,
            sorted(
                (o.client_order_id, o.price, o.amount, o.filled, o.hanging) for o in view.tracked
            ),
            sorted((i.client_order_id, i.price, i.amount) for i in view.places),
            sorted(view.cancelling),
        )
    )
    return hashlib.sha1(material.encode(), usedforsecurity=False).hexdigest()


def age_due(
    view: LiveView,
    params: PureMarketMakingParams,
    now: datetime,
    engine_state: dict[str, Any] | None = None,
) -> bool:
    """Some live order of the session is past `maxOrderAge` at `now`, or the moving price
    band is due to re-centre (the clock, not the inputs, changes the decision then)."""
    max_age = timedelta(milliseconds=params.max_order_age_ms)
    return any(now - o.created_at > max_age for o in view.tracked) or band_due(
        params, engine_state, now
    )


def pmm_plan(
    session: StrategySession,
    prepared: Prepared,
    view: LiveView,
    *,
    now: datetime,
    budget: tuple[Decimal, Decimal] | None = None,
) -> Plan:
    """Desired quotes (`build_proposal_for`, from the session's stored state: moving band,
    ping-pong counts, last own trade price, cost basis) against the live orders
    (`diff_quotes`). The state it returns is the plan's `engine_state`."""
    params, snap = prepared.params, prepared.snap
    market = snap.market
    live = live_orders(view)
    total_base, total_quote = budget or session_budget(session, view, market)
    state = run_state(params, session.engine_state, base_balance=total_base)
    cost = cost_price(state)
    hanging = (
        view.commitments(maker_fee=market.maker_fee, hanging_only=True)
        if params.hanging_orders_enabled
        else None
    )
    ref = source_price(
        params=params,
        book=snap.book,
        last_price=snap.last_price,
        reference_price=prepared.reference,
        last_own_trade_price=state.last_own_trade_price,
    )
    budget_base = total_base - (hanging.base if hanging else ZERO)
    budget_quote = total_quote - (hanging.quote if hanging else ZERO)
    desired, proposal_state = build_proposal_for(
        params=params,
        market=market,
        book=snap.book,
        last_price=snap.last_price,
        reference_price=prepared.reference,
        base_balance=total_base,
        quote_balance=total_quote,
        budget_base=budget_base,
        budget_quote=budget_quote,
        now=now,
        last_fill_at=session.last_fill_at,
        state=state.proposal,
        last_own_trade_price=state.last_own_trade_price,
        cost_price=cost,
    )
    # Stored again only when the run changed it (a band re-centred, ping-pong counts reset,
    # a cost basis seeded): most runs write nothing more than before.
    seeded = state.cost_basis is not None and not (session.engine_state or {}).get("cost_basis")
    after = (
        stored(replace(state, proposal=proposal_state))
        if seeded or proposal_state != state.proposal
        else None
    )
    quotes = diff_quotes(
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
    return Plan(
        quotes=quotes,
        live=live,
        reference_price=ref,
        total_base=total_base,
        total_quote=total_quote,
        desired=desired,
        inputs=decision_inputs(
            reference_price=prepared.reference,
            base_balance=total_base,
            quote_balance=total_quote,
            budget_base=budget_base,
            budget_quote=budget_quote,
            now=now,
            last_fill_at=session.last_fill_at,
            proposal_state=state.proposal,
            last_own_trade_price=state.last_own_trade_price,
            cost_price=cost,
        ),
        engine_state=after,
    )


@dataclass
class Checked:
    """The places that passed self-trade prevention and risk, and what was held back."""

    stp: StpResult
    risk: risk.RiskResult


def places_check(
    session: StrategySession,
    plan: Plan,
    *,
    params: PureMarketMakingParams,
    halted: bool,
    bounds: Bounds,
) -> Checked:
    """Self-trade prevention against all our resting orders on the venue and pair (their
    `bounds`), then the
    risk filter (price band, deviation, max open orders, max notional)."""
    places: list[DesiredQuote] = [] if halted else list(plan.quotes.places)
    stp = filter_self_trades(quotes=places, bounds=bounds)
    kept = {o.client_order_id for o in plan.quotes.keeps}
    keep_orders = [o for o in plan.live if o.client_order_id in kept]
    checked = risk.risk_filter(
        places=stp.allowed,
        live_count=len(keep_orders),
        live_notional=sum((o.price * o.amount for o in keep_orders), ZERO),
        reference_price=plan.reference_price,
        max_open_orders=session.max_open_orders,
        max_notional=session.max_notional,
        max_deviation=settings.STRATEGY_MAX_PRICE_DEVIATION,
        ceiling_price=params.ceiling_price,
        floor_price=params.floor_price,
    )
    return Checked(stp=stp, risk=checked)


def budget_gate(
    quotes: list[DesiredQuote],
    *,
    view: LiveView,
    plan: Plan,
    maker_fee: Decimal,
) -> tuple[list[DesiredQuote], bool]:
    """(accepted, deferred): the venue account is shared by many orders, so a place goes
    out only if it fits beside everything the session still locks (cancelled orders
    included, until their cancel lands). What does not fit waits for the cancels."""
    committed = view.commitments(maker_fee=maker_fee)
    left_base = plan.total_base - committed.base
    left_quote = plan.total_quote - committed.quote
    accepted: list[DesiredQuote] = []
    deferred = False
    fee = max(maker_fee, ZERO)
    for quote in quotes:
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
    return accepted, deferred
