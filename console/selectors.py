"""What the cockpit shows: the operations overview and one order's whole picture. Reads
only; every figure comes from the rows the services keep (no venue calls)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from console.formatting import age, amount, asset_symbol, utc
from console.precision import steps_attach
from mrmarket.enums import AuditOutcome
from mrmarket.health import system_status
from mrmarket.models import AuditEvent
from orders.enums import IN_FLIGHT_TRANSFER_STATUSES, OrderState
from orders.models import CustodyTransfer, MarketMakingOrder, OrderEvent, ReconciliationRun
from orders.selectors import order_balances
from reports.facts import order_facts
from reports.performance import Trade, performance
from reports.series import series_from_facts
from strategy.enums import KillScope, SessionState, TrackedStatus
from strategy.models import (
    DecisionRecord,
    Fill,
    KillSwitch,
    OrderIntent,
    StrategySession,
    TrackedOrder,
)

ZERO = Decimal(0)
ACTIVE_ORDER_STATES = [OrderState.RUNNING, OrderState.PAUSED, OrderState.CREATED]


def order_url(order_id: uuid.UUID | str) -> str:
    return reverse("console-order", args=[str(order_id)])


def _halts_for(session: StrategySession, halts: list[KillSwitch]) -> list[KillSwitch]:
    out = []
    for h in halts:
        if (
            h.scope == KillScope.GLOBAL
            or (
                h.scope == KillScope.VENUE and h.key in (session.exchange_id, session.exchange_b_id)
            )
            or (h.scope == KillScope.PAIR and h.key == session.symbol)
            or (h.scope == KillScope.SESSION and h.key == str(session.pk))
        ):
            out.append(h)
    return out


def not_quoting_reason(
    session: StrategySession, open_sides: set[str], halts: list[KillSwitch]
) -> str | None:
    """Why a session of an active order is not quoting both sides (None: it is)."""
    mine = _halts_for(session, halts)
    if mine:
        h = mine[0]
        return f"halted ({h.scope} {h.key or '*'}): {h.reason}"
    if session.state != SessionState.RUNNING:
        return f"session {session.state}" + (
            f": {session.stop_reason}" if session.stop_reason else ""
        )
    if session.last_error:
        return f"error: {session.last_error}"
    if open_sides >= {"buy", "sell"}:
        return None
    if not open_sides:
        return "no open orders on the venue"
    missing = {"buy", "sell"} - open_sides
    return f"only one side quoted (no {'bid' if 'buy' in missing else 'ask'})"


def _tick_card(tick: dict[str, Any] | None) -> dict[str, Any] | None:
    """The strategy tick as the overview shows it: running, and whether it keeps up (runs
    in flight against the backpressure cap, how late the most overdue session waits
    against the shedding cap, runs shed in the last minute)."""
    if not tick:
        return None
    saturation = tick.get("saturation") or {}
    return {
        "running": bool(tick.get("running")),
        "lastTickAt": tick.get("lastTickAt"),
        "tickMs": tick.get("tickSizeMs"),
        "saturated": bool(saturation.get("saturated")),
        "inFlight": saturation.get("inFlight", 0),
        "maxInFlight": settings.STRATEGY_TICK_MAX_IN_FLIGHT,
        "oldestWaitMs": saturation.get("oldestWaitMs", 0),
        "maxLatenessMs": saturation.get("maxLatenessMs", settings.STRATEGY_MAX_LATENESS_MS),
        "shedLastMinute": saturation.get("shedLastMinute", 0),
    }


def overview_data(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    status = system_status()
    halts = list(KillSwitch.objects.filter(active=True).select_related("actor"))
    by_state = dict(
        MarketMakingOrder.objects.values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    sessions = list(
        StrategySession.objects.filter(
            Q(order__state__in=ACTIVE_ORDER_STATES)
            | Q(order__isnull=True, state=SessionState.RUNNING)
        ).select_related("order")
    )
    sides: dict[int, set[str]] = defaultdict(set)
    for sid, side in TrackedOrder.objects.filter(
        session__in=sessions, status=TrackedStatus.OPEN
    ).values_list("session_id", "side"):
        sides[sid].add(side)
    counts = {"quoting": 0, "idle": 0, "erroring": 0, "halted": 0, "paused": 0}
    attention: list[dict[str, Any]] = []
    for s in sessions:
        reason = not_quoting_reason(s, sides[s.pk], halts)
        if reason is None:
            counts["quoting"] += 1
            continue
        key = (
            "halted"
            if reason.startswith("halted")
            else "erroring"
            if reason.startswith("error")
            else "paused"
            if s.state != SessionState.RUNNING
            else "idle"
        )
        counts[key] += 1
        attention.append(
            {
                "session": s.pk,
                "orderId": str(s.order_id) if s.order_id else None,
                "url": order_url(s.order_id) if s.order_id else None,
                "label": f"{s.symbol} on {s.exchange_id}",
                "reason": reason,
                "since": utc(s.last_run_at),
            }
        )
    transfers = [
        {
            "id": t.pk,
            "purpose": t.purpose,
            "status": t.status,
            "asset": asset_symbol(t.asset_id),
            "amount": amount(t.amount),
            "age": age(t.created_at, now),
            "attempts": t.attempts,
            "lastError": t.last_error[:160],
            "url": order_url(t.order_id) if t.order_id else None,
        }
        for t in CustodyTransfer.objects.filter(status__in=IN_FLIGHT_TRANSFER_STATUSES).order_by(
            "created_at"
        )[:50]
    ]
    recon = ReconciliationRun.objects.order_by("-id").first()
    return {
        "now": utc(now),
        "health": {"ok": status["ok"], "issues": status.get("issues", [])},
        "tick": _tick_card(status.get("tick")),
        "halts": [
            {
                "scope": h.scope,
                "key": h.key or "*",
                "reason": h.reason,
                "by": str(h.actor) if h.actor else "",
                "since": utc(h.changed_at),
            }
            for h in halts
        ],
        "ordersByState": [{"state": k, "count": by_state[k]} for k in sorted(by_state)],
        "sessions": counts,
        "attention": attention[:50],
        "transfers": transfers,
        "reconciliation": None
        if recon is None
        else {
            "ok": recon.ok,
            "at": utc(recon.created_at),
            "drifts": len(recon.drifts),
            "errors": len(recon.errors),
        },
        "today": today_by_market(now=now),
        "errors": [
            {
                "at": utc(e.created_at),
                "action": e.action,
                "target": f"{e.target_type} {e.target_id}",
                "reason": e.reason[:160],
            }
            for e in AuditEvent.objects.exclude(outcome=AuditOutcome.OK).order_by("-id")[:10]
        ],
    }


def today_by_market(*, now: datetime) -> list[dict[str, Any]]:
    """Today's (UTC) trades, volume and PnL per venue and pair, Hummingbot's trade PnL less
    fees, marked at each market's last trade of the day."""
    midnight = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)
    fills: dict[tuple[str, str], list[Fill]] = defaultdict(list)
    for f in (
        Fill.objects.filter(executed_at__gte=midnight)
        .select_related("session")
        .order_by("executed_at", "id")
    ):
        fills[(f.exchange_id, f.symbol)].append(f)
    rows = []
    for (venue, symbol), items in sorted(fills.items()):
        base, quote = items[0].session.base_asset_id, items[0].session.quote_asset_id
        p = performance(
            base=base,
            quote=quote,
            trades=[Trade(f.side, f.price, f.amount, f.fee, f.fee_asset_id) for f in items],
            start_balances={},
            cur_price=None,
        )
        rows.append(
            {
                "venue": venue,
                "pair": symbol,
                "trades": p.num_trades,
                "volume": amount(sum((f.quote_amount for f in items), ZERO), 2),
                "pnl": amount(p.total_pnl, 4),
                "feesUnpriced": p.fees_unpriced,
            }
        )
    return rows


