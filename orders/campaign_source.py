"""The orders app's side of the campaigns seam (`campaigns/order_source.py`): the order
states that take part in campaigns, and the facts campaigns read, built from our rows.
Registered in `OrdersConfig.ready`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from campaigns.order_source import OrderFacts
from orders.enums import OrderState
from orders.models import MarketMakingOrder

# An order in these states takes part in its campaigns (it trades or is about to); any other
# state means it stopped trading for good (stopped, exiting, failed...): its part is `left`.
PARTICIPATING_ORDER_STATES = (
    OrderState.JOINING_CAMPAIGN,
    OrderState.CAMPAIGN_JOINED,
    OrderState.CREATED,
    OrderState.RUNNING,
    OrderState.PAUSED,
)
# Orders the participations task joins campaigns for: the ones trading (or paused). Earlier
# states are the lifecycle's own `joining_campaign` step's business.
JOINABLE_ORDER_STATES = (OrderState.RUNNING, OrderState.PAUSED)


def order_facts_of(order: MarketMakingOrder) -> OrderFacts:
    return OrderFacts(
        order_id=order.pk,
        user_id=order.user_id,
        exchange_id=order.venue_account.exchange.exchange_id,
        symbol=order.pair.symbol,
        state=order.state,
        state_changed_at=order.state_changed_at,
        participating=order.state in PARTICIPATING_ORDER_STATES,
        joinable=order.state in JOINABLE_ORDER_STATES,
    )


class OrdersForCampaigns:
    """`campaigns.order_source.OrderSource` over the orders table."""

    def orders_joinable(self) -> list[OrderFacts]:
        rows = (
            MarketMakingOrder.objects.filter(state__in=JOINABLE_ORDER_STATES)
            .select_related("pair", "venue_account__exchange")
            .order_by("created_at", "id")
        )
        return [order_facts_of(o) for o in rows]

    def orders_get(self, order_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, OrderFacts]:
        rows = MarketMakingOrder.objects.filter(pk__in=list(order_ids)).select_related(
            "pair", "venue_account__exchange"
        )
        return {o.pk: order_facts_of(o) for o in rows}
