"""The calls the order lifecycle makes into other apps (decision 0003): the strategy runtime
and HuFi campaigns. Kept in one place so the seam is visible and easy to replace in tests.
Orders sit on top of both (docs/architecture.md), so these are plain imports."""

from __future__ import annotations

from campaigns.models import Campaign
from campaigns.selectors import campaign_matching
from campaigns.services import JoinResult, campaign_join, participation_record
from orders.models import MarketMakingOrder
from strategy.selectors import session_live_order_count as strategy_live_order_count
from strategy.services import (
    OrderTerms,
    session_pause_for_order,
    session_resume_for_order,
    session_start_for_order,
    session_stop_for_order,
)


def order_terms(*, order: MarketMakingOrder) -> OrderTerms:
    """The order as the strategy runtime needs it (strategy never reads the orders app)."""
    return OrderTerms(
        order_id=order.pk,
        user_id=order.user_id,
        strategy_params=order.strategy_params or {},
        exchange_id=order.venue_account.exchange_id,
        account_index=order.venue_account.index,
        symbol=order.pair.symbol,
        base_asset_id=str(order.pair.base_asset_id),
        quote_asset_id=str(order.pair.quote_asset_id),
    )


def session_start(*, order: MarketMakingOrder) -> None:
    """Inside the `created → running` transition: the order's strategy session starts."""
    session_start_for_order(terms=order_terms(order=order))


def session_pause(*, order: MarketMakingOrder) -> None:
    session_pause_for_order(order_id=order.pk)


def session_resume(*, order: MarketMakingOrder) -> None:
    session_resume_for_order(order_id=order.pk)


def session_stop(*, order: MarketMakingOrder) -> None:
    session_stop_for_order(order_id=order.pk)


def session_live_order_count(*, order: MarketMakingOrder) -> int:
    return strategy_live_order_count(order_id=order.pk)


def campaign_for_order(*, order: MarketMakingOrder) -> Campaign | None:
    """The HuFi campaign this order would join (its venue and pair), if any runs now."""
    return campaign_matching(
        exchange_name=order.venue_account.exchange.exchange_id, symbol=order.pair.symbol
    ).first()


def campaign_join_for_order(*, order: MarketMakingOrder) -> JoinResult:
    """Join with the service's wallet (bounded by HUFI_JOIN_DEADLINE_SECONDS); never raises
    because of HuFi. Must run outside any transaction (the token manager locks a row over HTTP)."""
    campaign = campaign_for_order(order=order)
    if campaign is None:
        return JoinResult(status="closed", error="no campaign runs for this pair any more")
    result = campaign_join(
        campaign=campaign, exchange_name=order.venue_account.exchange.exchange_id
    )
    participation_record(campaign=campaign, order_id=order.pk, user_id=order.user_id, result=result)
    return result
