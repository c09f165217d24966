"""A fill recorded while a run holds its session row, on real PostgreSQL transactions: the
tracker waits for the run's row lock and applies its change on top of the run's write, so
neither the run's state (the re-centred band) nor the fill's (ping-pong count) is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from orders.services.seams import order_terms
from strategy.models import StrategySession
from strategy.pmm import run
from strategy.runner import sessions_run
from strategy.services import session_start_for_order
from strategy.tick import strategy_tick
from strategy.tracking import venue_account_sync
from tests.strategy.runtime_support import (
    csv_feed,
    drain,
    funded_order,
    paper_market,
    pmm_params,
    refresh_markets,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_fill_waits_for_the_runs_row_lock_and_both_states_are_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    market = paper_market(monkeypatch)
    csv_feed(market, tmp_path, {5: ("98.9", "1"), 6: ("100", "0")})  # fills the bid at 99
    params = pmm_params(
        market, pingPongEnabled=True, movingPriceBandEnabled=True, priceBandRefreshTime=5_000
    )
    order = funded_order(market, base=Decimal("10"), quote=Decimal("2000"), params=params)
    session = session_start_for_order(terms=order_terms(order=order))
    refresh_markets(strategy_tick())
    sessions_run(session_ids=[session.pk])
    drain(market)
    session.refresh_from_db()
    first_set = session.engine_state["band"]["set_at"]
    market.clock.advance(10)  # the session is due; the band's refresh (5 s) has passed

    locked = threading.Event()
    times: dict[str, float] = {}
    take = run.pair_locks_take  # type: ignore[attr-defined]  # run's own import of it, patched below

    def pair_locks_take_slowly(pairs: Iterable[Any]) -> Any:
        # the session row is locked (lease re-check): let the tracker run into it
        locked.set()
        time.sleep(1.0)
        return take(pairs)

    monkeypatch.setattr(run, "pair_locks_take", pair_locks_take_slowly)
    errors: list[BaseException] = []

    def the_run() -> None:
        try:
            refresh_markets(strategy_tick())
            sessions_run(session_ids=[session.pk])
            times["run"] = time.monotonic()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def the_tracker() -> None:
        try:
            assert locked.wait(10)
            venue_account_sync(exchange_id=market.venue, account_index=0)
            times["fill"] = time.monotonic()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=the_run), threading.Thread(target=the_tracker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert times["fill"] >= times["run"]  # the fill waited for the run's transaction
    session = StrategySession.objects.get(pk=session.pk)
    assert session.run_count == 2
    assert session.engine_state["band"]["set_at"] != first_set  # the run's write
    assert session.engine_state["filled_buys_balance"] == 1  # the fill's, on top of it
    assert session.last_fill_at is not None
