"""ccxt's unified structures -> the gateway's `Decimal` types. Nothing is defaulted that the
venue did not say: an order answer missing its side, price, amount, status or time is
`incomplete` and the caller completes it by looking the order up."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from exchanges.venues.base import (
    Balance,
    OrderSide,
    OrderStatus,
    TransferStatus,
    VenueOrder,
    VenueTrade,
    VenueTransfer,
)

REQUIRED_ORDER_FIELDS = ("id", "side", "price", "amount", "status", "timestamp")


def dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def dec0(value: Any) -> Decimal:
    return dec(value) or Decimal(0)


def ts(ms: Any) -> datetime:
    return datetime.fromtimestamp((int(ms) if ms else 0) / 1000, tz=UTC)


def incomplete(raw: Mapping[str, Any]) -> list[str]:
    """The order fields a (partial) answer lacks."""
    return [f for f in REQUIRED_ORDER_FIELDS if raw.get(f) in (None, "")]


def order(raw: Mapping[str, Any], fallback_symbol: str) -> VenueOrder:
    """A complete ccxt order (see `incomplete`)."""
    amount = dec0(raw["amount"])
    filled = dec0(raw.get("filled"))
    remaining = dec(raw.get("remaining"))
    status = str(raw["status"])
    return VenueOrder(
        id=str(raw["id"]),
        client_order_id=raw.get("clientOrderId") or None,
        symbol=raw.get("symbol") or fallback_symbol,
        side=OrderSide(raw["side"]),
        price=dec0(raw["price"]),
        amount=amount,
        filled=filled,
        remaining=remaining if remaining is not None else amount - filled,
        status=OrderStatus(status)
        if status in OrderStatus._value2member_map_
        else OrderStatus.OPEN,
        created_at=ts(raw["timestamp"]),
        average=dec(raw.get("average")),
        post_only=bool(raw.get("postOnly")),
    )


def trade(r: Mapping[str, Any], symbol: str) -> VenueTrade:
    fee = r.get("fee") or {}
    # A maker rebate is a negative fee: kept as the venue reports it, sign included.
    return VenueTrade(
        id=str(r["id"]),
        order_id=str(r.get("order")),
        client_order_id=r.get("clientOrderId") or None,
        symbol=r.get("symbol") or symbol,
        side=OrderSide(r["side"]),
        price=dec0(r.get("price")),
        amount=dec0(r.get("amount")),
        fee_cost=dec0(fee.get("cost")),
        fee_currency=fee.get("currency") or "",
        taker_or_maker=r.get("takerOrMaker") or "taker",
        timestamp=ts(r.get("timestamp")),
    )


def balances(raw: Mapping[str, Any]) -> dict[str, Balance]:
    out = {}
    for asset in (raw.get("total") or {}).keys():
        entry = raw.get(asset) or {}
        free, used, total = (
            dec0(entry.get("free")),
            dec0(entry.get("used")),
            dec(entry.get("total")),
        )
        out[asset] = Balance(
            asset=asset, free=free, used=used, total=total if total is not None else free + used
        )
    return out


def transfer(r: Mapping[str, Any], client_id_field: str | None) -> VenueTransfer:
    status = r.get("status") or "pending"
    fee = r.get("fee") or {}
    info = r.get("info") or {}
    client_id = None
    if client_id_field and isinstance(info, Mapping):
        client_id = info.get(client_id_field) or None
    return VenueTransfer(
        id=str(r.get("id")),
        asset=r.get("currency") or "",
        amount=dec0(r.get("amount")),
        status=TransferStatus(status)
        if status in TransferStatus._value2member_map_
        else TransferStatus.PENDING,
        timestamp=ts(r.get("timestamp")),
        network=r.get("network"),
        address=r.get("address"),
        tag=r.get("tag") or None,
        txid=r.get("txid") or None,
        fee=dec0(fee.get("cost")),
        client_id=client_id,
    )
