"""The execution report, computed from a facts dict alone (`reports.facts`), so a bundle's
holder can recompute it and check the hash.

Sections:
- `totals` / `byDay`: trades and quote volume (CONTRACT.md's execution report).
- `performance`: Hummingbot's `history` metrics (`reports.performance`), start balances
  from the ledger at the window start, the mark at the window end (last recorded mid, else
  the last trade's price).
- `quoting`: uptime, quoted spread and depth within ±2 % of the mid, in total and by day
  (`reports.quoting`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.enums import EntryStatus
from mrmarket.money import money_str
from reports.performance import Trade, performance
from reports.quoting import Band, DayQuoting, Mark, Quote, quoting_by_day, weighted_percentile

ZERO = Decimal(0)
SAMPLE_FIELDS = ["tradeId", "side", "price", "qty", "quoteQty", "fee", "feeAsset", "executedAt"]


def _t(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _at(value: str) -> datetime:
    """A time every fact of that kind has (fills, marks, starts)."""
    return datetime.fromisoformat(value)


def _d(value: str | None) -> Decimal:
    return ZERO if value in (None, "") else Decimal(value)


def _m(value: Decimal | None) -> str | None:
    return money_str(value)


def _pct(value: Decimal | None) -> str | None:
    """Fractions as strings with 8 places (ratios have no exact decimal form)."""
    return None if value is None else money_str(value.quantize(Decimal("1e-8")))


def start_balances(facts: dict[str, Any], start: datetime) -> dict[str, Decimal]:
    """The order's posted balance per asset from the ledger entries created before `start`."""
    balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in facts["ledgerEntries"]:
        if entry["status"] != EntryStatus.POSTED or _at(entry["createdAt"]) >= start:
            continue
        for p in entry["postings"]:
            balances[p["asset"]] += _d(p["credit"]) - _d(p["debit"])
    return dict(balances)


def _volume_buckets(
    fills: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[date, dict[str, Any]]]:
    def bucket() -> dict[str, Any]:
        return {"trades": 0, "volume": ZERO, "buyVolume": ZERO, "sellVolume": ZERO}

    totals = bucket()
    days: dict[date, dict[str, Any]] = defaultdict(bucket)
    for fill in fills:
        day = _at(fill["executedAt"]).date()
        for agg in (totals, days[day]):
            agg["trades"] += 1
            agg["volume"] += _d(fill["quoteAmount"])
            agg["buyVolume" if fill["side"] == "buy" else "sellVolume"] += _d(fill["quoteAmount"])
    return totals, days


def _render(agg: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if k == "trades" else money_str(v)) for k, v in agg.items()}


def _quoting_payload(days: list[DayQuoting]) -> dict[str, Any]:
    observed = sum((d.observed_seconds for d in days), ZERO)
    quoted = sum((d.quoted_seconds for d in days), ZERO)
    spread_seconds = sum((d.spread_seconds for d in days), ZERO)
    spread_weighted = sum((d.spread_weighted for d in days), ZERO)
    spreads = [s for d in days for s in d.spreads]
    bid = sum((d.bid_depth_weighted for d in days), ZERO)
    ask = sum((d.ask_depth_weighted for d in days), ZERO)
    return {
        "observedSeconds": _m(observed),
        "uptime": _pct(quoted / observed) if observed else None,
        "spreadAvg": _pct(spread_weighted / spread_seconds) if spread_seconds else None,
        "spreadP95": _pct(weighted_percentile(spreads, Decimal("0.95"))),
        "bidDepth": _m(bid / observed) if observed else None,
        "askDepth": _m(ask / observed) if observed else None,
    }


def _day_quoting(day: DayQuoting) -> dict[str, Any]:
    return {
        "date": day.day.isoformat(),
        "observedSeconds": _m(day.observed_seconds),
        "uptime": _pct(day.uptime),
        "spreadAvg": _pct(day.spread_avg),
        "spreadP95": _pct(day.spread_p95),
        "bidDepth": _m(day.bid_depth),
        "askDepth": _m(day.ask_depth),
    }


