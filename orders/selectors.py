"""Reads of the order lifecycle, shaped as CONTRACT.md's JSON (money as decimal strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet

from exchanges.models import Asset, AssetNetwork, MarketMakingPair
from exchanges.selectors import fee_settings_get
from ledger import selectors as ledger_selectors
from mrmarket.health import iso
from mrmarket.models import User
from mrmarket.money import money_str
from orders.custody import custody_gateway
from orders.exceptions import OrderNotFound
from orders.models import CustodyTransfer, MarketMakingOrder, OrderEvent, PaymentState
from orders.valuation import order_cards

money = money_str


def order_get_for_user(*, order_id: UUID | str, user: User) -> MarketMakingOrder:
    """The caller's order; another user's order is indistinguishable from none (404)."""
    try:
        order: MarketMakingOrder = MarketMakingOrder.objects.select_related(
            "pair", "pair__exchange", "venue_account__exchange"
        ).get(pk=order_id, user=user)
        return order
    except (MarketMakingOrder.DoesNotExist, ValueError, DjangoValidationError) as exc:
        # Not a UUID (Django raises ValidationError for a malformed pk): no such order.
        raise OrderNotFound(f"Order {order_id} not found.") from exc


def order_list_for_user(*, user: User) -> QuerySet[MarketMakingOrder]:
    orders: QuerySet[MarketMakingOrder] = MarketMakingOrder.objects.filter(
        user=user
    ).select_related("pair", "pair__exchange", "venue_account__exchange")
    return orders


def order_balances(order: MarketMakingOrder) -> dict[str, Decimal]:
    """The order's budget per asset, from the ledger (posted, less pending outflows)."""
    return {a: b.available for a, b in ledger_selectors.order_balances(order_id=order.pk).items()}


def order_json(
    order: MarketMakingOrder,
    balances: dict[str, Decimal] | None = None,
    card: dict[str, Decimal | None] | None = None,
) -> dict[str, Any]:
    """`MarketMakingOrder` of CONTRACT.md (fields the UI reads, plus a few extras)."""
    params = order.strategy_params or {}
    balances = order_balances(order) if balances is None else balances
    if card is None:
        card = order_cards([order], {str(order.pk): balances})[str(order.pk)]
    pair = order.pair
    return {
        "orderId": str(order.pk),
        "userId": str(order.user_id),
        "pair": pair.symbol,
        "marketMakingPairId": str(pair.pk),
        "exchangeName": pair.exchange.exchange_id,
        "state": order.state,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "bidSpread": params.get("bidSpread"),
        "askSpread": params.get("askSpread"),
        "orderAmount": params.get("orderAmount"),
        "orderRefreshTime": params.get("orderRefreshTime"),
        "numberOfLayers": params.get("numberOfLayers"),
        "priceSourceType": params.get("priceSourceType"),
        "amountChangePerLayer": params.get("amountChangePerLayer"),
        "amountChangeType": params.get("amountChangeType"),
        "ceilingPrice": params.get("ceilingPrice"),
        "floorPrice": params.get("floorPrice"),
        "balanceA": money(balances.get(str(pair.base_asset_id), Decimal(0))),
        "balanceB": money(balances.get(str(pair.quote_asset_id), Decimal(0))),
        "rewardAddress": order.reward_address,
        "strategyKey": order.strategy_key,
        "failureReason": order.failure_reason,
        "amount": _money_or_none(card["amount"]),
        "profit": _money_or_none(card["profit"]),
        "target": _money_or_none(card["target"]),
    }


def _money_or_none(value: Decimal | None) -> str | None:
    return money(value)


def order_json_list(orders: list[MarketMakingOrder]) -> list[dict[str, Any]]:
    """The order list: balances per order, the card figures in grouped queries."""
    balances = {str(o.pk): order_balances(o) for o in orders}
    cards = order_cards(orders, balances)
    return [order_json(o, balances[str(o.pk)], cards[str(o.pk)]) for o in orders]


def payment_state_get(order: MarketMakingOrder) -> PaymentState:
    """The order's payment (its own row); an order made without a memo has none (404)."""
    payment: PaymentState | None = PaymentState.objects.filter(pk=order.pk).first()
    if payment is None:
        raise OrderNotFound(f"Order {order.pk} has no payment.")
    return payment


def event_json(event: OrderEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "orderId": str(event.order_id),
        "topic": event.trigger,
        "fromState": event.from_state,
        "toState": event.to_state,
        "reason": event.reason,
        "payload": event.payload,
        "actorId": str(event.actor_id) if event.actor_id else None,
        "taskId": event.task_id,
        "traceId": event.trace_id,
        "createdAt": iso(event.created_at),
    }


