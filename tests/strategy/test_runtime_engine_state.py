"""Hummingbot's between-tick state through the real runtime on the paper venue (issue 15):
ping-pong, the `last_own_trade_price` and `inventory_cost` price types and the moving price
band are carried between runs in `StrategySession.engine_state`, written by the runs and by
the tracker on fills, and a fill recorded while a run is under way is never lost."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest

from orders.services.seams import order_terms
from strategy.decisions import decision_rerun
from strategy.enums import IntentKind, TrackedStatus
from strategy.models import DecisionRecord, OrderIntent, StrategySession, TrackedOrder
from strategy.pmm import run
from strategy.services import session_start_for_order
from strategy.tracking import venue_account_sync
from tests.strategy.runtime_support import (
    Market,
    committed,
    csv_feed,
    drain,
    funded_order,
    paper_market,
    pmm_params,
    tick,
)

pytestmark = pytest.mark.django_db
D = Decimal
CENT = D("0.01")


def _session(market: Market, *, base: str = "10", **overrides: Any) -> StrategySession:
    params = pmm_params(market, **overrides)
    order = funded_order(market, base=D(base), quote=D("2000"), params=params)
    session: StrategySession = committed(session_start_for_order, terms=order_terms(order=order))
    tick(market)
    return session


def _prices(side: str) -> list[Decimal]:
    return sorted(
        (o.price for o in TrackedOrder.objects.filter(side=side, status=TrackedStatus.OPEN)),
        reverse=side == "buy",
    )


def _sync(market: Market) -> None:
    committed(venue_account_sync, exchange_id=market.venue, account_index=0)
    drain(market)


def _replays_identically(session: StrategySession) -> None:
    """Every decision of the session re-runs to the same quotes from its record (the
    stored state it was made from is in its inputs)."""
    records = list(DecisionRecord.objects.filter(session=session))
    assert records
    for record in records:
        assert decision_rerun(record) == record.quotes, record.inputs


def _next_run(market: Market, session: StrategySession) -> StrategySession:
    """The clock moved to the session's next due time, and that tick run."""
    session.refresh_from_db()
    market.clock.now = max(market.clock.now, session.next_run_at.timestamp())
    tick(market)
    session.refresh_from_db()
    return session


