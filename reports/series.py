"""Time series for the proof page and the console's order charts, from the same facts as the
report (`reports.facts`): inventory after each fill, PnL against holding at each mark, and
the spread we quoted at each mark. Values are decimal strings; times are epoch seconds (what
the chart library plots)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from reports.report import _at, _d, _t, start_balances

ZERO = Decimal(0)


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def series_from_facts(facts: dict[str, Any]) -> dict[str, list[list[Any]]]:
    order = facts["order"]
    base, quote = order["baseAssetId"], order["quoteAssetId"]
    start = _at(facts["window"]["from"])
    balances = start_balances(facts, start)
    b0, q0 = balances.get(base, ZERO), balances.get(quote, ZERO)
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    for f in facts["fills"]:
        events.append((_at(f["executedAt"]), 0, f))
    for m in facts["marks"]:
        events.append((_at(m["at"]), 1, m))
    events.sort(key=lambda e: (e[0], e[1]))

    b, q = b0, q0
    mid: Decimal | None = None
    inventory: list[list[Any]] = [[_epoch(start), str(b), str(q)]]
    pnl: list[list[Any]] = []
    spread: list[list[Any]] = []
    prices: list[list[Any]] = []
    fills: list[list[Any]] = []
    quotes = facts["quotes"]
    for at, kind, row in events:
        if kind == 0:
            sign = Decimal(1) if row["side"] == "buy" else Decimal(-1)
            b += sign * _d(row["amount"])
            q -= sign * _d(row["quoteAmount"])
            if row["feeAssetId"] == base:
                b -= _d(row["fee"])
            elif row["feeAssetId"] == quote:
                q -= _d(row["fee"])
            inventory.append([_epoch(at), str(b), str(q)])
            fills.append([_epoch(at), row["side"], row["price"], row["amount"]])
            continue
        mid = _d(row["mid"])
        if mid <= 0 or at < start:
            continue
        pnl.append([_epoch(at), str((b - b0) * mid + (q - q0))])
        bids = [_d(x["price"]) for x in quotes if x["side"] == "buy" and _rests(x, at)]
        asks = [_d(x["price"]) for x in quotes if x["side"] == "sell" and _rests(x, at)]
        best_bid, best_ask = (max(bids) if bids else None), (min(asks) if asks else None)
        prices.append([_epoch(at), str(mid), _s(best_bid), _s(best_ask)])
        if best_bid is not None and best_ask is not None:
            spread.append([_epoch(at), str((best_ask - best_bid) / mid)])
    return {"inventory": inventory, "pnl": pnl, "spread": spread, "prices": prices, "fills": fills}


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _rests(quote: dict[str, Any], at: datetime) -> bool:
    start, end = _at(quote["start"]), _t(quote["end"])
    return start <= at and (end is None or at < end)
