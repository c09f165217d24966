"""Reads for the order card: what an order is worth, what it made, what it aims at.

CONTRACT `MarketMakingOrder.amount`, `.profit`, `.target` (decimal strings in the quote
asset, `None` when unknown):

- `amount`: the order's ledger balances valued in quote, base at the reference price;
- `profit`: realized + unrealized PnL of the order's fills, in quote: what the sells
  brought in, less what the buys cost, less fees, plus the net base traded marked at the
  reference price. Deposits and withdrawals are not trades, so they are not PnL;
- `target`: the daily volume target (quote) of the campaign the order trades for, if any.

The reference price is the mid of the shared market-data cache (never a venue call from
an API read), else the asset registry's USD prices of base over quote.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import cast
from uuid import UUID

from django.db.models import Sum

from campaigns.enums import ParticipationStatus
from campaigns.models import Participation
from exchanges.models import MarketMakingPair
from orders.models import MarketMakingOrder
from strategy import marketdata, venues
from strategy.models import Fill

ZERO = Decimal(0)


@dataclass(frozen=True)
class FillTotals:
    """Per order: base bought/sold, quote spent/received, fees by asset."""

    bought: Decimal = ZERO
    sold: Decimal = ZERO
    spent: Decimal = ZERO
    received: Decimal = ZERO
    fees: tuple[tuple[str, Decimal], ...] = ()


def reference_price(pair: MarketMakingPair) -> Decimal | None:
    """Quote per base: the cached book's mid, else the registry's USD price ratio."""
    snap = marketdata.snapshot_get(
        exchange_id=pair.exchange.exchange_id,
        symbol=pair.symbol,
        tick=marketdata.tick_of(venues.now()),
    )
    if snap is not None:
        mid = marketdata.reference_mid(snap)
        if mid is not None and mid > 0:
            return mid
    # The pair's own USD reference prices, else the registry's (as `/grow/info` shows them).
    base_usd = pair.base_price if pair.base_price is not None else pair.base_asset.price_usd
    quote_usd = pair.target_price if pair.target_price is not None else pair.quote_asset.price_usd
    if base_usd and quote_usd and Decimal(quote_usd) > 0:
        return Decimal(base_usd) / Decimal(quote_usd)
    return None


def fill_totals(order_ids: Iterable[UUID | str]) -> dict[str, FillTotals]:
    """One grouped query for many orders (the order list)."""
    rows = (
        Fill.objects.filter(order_id__in=list(order_ids))
        .values("order_id", "side", "fee_asset_id")
        .annotate(amount=Sum("amount"), quote=Sum("quote_amount"), fee=Sum("fee"))
    )
    acc: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    fees: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rows:
        key = str(row["order_id"])
        if row["side"] == "buy":
            acc[key]["bought"] += row["amount"] or ZERO
            acc[key]["spent"] += row["quote"] or ZERO
        else:
            acc[key]["sold"] += row["amount"] or ZERO
            acc[key]["received"] += row["quote"] or ZERO
        if row["fee"]:
            fees[key][row["fee_asset_id"]] += row["fee"]
    return {
        key: FillTotals(
            bought=v["bought"],
            sold=v["sold"],
            spent=v["spent"],
            received=v["received"],
            fees=tuple(sorted(fees[key].items())),
        )
        for key, v in acc.items()
    }


def order_profit(
    *, pair: MarketMakingPair, totals: FillTotals | None, price: Decimal | None
) -> Decimal | None:
    if totals is None:
        return ZERO  # no trade yet: nothing made, nothing lost
    if price is None:
        return None
    base_id, quote_id = str(pair.base_asset_id), str(pair.quote_asset_id)
    pnl = totals.received - totals.spent + (totals.bought - totals.sold) * price
    for asset_id, fee in totals.fees:
        if asset_id == quote_id:
            pnl -= fee
        elif asset_id == base_id:
            pnl -= fee * price
        else:
            return None  # a fee in a third asset (a venue token) has no price here
    return pnl


def order_amount(
    *, pair: MarketMakingPair, balances: dict[str, Decimal], price: Decimal | None
) -> Decimal | None:
    base = balances.get(str(pair.base_asset_id), ZERO)
    quote = balances.get(str(pair.quote_asset_id), ZERO)
    if base == 0:
        return quote
    return None if price is None else base * price + quote


def order_targets(order_ids: Iterable[UUID | str]) -> dict[str, Decimal]:
    """The daily volume target of the campaign each order trades for (joined ones only)."""
    rows = Participation.objects.filter(
        order_id__in=list(order_ids),
        status=ParticipationStatus.JOINED,
        campaign__daily_volume_target__isnull=False,
    ).values_list("order_id", "campaign__daily_volume_target")
    out: dict[str, Decimal] = {}
    for order_id, target in rows:
        # Never None: the filter above keeps only campaigns with a target.
        out[str(order_id)] = out.get(str(order_id), ZERO) + cast(Decimal, target)
    return out


def order_cards(
    orders: list[MarketMakingOrder], balances: dict[str, dict[str, Decimal]]
) -> dict[str, dict[str, Decimal | None]]:
    """`{orderId: {amount, profit, target}}` for the given orders (balances per order)."""
    ids = [o.pk for o in orders]
    totals = fill_totals(ids)
    targets = order_targets(ids)
    prices: dict[object, Decimal | None] = {}
    out: dict[str, dict[str, Decimal | None]] = {}
    for order in orders:
        pair = order.pair
        if pair.pk not in prices:
            prices[pair.pk] = reference_price(pair)
        price = prices[pair.pk]
        key = str(order.pk)
        out[key] = {
            "amount": order_amount(pair=pair, balances=balances.get(key, {}), price=price),
            "profit": order_profit(pair=pair, totals=totals.get(key), price=price),
            "target": targets.get(key),
        }
    return out
