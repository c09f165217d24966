"""`manage.py replay`: 0 differences on a clean run; a corrupted balance, state, fill or
tracked order is reported by field, and the command exits 1."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from ledger import codes
from ledger.models import Account
from orders.models import MarketMakingOrder, OrderEvent
from reports.replay import orders_to_replay, replay_order
from strategy.models import Fill, TrackedOrder
from tests.support.replay import replay_json

pytestmark = pytest.mark.django_db


def test_a_clean_run_replays_with_no_difference(
    paper_run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run = paper_run(until_traded=True)
    assert Fill.objects.filter(order=run.order).exists()
    code, out = replay_json(capsys)
    assert (code, out["checked"], out["differences"]) == (0, 1, [])


def test_a_corrupted_balance_is_reported(
    paper_run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run = paper_run(ticks=6, until_traded=True)
    account = Account.objects.get(
        code=codes.order_account(run.order.pk), asset=str(run.market.pair.quote_asset_id)
    )
    Account.objects.filter(pk=account.pk).update(credits_posted=account.credits_posted + 1)
    code, out = replay_json(capsys, "--order", str(run.order.pk))
    assert code == 1
    assert [d["field"] for d in out["differences"]] == [
        f"balance[{run.market.pair.quote_asset_id}].credits_posted"
    ]
    assert (
        Decimal(out["differences"][0]["actual"]) - Decimal(out["differences"][0]["expected"]) == 1
    )


def test_a_corrupted_state_is_reported(paper_run: Any) -> None:
    run = paper_run(ticks=2)
    MarketMakingOrder.objects.filter(pk=run.order.pk).update(state="paused")
    diffs = replay_order(run.order.pk)
    assert [(d.field, d.expected, d.actual) for d in diffs] == [("state", "running", "paused")]


def test_a_broken_event_chain_and_an_illegal_edge_are_reported(paper_run: Any) -> None:
    run = paper_run(ticks=2)
    OrderEvent.objects.create(
        order=run.order, from_state="paused", to_state="exit_complete", trigger="test.forged"
    )
    MarketMakingOrder.objects.filter(pk=run.order.pk).update(state="exit_complete")
    fields = [d.field for d in replay_order(run.order.pk)]
    assert len(fields) == 2
    assert fields[0].endswith(".from_state") and fields[1].startswith("event[")


def test_a_corrupted_fill_is_reported(paper_run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run = paper_run(ticks=6, until_traded=True)
    fill = Fill.objects.filter(order=run.order).exclude(ledger_key="").first()
    assert fill is not None
    Fill.objects.filter(pk=fill.pk).update(amount=fill.amount + Decimal("0.001"))
    code, out = replay_json(capsys, "--order", str(run.order.pk))
    assert code == 1
    fields = {d["field"] for d in out["differences"]}
    assert (
        f"fill[{fill.exchange_id}:{fill.trade_id}].ledger[{run.market.pair.base_asset_id}]"
        in fields
    )
    # the tracked order's `filled` no longer matches its fills either
    tracked = TrackedOrder.objects.get(pk=fill.tracked_order_id)
    assert f"tracked[{tracked.client_order_id}].filled" in fields


def test_since_selects_only_orders_touched_after_it(paper_run: Any) -> None:
    run = paper_run(ticks=1)
    assert orders_to_replay(since=run.order.updated_at) == [run.order.pk]
    later = run.order.updated_at.replace(year=run.order.updated_at.year + 1)
    assert orders_to_replay(since=later) == []


def test_bad_arguments_are_clear_errors() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("replay", "--since", "yesterday")
    with pytest.raises(CommandError, match="--decisions needs --order"):
        call_command("replay", "--decisions")
