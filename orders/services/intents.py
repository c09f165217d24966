"""`POST /user-orders/market-making/intent`: a new order in `payment_pending` and its memo.

The memo (vectors/memo.md) carries the pair id and the order id, so the payment snapshot
finds its order. The fees the payment must cover are quoted now and kept on the order: the
custody withdrawal fee of moving base and quote to the venue (in the fee asset custody names,
often the chain's native asset) and Mr.Market's fee percentage.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import ROUND_UP, Decimal
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from exchanges.models import MarketMakingPair, VenueAccount
from mrmarket.exceptions import ValidationFailed
from mrmarket.models import User
from orders.custody import custody_gateway
from orders.custody.base import CustodyError
from orders.enums import OrderState
from orders.exceptions import FeeQuoteUnavailable, PairNotFound, VenueAccountMissing
from orders.memo import memo_encode_market_making_create
from orders.models import MarketMakingOrder, OrderEvent
from orders.selectors import fee_percentage
from orders.services.payments import payment_state_open
from strategy.params import PureMarketMakingParams

log = structlog.get_logger(__name__)


def default_order_amount(*, pair: MarketMakingPair) -> Decimal:
    """Per-level size worth about `ORDER_DEFAULT_ORDER_VALUE_USD` at the registry's price (so it
    clears venues' minimum notional), never below the pair's minimum order amount."""
    floor = Decimal(pair.min_order_amount or 0)
    price = Decimal(pair.base_asset.price_usd or 0)
    if price <= 0:
        return floor or Decimal("0.001")
    amount = (settings.ORDER_DEFAULT_ORDER_VALUE_USD / price).quantize(
        Decimal("1e-8"), rounding=ROUND_UP
    )
    return max(amount, floor)


def default_strategy_dto(*, pair: MarketMakingPair) -> dict[str, Any]:
    """Parameters of an order whose intent names none (settings; size from the pair's price)."""
    return {
        "pair": pair.symbol,
        "exchangeName": pair.exchange.exchange_id,
        "bidSpread": settings.ORDER_DEFAULT_BID_SPREAD,
        "askSpread": settings.ORDER_DEFAULT_ASK_SPREAD,
        "orderAmount": str(default_order_amount(pair=pair)),
        "orderRefreshTime": settings.ORDER_DEFAULT_REFRESH_MS,
        "numberOfLayers": settings.ORDER_DEFAULT_LAYERS,
        "priceSourceType": "mid_price",
        "amountChangePerLayer": "0",
        "amountChangeType": "fixed",
    }


def strategy_params_build(
    *, pair: MarketMakingPair, strategy: dict[str, Any] | None
) -> PureMarketMakingParams:
    dto = default_strategy_dto(pair=pair)
    if strategy:
        overrides = {k: v for k, v in strategy.items() if k not in {"userId", "clientId"}}
        for fixed in ("pair", "exchangeName"):
            if fixed in overrides and str(overrides[fixed]) != str(dto[fixed]):
                raise ValidationFailed(
                    f"strategy.{fixed}: must be {dto[fixed]!r}, the pair's",
                    payload={"field": f"strategy.{fixed}"},
                )
        dto.update(overrides)
    return PureMarketMakingParams.from_dto(dto)


def order_intent_create(
    *,
    user: User,
    pair_id: uuid.UUID | str,
    strategy: dict[str, Any] | None = None,
    reward_address: str = "",
) -> MarketMakingOrder:
    try:
        pair = MarketMakingPair.objects.select_related("exchange", "base_asset", "quote_asset").get(
            pk=pair_id, enable=True, exchange__enable=True
        )
    except (MarketMakingPair.DoesNotExist, ValueError, ValidationFailed) as exc:
        raise PairNotFound(f"Market-making pair {pair_id} not found or disabled.") from exc
    params = strategy_params_build(pair=pair, strategy=strategy)
    account = (
        VenueAccount.objects.filter(exchange=pair.exchange, enabled=True).order_by("index").first()
    )
    if account is None:
        raise VenueAccountMissing(f"No enabled account on {pair.exchange.exchange_id}.")

    custody = custody_gateway()
    try:
        base_fee = custody.withdrawal_fee(asset_id=str(pair.base_asset_id), destination="")
        quote_fee = custody.withdrawal_fee(asset_id=str(pair.quote_asset_id), destination="")
    except CustodyError as exc:
        raise FeeQuoteUnavailable("Withdrawal fees cannot be quoted right now, try again.") from exc

    now = timezone.now()
    order_id = uuid.uuid4()
    memo = memo_encode_market_making_create(
        pair_id=str(pair.pk), order_id=str(order_id), reward_address=reward_address or None
    )
    with transaction.atomic():
        order: MarketMakingOrder = MarketMakingOrder(
            id=order_id,
            user=user,
            pair=pair,
            venue_account=account,
            state_changed_at=now,
            memo=memo,
            memo_expires_at=now + timedelta(seconds=settings.ORDER_MEMO_TIMEOUT_SECONDS),
            reward_address=reward_address,
            strategy_params=params.to_dict(),
            base_fee_asset_id=base_fee.asset_id,
            quote_fee_asset_id=quote_fee.asset_id,
            required_base_withdrawal_fee=base_fee.amount,
            required_quote_withdrawal_fee=quote_fee.amount,
            strategy_fee_percentage=fee_percentage(pair),
        )
        order.deadline_at = order.memo_expires_at
        order.next_step_at = order.memo_expires_at
        order.save()
        payment_state_open(order=order)
        OrderEvent.objects.create(
            order=order,
            from_state="",
            to_state=OrderState.PAYMENT_PENDING,
            trigger="order.intent_created",
            actor=user,
            payload={"pairId": str(pair.pk), "memoExpiresAt": order.memo_expires_at.isoformat()},
        )
    log.info("order_intent_created", order_id=str(order.pk), pair=pair.symbol)
    return order
