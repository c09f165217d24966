"""Report bundles: computed from facts alone, hashed canonically, verifiable, tamper-evident;
and the report of a paper-venue run checked against a hand computation."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from reports.bundle import bundle_build, bundle_verify
from reports.canonical import canonical_bytes, content_hash
from strategy.models import DecisionRecord, Fill

pytestmark = pytest.mark.django_db


def test_canonical_form_sorts_keys_and_refuses_floats() -> None:
    assert canonical_bytes({"b": Decimal("1.50"), "a": [1, None]}) == b'{"a":[1,null],"b":"1.5"}'
    with pytest.raises(TypeError):
        canonical_bytes({"x": 0.1})


def test_paper_run_report_matches_a_hand_computation(paper_run: Any) -> None:
    # given: an order that traded on the paper venue
    run = paper_run(until_traded=True)
    end = timezone.now() + timedelta(hours=1)
    fills = list(Fill.objects.filter(order=run.order).order_by("executed_at", "id"))
    assert {f.side for f in fills} == {"buy", "sell"}, "the run must trade both sides"

    # when
    bundle = bundle_build(order_id=run.order.pk, start=None, end=end)
    perf = bundle["report"]["performance"]

    # then: by hand, from the fill rows (start balances are the funding: 10 BTC, 1000 USDT)
    base_id, quote_id = str(run.market.pair.base_asset_id), str(run.market.pair.quote_asset_id)
    base, quote, fees_quote, fees_base = Decimal(10), Decimal(1000), Decimal(0), Decimal(0)
    for f in fills:
        sign = 1 if f.side == "buy" else -1
        base += sign * f.amount
        quote -= sign * f.quote_amount
        if f.fee_asset_id == base_id:
            base -= f.fee
            fees_base += f.fee
        elif f.fee_asset_id == quote_id:
            quote -= f.fee
            fees_quote += f.fee
    # the mark: the mid of the last decision recorded before the window's end
    last = DecisionRecord.objects.filter(session__order=run.order).order_by("-run_at").first()
    assert last is not None and last.mid is not None
    price = last.mid
    fees_quote += fees_base * price
    hold = Decimal(10) * price + Decimal(1000)
    total = base * price + quote - hold
    assert Decimal(perf["startBase"]) == 10 and Decimal(perf["startQuote"]) == 1000
    assert Decimal(perf["curBase"]) == base and Decimal(perf["curQuote"]) == quote
    assert Decimal(perf["totalPnl"]) == total
    assert Decimal(perf["feeInQuote"]) == fees_quote
    assert Decimal(perf["tradePnl"]) == total + fees_quote
    assert perf["numTrades"] == len(fills)
    assert bundle["report"]["totals"]["trades"] == len(fills)
    assert bundle_verify(bundle) == []


def test_a_changed_fact_figure_or_hash_is_caught(paper_run: Any) -> None:
    run = paper_run(ticks=10, until_traded=True)
    bundle = bundle_build(
        order_id=run.order.pk, start=None, end=timezone.now() + timedelta(hours=1)
    )
    assert bundle_verify(bundle) == []

    fact = copy.deepcopy(bundle)
    fact["facts"]["fills"][0]["price"] = str(Decimal(fact["facts"]["fills"][0]["price"]) + 1)
    problems = bundle_verify(fact)
    assert any("report.performance" in p for p in problems)
    assert any("hash" in p for p in problems)

    figure = copy.deepcopy(bundle)
    figure["report"]["totals"]["trades"] += 1
    assert any("report.totals" in p for p in bundle_verify(figure))

    hashed = copy.deepcopy(bundle)
    hashed["hash"] = "0" * 64
    assert bundle_verify(hashed) == [f"hash {'0' * 64} != recomputed {bundle['hash']}"]


def test_the_same_facts_give_the_same_hash(paper_run: Any) -> None:
    run = paper_run(ticks=6, until_traded=True)
    end = timezone.now() + timedelta(hours=1)
    first = bundle_build(order_id=run.order.pk, start=None, end=end)
    second = bundle_build(order_id=run.order.pk, start=None, end=end)
    assert first["hash"] == second["hash"]
    assert first["hash"] == content_hash({"facts": first["facts"], "report": first["report"]})


def test_report_command_writes_and_verifies_a_bundle(paper_run: Any, tmp_path: Path) -> None:
    run = paper_run(ticks=6, until_traded=True)
    out = tmp_path / "bundle.json"
    end = (timezone.now() + timedelta(hours=1)).isoformat()
    call_command("report", str(run.order.pk), "--to", end, "--out", str(out))
    bundle = json.loads(out.read_text())
    assert bundle["report"]["orderId"] == str(run.order.pk)
    call_command("report", "--verify", str(out))  # exits 0

    bundle["facts"]["fills"][0]["amount"] = "999"
    out.write_text(json.dumps(bundle))
    with pytest.raises(SystemExit) as exit_info:
        call_command("report", "--verify", str(out))
    assert exit_info.value.code == 1