def transfer_json(transfer: CustodyTransfer) -> dict[str, Any]:
    return {
        "requestId": transfer.request_id,
        "purpose": transfer.purpose,
        "status": transfer.status,
        "assetId": transfer.asset_id,
        "amount": money(transfer.amount),
        "feeAssetId": transfer.fee_asset_id,
        "feeAmount": money(transfer.fee_amount),
        "transactionHash": transfer.transaction_hash,
        "lastError": transfer.last_error,
        "createdAt": iso(transfer.created_at),
        "confirmedAt": iso(transfer.confirmed_at),
        "arrivedAt": iso(transfer.arrived_at),
    }


def order_events(
    *,
    order_id: UUID | str | None = None,
    topic: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[OrderEvent]:
    qs = OrderEvent.objects.all()
    if order_id:
        qs = qs.filter(order__pk=order_id)
    if topic:
        qs = qs.filter(trigger=topic)
    if since:
        qs = qs.filter(created_at__gte=since)
    return list(qs.order_by("-id")[: max(1, min(limit, 1000))])


def outbox_summary(events: list[OrderEvent]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for event in events:
        counts[event.trigger] = counts.get(event.trigger, 0) + 1
    created = [e.created_at for e in events]
    return {
        "total": len(events),
        "topicCounts": counts,
        "firstCreatedAt": iso(min(created)) if created else None,
        "lastCreatedAt": iso(max(created)) if created else None,
    }


def _asset_row(asset_id: str) -> tuple[str, Decimal]:
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None:
        return "", Decimal(0)
    return asset.symbol, Decimal(asset.price_usd or 0)


def fee_percentage(pair: MarketMakingPair) -> Decimal:
    """Our fee as a fraction: the pair's own rate, else the global setting (0 when disabled)."""
    if pair.custom_fee_rate is not None:
        return Decimal(pair.custom_fee_rate)
    fees = fee_settings_get()
    return Decimal(fees.market_making_fee) if fees.enable_market_making_fee else Decimal(0)


def market_making_fee_quote(*, exchange_id: str, pair: str, direction: str) -> dict[str, Any]:
    """`/fees/market-making/fee`: what moving this pair's assets costs, and our fee.

    deposit_to_exchange: custody's withdrawal fee to the venue (what the payment must cover);
    withdraw_to_mixin: the venue's withdrawal fee back to custody (charged on exit);
    withdraw_external: custody's withdrawal fee to an outside address.
    """
    query = MarketMakingPair.objects.select_related("exchange").filter(
        exchange__exchange_id=exchange_id, enable=True
    )
    found = query.filter(symbol=pair).first()
    if found is None:
        try:
            found = query.filter(pk=UUID(pair)).first()
        except ValueError:
            found = None
    if found is None:
        raise OrderNotFound(f"Pair {pair} not found on {exchange_id}.")
    base_id, quote_id = str(found.base_asset_id), str(found.quote_asset_id)
    if direction == "withdraw_to_mixin":
        fees = {}
        for asset in (base_id, quote_id):
            net = AssetNetwork.objects.filter(asset_id=asset, exchange=found.exchange).first()
            fees[asset] = (asset, Decimal(net.withdraw_fee) if net else Decimal(0))
    else:
        custody = custody_gateway()
        fees = {}
        for asset in (base_id, quote_id):
            quote = custody.withdrawal_fee(asset_id=asset, destination="")
            fees[asset] = (quote.asset_id, quote.amount)
    base_fee_id, base_fee = fees[base_id]
    quote_fee_id, quote_fee = fees[quote_id]
    base_symbol, base_price = _asset_row(base_id)
    quote_symbol, quote_price = _asset_row(quote_id)
    base_fee_symbol, base_fee_price = _asset_row(base_fee_id)
    quote_fee_symbol, quote_fee_price = _asset_row(quote_fee_id)
    return {
        "base_asset_id": base_id,
        "quote_asset_id": quote_id,
        "base_fee_id": base_fee_id,
        "quote_fee_id": quote_fee_id,
        "base_fee_amount": money(base_fee),
        "quote_fee_amount": money(quote_fee),
        "base_fee_symbol": base_fee_symbol,
        "quote_fee_symbol": quote_fee_symbol,
        "base_fee_price_usd": money(base_fee_price),
        "quote_fee_price_usd": money(quote_fee_price),
        "base_asset_price_usd": money(base_price),
        "quote_asset_price_usd": money(quote_price),
        "market_making_fee_percentage": money(fee_percentage(found)),
        "direction": direction,
    }