def test_ping_pong_leaves_out_the_filled_side_level_until_the_other_side_fills(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given two levels a side around 100 (bids 99, 98; asks 101, 102), ping-pong on
    market = paper_market(monkeypatch)
    # the print at 98.9 (5 s) fills the whole inner bid; the one at 101.1 (15 s) the inner ask
    csv_feed(
        market, tmp_path, {5: ("98.9", "1"), 6: ("100", "0"), 15: ("101.1", "1"), 16: ("100", "0")}
    )
    session = _session(market, pingPongEnabled=True)
    assert _prices("buy") == [D("99"), D("98")]
    assert _prices("sell") == [D("101"), D("102")]
    market.clock.advance(6)
    _sync(market)
    session.refresh_from_db()
    assert session.engine_state["filled_buys_balance"] == 1
    assert session.engine_state["last_own_trade_price"] == "99.000000000000000000"
    # when the session runs again: no bid at level 0 (Hummingbot's ping-pong), the rest kept
    session = _next_run(market, session)
    assert session.run_count == 2
    assert _prices("buy") == [D("98")]
    assert _prices("sell") == [D("101"), D("102")]
    # and after a complete sell the counts are even: reset, both levels quoted again
    market.clock.advance(6)  # past the sell print at 15 s, before the next run (20 s)
    _sync(market)
    session.refresh_from_db()
    assert (
        session.engine_state["filled_buys_balance"],
        session.engine_state["filled_sells_balance"],
    ) == (1, 1)
    session = _next_run(market, session)
    assert (
        session.engine_state["filled_buys_balance"],
        session.engine_state["filled_sells_balance"],
    ) == (0, 0)
    assert _prices("buy") == [D("99"), D("98")]
    assert _prices("sell") == [D("101"), D("102")]
    _replays_identically(session)


def test_last_own_trade_price_quotes_around_the_last_fill(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {5: ("98.9", "1"), 6: ("100", "0")})
    session = _session(market, numberOfLayers=1, priceSourceType="last_own_trade_price")
    # no own trade yet: around the mid
    assert (_prices("buy"), _prices("sell")) == ([D("99")], [D("101")])
    market.clock.advance(6)
    _sync(market)
    # the bid at 99 filled: the next run quotes around 99 (the ask moves in to 99.99)
    session = _next_run(market, session)
    assert (_prices("buy"), _prices("sell")) == ([D("98.01")], [D("99.99")])
    record = DecisionRecord.objects.filter(session=session).order_by("-id").first()
    assert record is not None and D(record.inputs["lastOwnTradePrice"]) == D("99")
    _replays_identically(session)


def test_inventory_cost_quotes_sells_around_the_cost_basis_kept_from_fills(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given 2 base held at an inventory price of 100, one level, the mid at 100
    market = paper_market(monkeypatch)
    # the bid at 99 fills at 5 s; from 10 s the price is 97
    csv_feed(market, tmp_path, {5: ("98.9", "1"), 6: ("100", "0"), 10: ("97", "0")})
    session = _session(
        market, base="2", numberOfLayers=1, priceSourceType="inventory_cost", inventoryPrice="100"
    )
    assert (_prices("buy"), _prices("sell")) == ([D("99")], [D("101")])
    session.refresh_from_db()
    basis = session.engine_state["cost_basis"]
    assert (D(basis["base_volume"]), D(basis["quote_volume"])) == (D("2"), D("200"))
    market.clock.advance(6)
    _sync(market)
    session.refresh_from_db()
    basis = session.engine_state["cost_basis"]
    cost = D(basis["quote_volume"]) / D(basis["base_volume"])
    assert D("99.6") < cost < D("99.8")  # (200 + 99) / 3, less any fee paid in base
    # when the price drops to 97: bids around 97, the ask never below the cost basis
    session = _next_run(market, session)
    assert _prices("buy") == [D("96.03")]
    assert _prices("sell") == [(cost * D("1.01")).quantize(CENT, rounding=ROUND_DOWN)]
    _replays_identically(session)


def test_the_moving_band_is_kept_between_runs_and_moves_at_its_refresh(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    # the price rises to 100.6 at 10 s
    csv_feed(market, tmp_path, {10: ("100.6", "0")})
    session = _session(
        market,
        numberOfLayers=1,
        movingPriceBandEnabled=True,
        priceCeilingPct="0.005",
        priceFloorPct="-0.005",
        priceBandRefreshTime=20_000,
    )
    session.refresh_from_db()
    band = session.engine_state["band"]
    assert (D(band["floor"]), D(band["ceiling"])) == (D("99.5"), D("100.5"))
    first_set = band["set_at"]
    # when the price passes the stored ceiling (100.5 < 100.6), before the band's refresh:
    # the per-tick checks cancel the bid and the run quotes no bid
    session = _next_run(market, session)
    assert session.engine_state["band"]["set_at"] == first_set
    cancels = OrderIntent.objects.filter(kind=IntentKind.CANCEL).values_list("side", "reason")
    assert ("buy", "price_band") in list(cancels)
    assert _prices("buy") == []
    assert _prices("sell") == [D("101.60")]
    # once the refresh time has passed, the band re-centres on 100.6 and bids come back
    session = _next_run(market, session)
    session = _next_run(market, session)
    band = session.engine_state["band"]
    assert band["set_at"] != first_set
    assert (D(band["floor"]), D(band["ceiling"])) == (D("100.097"), D("101.103"))
    assert _prices("buy") == [D("99.59")]
    _replays_identically(session)


def test_a_fill_recorded_after_the_session_was_read_is_not_lost_by_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The run reads the state from its locked row, not from the session it was handed: a
    fill stored between the claim and the run's lock is seen and written back with the
    run's own change (the re-centred band), not overwritten."""
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {5: ("98.9", "1"), 6: ("100", "0")})
    session = _session(
        market,
        pingPongEnabled=True,
        movingPriceBandEnabled=True,
        priceBandRefreshTime=5_000,
    )
    session.refresh_from_db()
    first_set = session.engine_state["band"]["set_at"]
    assert session.engine_state["filled_buys_balance"] == 0

    original = run.pmm_prepare
    synced: list[bool] = []

    def prepare_after_a_fill(s: StrategySession, started: Any) -> Any:
        # the session object was read before this; the tracker stores a fill now
        if not synced:
            synced.append(True)
            assert s.engine_state.get("filled_buys_balance") == 0
            committed(venue_account_sync, exchange_id=market.venue, account_index=0)
        return original(s, started)

    monkeypatch.setattr(run, "pmm_prepare", prepare_after_a_fill)
    session = _next_run(market, session)
    assert synced
    assert session.run_count == 2
    assert session.engine_state["band"]["set_at"] != first_set  # the run's own write
    assert session.engine_state["filled_buys_balance"] == 1  # the fill's, kept
    assert _prices("buy") == [D("98")]  # and the run saw it
