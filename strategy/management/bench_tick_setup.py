"""The tick benchmark's database (`manage.py strategy_bench_tick`): created if missing, earlier
runs' rows deleted and the hot tables vacuumed, the sessions (and with --resting their open
orders) written; and the CPU of a PostgreSQL backend read from /proc (the server is local).
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.utils import timezone

from exchanges.enums import ExchangeKind
from exchanges.models import Exchange
from exchanges.paper.services import paper_market_ensure
from mrmarket.services import operator_ensure
from strategy.enums import SessionKind, SessionState
from strategy.live import balances_cache_key
from strategy.models import StrategySession, TrackedOrder
from strategy.params import PureMarketMakingParams
from strategy.saturation import SHED_KEY

VENUE = "benchpaper"


def bench_setup(sessions: int, pairs: int, refresh_ms: int, resting: bool = False) -> None:

    Exchange.objects.get_or_create(
        exchange_id=VENUE, defaults={"name": "Bench paper", "kind": ExchangeKind.PAPER}
    )
    symbols = [f"BT{i:02d}/USDT" for i in range(pairs)]
    for i, symbol in enumerate(symbols):
        paper_market_ensure(
            venue=VENUE,
            symbol=symbol,
            price=Decimal(100 + i),
            price_increment=Decimal("0.01"),
            amount_increment=Decimal("0.001"),
            volatility=Decimal("0.0005"),
            seed=i + 1,
        )
    _previous_runs_delete()
    # The shed counters of an earlier run (per minute, in the cache) are not this run's.
    minute = int(time.time() // 60)
    cache.delete_many([SHED_KEY.format(minute=m) for m in range(minute - 5, minute + 2)])
    operator = operator_ensure()
    run = uuid.uuid4().hex[:8]
    now = timezone.now()
    rows = []
    for n in range(sessions):
        symbol = symbols[n % pairs]
        params = PureMarketMakingParams.from_dto(
            {
                "pair": symbol,
                "exchangeName": VENUE,
                "bidSpread": "0.002",
                "askSpread": "0.002",
                "orderAmount": "0.1",
                "orderRefreshTime": refresh_ms,
                "numberOfLayers": 2,
            }
        )
        rows.append(
            StrategySession(
                owner=operator,
                client_id=f"bench-{run}-{n}",
                kind=SessionKind.PURE_MARKET_MAKING,
                params=params.to_dict(),
                exchange_id=VENUE,
                symbol=symbol,
                state=SessionState.RUNNING,
                # Spread evenly over one refresh period, as a steady state would be.
                next_run_at=now + timedelta(milliseconds=refresh_ms * n / sessions),
                max_open_orders=settings.STRATEGY_MAX_OPEN_ORDERS,
            )
        )
    StrategySession.objects.bulk_create(rows, batch_size=500)
    if resting:
        _resting_orders(rows, symbols)
    # Sessions without an order budget from the account's free balance (the tracker's cache).
    big = {"USDT": "100000000", **{s.split("/")[0]: "1000000" for s in symbols}}
    cache.set(balances_cache_key(VENUE, 0), big, timeout=3600)


# The bench's own rows of earlier runs, children first (its database is its own).
_CLEANUP = (
    "DELETE FROM strategy_decisionrecord WHERE session_id IN {s}",
    "DELETE FROM strategy_trackedorder WHERE session_id IN {s}",
    "DELETE FROM strategy_orderintent WHERE session_id IN {s}",
    "DELETE FROM strategy_strategysession WHERE id IN {s}",
)
_HOT_TABLES = (
    "strategy_strategysession",
    "strategy_orderintent",
    "strategy_trackedorder",
    "strategy_decisionrecord",
)


def _previous_runs_delete() -> None:
    """Every run starts from the same tables: earlier runs' sessions, intents, orders and
    decision records deleted, then VACUUM ANALYZE. Each run rewrites every session's row
    several times a refresh; on a server without autovacuum (this machine's test server
    runs with it off) the dead rows of earlier runs made every session read slower run
    after run — a production server must keep autovacuum on (docs/strategy-runtime.md)."""
    sessions = f"strategy_strategysession WHERE exchange_id = '{VENUE}'"
    with connections["default"].cursor() as cursor:
        for statement in _CLEANUP:
            cursor.execute(statement.format(s=f"(SELECT id FROM {sessions})"))  # noqa: S608 - constants
        for table in _HOT_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")


def _resting_orders(sessions: list[StrategySession], symbols: list[str]) -> None:
    """--resting: two open orders a side per session, 1 % and 2 % from the pair's price, so
    the per-tick checks have 4 orders a session to check (dry run: they never change)."""
    now = timezone.now()
    orders = []
    for session in sessions:
        price = Decimal(100 + symbols.index(session.symbol))
        for side, sign in (("buy", -1), ("sell", 1)):
            for level in (0, 1):
                cid = f"bench{session.pk}{side[0]}{level}"
                orders.append(
                    TrackedOrder(
                        session=session,
                        exchange_id=VENUE,
                        symbol=session.symbol,
                        client_order_id=cid,
                        side=side,
                        level=level,
                        price=(price * (1 + sign * Decimal("0.01") * (level + 1))).quantize(
                            Decimal("0.01")
                        ),
                        amount=Decimal("0.1"),
                        created_at=now,
                    )
                )
    TrackedOrder.objects.bulk_create(orders, batch_size=2000)


def backend_cpu_seconds(pid: int) -> float:
    """CPU the PostgreSQL backend `pid` used so far (user + system; the server is local)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_pid() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    return int(row[0]) if row else 0