def report_from_facts(facts: dict[str, Any]) -> dict[str, Any]:
    order = facts["order"]
    start, end = _at(facts["window"]["from"]), _at(facts["window"]["to"])
    fills = facts["fills"]
    base, quote = order["baseAssetId"], order["quoteAssetId"]

    marks = [Mark(_at(m["at"]), _d(m["mid"])) for m in facts["marks"]]
    cur_mark = max((m for m in marks if m.at <= end), key=lambda m: m.at, default=None)
    perf = performance(
        base=base,
        quote=quote,
        trades=[
            Trade(f["side"], _d(f["price"]), _d(f["amount"]), _d(f["fee"]), f["feeAssetId"])
            for f in fills
        ],
        start_balances=start_balances(facts, start),
        cur_price=cur_mark.mid if cur_mark else None,
    )

    fills_by_order: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for f in fills:
        fills_by_order[f["clientOrderId"]].append((_at(f["executedAt"]), _d(f["amount"])))
    quotes = [
        Quote(
            q["side"],
            _d(q["price"]),
            _d(q["amount"]),
            _at(q["start"]),
            _t(q["end"]),
            tuple(fills_by_order.get(q["clientOrderId"], ())),
        )
        for q in facts["quotes"]
    ]
    refresh = max(_d(order["refreshSeconds"]), Decimal(1))
    days = quoting_by_day(
        quotes=quotes,
        marks=marks,
        band=Band(_d(order["bidSpread"]), _d(order["askSpread"]), _d(order["refreshTolerance"])),
        start=start,
        end=end,
        # A decision is due every refresh; three missed in a row is a gap we did not see.
        max_gap=timedelta(seconds=float(refresh * 3)),
    )
    day_quoting = {d.day: _day_quoting(d) for d in days}

    totals, by_day = _volume_buckets(fills)
    all_days = sorted(set(by_day) | set(day_quoting))
    sample = [
        {
            "tradeId": f["tradeId"],
            "side": f["side"],
            "price": money_str(_d(f["price"])),
            "qty": money_str(_d(f["amount"])),
            "quoteQty": money_str(_d(f["quoteAmount"])),
            "fee": money_str(_d(f["fee"])),
            "feeAsset": f["feeCurrency"],
            "executedAt": f["executedAt"],
        }
        for f in fills[-20:]
    ]
    return {
        "orderId": order["id"],
        "from": facts["window"]["from"],
        "to": facts["window"]["to"],
        "pair": order["symbol"],
        "totals": _render(totals),
        "byDay": [
            {
                "date": d.isoformat(),
                **_render(
                    by_day[d]
                    if d in by_day
                    else {"trades": 0, "volume": ZERO, "buyVolume": ZERO, "sellVolume": ZERO}
                ),
                "quoting": day_quoting.get(d),
            }
            for d in all_days
        ],
        "performance": _performance_payload(perf, order),
        "quoting": _quoting_payload(days),
        "facts": {"source": "strategy_fill", "fields": SAMPLE_FIELDS, "sample": sample},
    }


def _performance_payload(p: Any, order: dict[str, Any]) -> dict[str, Any]:
    symbols = {
        order["baseAssetId"]: order["baseSymbol"],
        order["quoteAssetId"]: order["quoteSymbol"],
    }
    return {
        "numBuys": p.num_buys,
        "numSells": p.num_sells,
        "numTrades": p.num_trades,
        "buyVolBase": _m(p.b_vol_base),
        "sellVolBase": _m(p.s_vol_base),
        "totVolBase": _m(p.tot_vol_base),
        "buyVolQuote": _m(p.b_vol_quote),
        "sellVolQuote": _m(p.s_vol_quote),
        "totVolQuote": _m(p.tot_vol_quote),
        "avgBuyPrice": _m(p.avg_b_price),
        "avgSellPrice": _m(p.avg_s_price),
        "avgPrice": _m(p.avg_tot_price),
        "startBase": _m(p.start_base_bal),
        "startQuote": _m(p.start_quote_bal),
        "curBase": _m(p.cur_base_bal),
        "curQuote": _m(p.cur_quote_bal),
        "startPrice": _m(p.start_price),
        "curPrice": _m(p.cur_price),
        "startBaseRatio": _pct(p.start_base_ratio_pct),
        "curBaseRatio": _pct(p.cur_base_ratio_pct),
        "holdValue": _m(p.hold_value),
        "curValue": _m(p.cur_value),
        "tradePnl": _m(p.trade_pnl),
        "feeInQuote": _m(p.fee_in_quote),
        "fees": [
            {"assetId": a, "symbol": symbols.get(a, a), "amount": _m(v)} for a, v in p.fees.items()
        ],
        "feesUnpriced": p.fees_unpriced,
        "totalPnl": _m(p.total_pnl),
        "returnPct": _pct(p.return_pct),
    }