def order_cockpit(*, order: MarketMakingOrder, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    session = StrategySession.objects.filter(order=order).first()
    halts = list(KillSwitch.objects.filter(active=True))
    data: dict[str, Any] = {
        "events": list(OrderEvent.objects.filter(order=order).order_by("-id")[:50]),
        "balances": [
            {"asset": asset_symbol(a), "amount": amount(v)}
            for a, v in order_balances(order).items()
        ],
        "transfers": list(CustodyTransfer.objects.filter(order=order).order_by("-id")[:20]),
        "session": session,
        "reason": None,
        "open_orders": [],
        "fills": [],
        "intents": [],
        "last_decision": None,
        "series": None,
    }
    if session is None:
        data["reason"] = f"no strategy session (order is {order.state})"
        return data
    open_orders = list(
        TrackedOrder.objects.filter(session=session, status=TrackedStatus.OPEN).order_by(
            "side", "price"
        )
    )
    data["open_orders"] = open_orders
    data["reason"] = not_quoting_reason(session, {o.side for o in open_orders}, halts)
    data["fills"] = list(Fill.objects.filter(session=session).order_by("-executed_at", "-id")[:20])
    data["intents"] = list(OrderIntent.objects.filter(session=session).order_by("-id")[:20])
    data["last_decision"] = (
        DecisionRecord.objects.filter(session=session).order_by("-run_at").first()
    )
    # Prices and amounts to each market's steps (an arbitrage session spans two venues):
    # one lookup for the page.
    steps_attach([session, *open_orders, *data["fills"], *data["intents"]])
    facts = order_facts(
        order_id=order.pk, start=max(now - timedelta(days=1), order.created_at), end=now
    )
    data["series"] = series_from_facts(facts)
    return data
