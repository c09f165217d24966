"""The facts a report is computed from, read from the append-only records.

Everything here is JSON-ready (decimals as strings, times as UTC ISO 8601) so the same dict
goes into a bundle, gets hashed, and can be recomputed into the same report by anyone who
holds the bundle (`reports.report.report_from_facts`). Facts are only appended in our
system: fills, ledger entries and their postings, order events, our orders' rest intervals
on the venue, and the mark samples the runtime recorded when it decided.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q

from ledger import codes
from ledger.models import Posting
from mrmarket.exceptions import ValidationFailed
from orders.enums import OrderState
from orders.models import MarketMakingOrder, OrderEvent
from reports.canonical import iso
from strategy.models import DecisionRecord, Fill, StrategySession, TrackedOrder
from strategy.params import PureMarketMakingParams

FACTS_VERSION = 1


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _quoting_params(params: dict[str, Any]) -> dict[str, str]:
    """The band the quoting figures judge by, in fractions and seconds, read through the
    strategy's own parser: parameters may come under Hummingbot's names, in percent and
    seconds, or Mr.Market's, in fractions and milliseconds. A session that is not pure market
    making (arbitrage) has no band: zero spreads, the default refresh."""
    try:
        pmm = PureMarketMakingParams.from_dto(params)
    except ValidationFailed:
        return {"bidSpread": "0", "askSpread": "0", "refreshTolerance": "0", "refreshSeconds": "10"}
    return {
        "bidSpread": str(pmm.bid_spread),
        "askSpread": str(pmm.ask_spread),
        "refreshTolerance": str(pmm.order_refresh_tolerance_pct),
        "refreshSeconds": str(Decimal(pmm.order_refresh_time_ms) / 1000),
    }


def trading_started_at(order: MarketMakingOrder) -> datetime:
    """When the order first ran: the report's default start (before it, nothing traded).
    An order with no `running` event (made by hand) starts at its first fill."""
    first = (
        OrderEvent.objects.filter(order=order, to_state=OrderState.RUNNING)
        .order_by("id")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None:
        first = (
            Fill.objects.filter(order=order)
            .order_by("executed_at")
            .values_list("executed_at", flat=True)
            .first()
        )
    return first or order.created_at


def order_facts(
    *, order_id: uuid.UUID | str, start: datetime | None, end: datetime
) -> dict[str, Any]:
    order = MarketMakingOrder.objects.select_related("pair").get(pk=order_id)
    start = start or trading_started_at(order)
    session = StrategySession.objects.filter(order=order).first()
    params: dict[str, Any] = dict(session.params if session else order.strategy_params or {})
    pair = order.pair
    return {
        "version": FACTS_VERSION,
        "order": {
            "id": str(order.pk),
            "exchange": pair.exchange_id,
            "symbol": pair.symbol,
            "baseSymbol": pair.base_symbol,
            "quoteSymbol": pair.quote_symbol,
            "baseAssetId": str(pair.base_asset_id),
            "quoteAssetId": str(pair.quote_asset_id),
            **_quoting_params(params),
        },
        "window": {"from": iso(start), "to": iso(end)},
        "ledgerEntries": _ledger_entries(order, end),
        "fills": _fills(order, start, end),
        "orderEvents": _events(order, end),
        "quotes": _quotes(session, start, end) if session else [],
        "marks": _marks(session, start, end) if session else [],
    }


def _ledger_entries(order: MarketMakingOrder, end: datetime) -> list[dict[str, Any]]:
    """Every entry touching the order's accounts up to `end`, with the order-side postings."""
    rows = (
        Posting.objects.filter(
            account__code=codes.order_account(order.pk), entry__created_at__lt=end
        )
        .order_by("entry_id", "id")
        .values_list(
            "entry_id",
            "entry__idempotency_key",
            "entry__kind",
            "entry__status",
            "entry__reference",
            "entry__created_at",
            "account__asset",
            "debit",
            "credit",
        )
    )
    entries: dict[int, dict[str, Any]] = {}
    for entry_id, key, kind, status, ref, created, asset, dr, cr in rows:
        entry = entries.setdefault(
            entry_id,
            {
                "key": key,
                "kind": kind,
                "status": status,
                "reference": ref,
                "createdAt": iso(created),
                "postings": [],
            },
        )
        entry["postings"].append({"asset": asset, "debit": _s(dr), "credit": _s(cr)})
    return list(entries.values())


def _fills(order: MarketMakingOrder, start: datetime, end: datetime) -> list[dict[str, Any]]:
    fills = (
        Fill.objects.filter(order=order, executed_at__gte=start, executed_at__lt=end)
        .select_related("tracked_order")
        .order_by("executed_at", "id")
    )
    return [
        {
            "exchange": f.exchange_id,
            "tradeId": f.trade_id,
            "clientOrderId": f.tracked_order.client_order_id,
            "side": f.side,
            "price": _s(f.price),
            "amount": _s(f.amount),
            "quoteAmount": _s(f.quote_amount),
            "fee": _s(f.fee),
            "feeAssetId": f.fee_asset_id,
            "feeCurrency": f.fee_currency,
            "takerOrMaker": f.taker_or_maker,
            "executedAt": iso(f.executed_at),
            "ledgerKey": f.ledger_key,
        }
        for f in fills
    ]


def _events(order: MarketMakingOrder, end: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": e.pk,
            "from": e.from_state,
            "to": e.to_state,
            "trigger": e.trigger,
            "at": iso(e.created_at),
        }
        for e in OrderEvent.objects.filter(order=order, created_at__lt=end).order_by("id")
    ]


def _quotes(session: StrategySession, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = TrackedOrder.objects.filter(session=session, created_at__lt=end).filter(
        Q(closed_at__isnull=True) | Q(closed_at__gt=start)
    )
    return [
        {
            "clientOrderId": t.client_order_id,
            "side": t.side,
            "price": _s(t.price),
            "amount": _s(t.amount),
            "start": iso(t.created_at),
            "end": iso(t.closed_at),
        }
        for t in rows.order_by("created_at", "id")
    ]


def _marks(session: StrategySession, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The mid of each decision's book; one before the window so its first moments count."""
    qs = DecisionRecord.objects.filter(session=session)
    before = qs.filter(run_at__lt=start).order_by("-run_at").values_list("run_at", "mid").first()
    inside = qs.filter(run_at__gte=start, run_at__lt=end).order_by("run_at")
    rows = ([before] if before else []) + list(inside.values_list("run_at", "mid"))
    return [{"at": iso(at), "mid": _s(mid)} for at, mid in rows if mid is not None]
