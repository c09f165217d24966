"""Fills and the filled-order delay on the paper venue (issue 15): a partial fill never
stops quoting; a complete fill of a non-hanging order holds back new quotes for
`filledOrderDelay`, as Hummingbot's `c_did_complete_buy_order` does."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exchanges.paper.models import PaperMarket
from orders.services.seams import order_terms
from strategy.enums import TrackedStatus
from strategy.models import StrategySession, TrackedOrder
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from strategy.tracking import venue_account_sync
from tests.strategy.runtime_support import (
    Market,
    claim,
    committed,
    drain,
    funded_order,
    paper_market,
    pmm_params,
    tick,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, print_at_5: str
) -> tuple[Market, StrategySession]:
    """A session quoting one bid at 99 and one ask at 101, on a paper market whose outside
    trades replay a file: price 100 and no volume, except 5 s after the start, where a print
    at 98.9 of `print_at_5` fills our bid as a maker (up to that amount)."""
    market = paper_market(monkeypatch)
    rows = [f"{i},100,0" for i in range(1000)]
    rows[5] = f"5,98.9,{print_at_5}"
    rows[6] = "6,100,0"
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join(rows) + "\n")
    PaperMarket.objects.filter(venue=market.venue, symbol=market.symbol).update(
        feed_kind=PaperMarket.FeedKind.CSV, feed_csv_path=str(feed)
    )
    params = pmm_params(market, numberOfLayers=1, filledOrderDelay=60_000, orderRefreshTime=10_000)
    order = funded_order(market, base=D("10"), quote=D("2000"), params=params)
    session = committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)
    return market, session


def _print_passes(market: Market) -> None:
    """The clock passes the print; the account sync records its fill."""
    market.clock.advance(6)
    committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    drain(market)


def _run(market: Market) -> list[Any]:
    return [o for b in claim().batches for o in committed(sessions_run, session_ids=b)]


def _bid() -> TrackedOrder:
    return TrackedOrder.objects.get(side="buy", status=TrackedStatus.OPEN)


def test_a_partial_fill_keeps_the_session_quoting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market, session = _start(monkeypatch, tmp_path, "0.3")
    assert _bid().price == D("99")
    # when 0.3 of the 1.0 bid fills
    _print_passes(market)
    bid = _bid()
    assert bid.filled == D("0.3")
    session.refresh_from_db()
    assert session.last_fill_at is None  # no delay started
    # then the next refresh runs (no filled-order delay) and the session still quotes
    market.clock.advance(5)
    [outcome] = _run(market)
    assert outcome.ran and outcome.reason == ""
    drain(market)
    assert TrackedOrder.objects.filter(side="sell", status=TrackedStatus.OPEN).count() == 1


def test_a_complete_fill_delays_new_quotes_for_the_filled_order_delay(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market, session = _start(monkeypatch, tmp_path, "1")
    filled_at = market.clock.dt()
    _print_passes(market)
    assert not TrackedOrder.objects.filter(side="buy", status=TrackedStatus.OPEN).exists()
    session.refresh_from_db()
    assert session.last_fill_at is not None and session.last_fill_at <= market.clock.dt()
    assert session.last_fill_at >= filled_at
    # during the delay the session places no new bid
    market.clock.advance(5)
    [outcome] = _run(market)
    assert (outcome.ran, outcome.reason) == (False, "filled_order_delay")
    assert not TrackedOrder.objects.filter(side="buy", status=TrackedStatus.OPEN).exists()
    # runs on time (each when due: the clock jumps, so a late run would be shed) place no
    # bid until the delay is over, then one
    resume = session.last_fill_at + timedelta(seconds=60)
    for _ in range(10):
        session.refresh_from_db()
        market.clock.now = session.next_run_at.timestamp()
        tick(market)
        if TrackedOrder.objects.filter(side="buy", status=TrackedStatus.OPEN).exists():
            break
    assert market.clock.dt() == resume
    assert TrackedOrder.objects.filter(side="buy", status=TrackedStatus.OPEN).count() == 1


@pytest.mark.parametrize("maker_fee", ["-0.0002", "0"])
def test_a_maker_rebate_or_a_zero_fee_fill_is_recorded_and_settled_to_the_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, maker_fee: str
) -> None:
    from ledger.selectors import ledger_verify_report, order_balances
    from strategy.models import Fill

    # given our bid of 1 at 99 resting on a venue that pays makers (or charges nothing)
    market, session = _start(monkeypatch, tmp_path, "1")
    PaperMarket.objects.filter(venue=market.venue, symbol=market.symbol).update(
        maker_fee=D(maker_fee)
    )
    assert session.order_id is not None
    before = order_balances(order_id=session.order_id)
    # when the print fills it as a maker
    _print_passes(market)
    # then the fill keeps the venue's sign and is settled, the rebate owned by the order
    fill = Fill.objects.get()
    fee = D(maker_fee) * D(1)  # charged on what the buy receives: base
    assert (fill.fee, fill.settle_error) == (fee, "")
    assert fill.ledger_key == f"fill:{fill.exchange_id}:{fill.trade_id}"
    after = order_balances(order_id=session.order_id)
    base = session.base_asset_id
    assert after[base].available - before[base].available == D(1) - fee
    assert ledger_verify_report().ok
