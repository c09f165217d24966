"""Hummingbot's between-tick state of a pure market-making session, kept with the session
(`StrategySession.engine_state`, the shape of `quoting.engine.EngineState.to_dict`: exact
Decimals as strings, no floats).

- the **run** reads it from its locked session row, passes the moving band, the ping-pong
  counts, the last own trade price and the cost price to `build_proposal_for`, and writes
  the proposal state it returns back with the session row (`rows.finishes_write`);
- the **tracker** updates it when a fill is stored, under the same row lock: a *complete*
  fill of a non-hanging order counts for ping-pong and sets the last own trade price
  (`engine.on_order_completed`, Hummingbot's `c_did_complete_buy_order`), every fill moves
  the inventory cost basis (`engine.on_fill`, `InventoryCostPriceDelegate`).

The runtime keeps Hummingbot's timers elsewhere (`next_run_at`, `last_fill_at`), so the
stored `create_at`, `cancel_at` and `delayed_until` stay null.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from exchanges.venues.base import OrderSide
from strategy.params import PriceSourceType, PureMarketMakingParams
from strategy.quoting import engine
from strategy.quoting.bands import MovingBand
from strategy.quoting.cost_basis import CostBasis, Fee
from strategy.quoting.engine import EngineState


def state_of(raw: dict[str, Any] | None) -> EngineState:
    return EngineState.from_dict(raw)


def stored(state: EngineState) -> dict[str, Any]:
    """What is kept with the session (timers left out: the runtime has its own)."""
    return replace(state, create_at=None, cancel_at=None, delayed_until=None).to_dict()


def run_state(
    params: PureMarketMakingParams, raw: dict[str, Any] | None, *, base_balance: Decimal
) -> EngineState:
    """The state a run starts from. With price type `inventory_cost` and no cost basis
    yet, the basis is seeded with `inventoryPrice` for the base held, as Hummingbot does
    when `inventory_price` is configured (`InventoryCost.add_volume(base balance,
    base balance · inventory_price, overwrite=True)`); later fills move it from there."""
    state = state_of(raw)
    if (
        params.price_source_type is PriceSourceType.INVENTORY_COST
        and state.cost_basis is None
        and params.inventory_price is not None
        and base_balance > 0
    ):
        state = replace(
            state, cost_basis=CostBasis(base_balance, base_balance * params.inventory_price)
        )
    return state


def cost_price(state: EngineState) -> Decimal | None:
    return state.cost_basis.price if state.cost_basis is not None else None


def band_due(params: PureMarketMakingParams, raw: dict[str, Any] | None, now: datetime) -> bool:
    """The moving band is due to re-centre at `now` (a run must not be skipped then)."""
    if not params.moving_price_band_enabled:
        return False
    band = MovingBand.from_dict((raw or {}).get("band"))
    refresh = timedelta(milliseconds=params.price_band_refresh_time_ms)
    return band.set_at is None or now >= band.set_at + refresh


def guard_band(
    params: PureMarketMakingParams,
    raw: dict[str, Any] | None,
    *,
    price: Decimal | None,
    now: datetime,
) -> tuple[Decimal | None, Decimal | None]:
    """(ceiling, floor) the per-tick checks apply: the static band, tightened by the moving
    band as the session's next run would see it (the stored band, re-centred on `price`
    when its refresh time has passed: `MovingBand.refreshed`, pure, not stored here)."""
    ceiling, floor = params.ceiling_price, params.floor_price
    if not params.moving_price_band_enabled or price is None:
        return ceiling, floor
    band = MovingBand.from_dict((raw or {}).get("band")).refreshed(
        now=now,
        price=price,
        floor_pct=params.price_floor_pct,
        ceiling_pct=params.price_ceiling_pct,
        refresh=timedelta(milliseconds=params.price_band_refresh_time_ms),
    )
    # bids go at price >= ceiling, asks at price <= floor: the tighter of the two bands
    ceiling = band.ceiling if ceiling is None else min(ceiling, band.ceiling)
    floor = band.floor if floor is None else max(floor, band.floor)
    return ceiling, floor


def fill_changes_state(params: PureMarketMakingParams, *, completes: bool, hanging: bool) -> bool:
    """Whether a fill moves the stored state (the tracker locks the session row only then)."""
    if params.price_source_type is PriceSourceType.INVENTORY_COST:
        return True
    return completes and not (hanging and params.hanging_orders_enabled)


def fill_applied(
    params: PureMarketMakingParams,
    raw: dict[str, Any] | None,
    *,
    side: OrderSide,
    amount: Decimal,
    price: Decimal,
    order_price: Decimal,
    completes: bool,
    hanging: bool,
    symbol: str,
    fee: Decimal,
    fee_currency: str,
    now: datetime,
) -> dict[str, Any]:
    """The stored state after one newly stored fill (`completes`: this fill completed the
    order). The last own trade price is the order's price, as Hummingbot records
    `limit_order_record.price`. A fee in a third currency has no known rate here and
    leaves the base volume as is (Hummingbot divides by 1 + its percent)."""
    base, _, quote = symbol.partition("/")
    fees = (Fee(asset=fee_currency, amount=fee),) if fee_currency and fee else ()
    state = engine.on_fill(
        params,
        state_of(raw),
        side=side,
        amount=amount,
        price=price,
        base_asset=base,
        quote_asset=quote,
        fees=fees,
    )
    if completes:
        state = engine.on_order_completed(
            params, state, side=side, price=order_price, hanging=hanging, now=now
        )
    return stored(state)
