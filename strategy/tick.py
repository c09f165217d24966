"""The tick (`strategy_tick`, every STRATEGY_TICK_MS from beat).

Claims the due running sessions under a lease (`strategy.sessions.claim`), then says what
the task fans out: one `market_data_refresh_task` per (venue, pair) the claimed sessions
read, then the batches grouped by (venue, pair) to `strategy_sessions_run_task`, so a batch
mostly needs one market snapshot. Runs never fetch (0570).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import structlog
from django.conf import settings

from mrmarket.exceptions import ValidationFailed
from mrmarket.services import heartbeat_beat
from strategy import marketdata, venues
from strategy.enums import SessionKind
from strategy.params import PriceSourceType
from strategy.pmm.parse import pmm_params
from strategy.saturation import Load, tick_load
from strategy.sessions.claim import ClaimedRow, sessions_claim_due

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class MarketNeed:
    """A (venue, pair) the claimed sessions read this tick; `with_last` when any quotes
    from the last price."""

    exchange_id: str
    symbol: str
    with_last: bool = False


@dataclass
class TickResult:
    tick: int
    claimed: int = 0
    batches: list[list[int]] = field(default_factory=list)
    # Refreshed (market_data_refresh_task) before the batches are sent: runs never fetch.
    markets: list[MarketNeed] = field(default_factory=list)
    load: Load | None = None  # how far behind the runtime was when this tick claimed


def market_needs(rows: list[ClaimedRow]) -> list[MarketNeed]:
    """Every (venue, pair) the claimed sessions will read: their own, arbitrage's second
    venue and oracle venues."""
    needs: dict[tuple[str, str], bool] = {}

    def need(exchange_id: str, symbol: str, with_last: bool = False) -> None:
        needs[(exchange_id, symbol)] = needs.get((exchange_id, symbol), False) or with_last

    for _, exchange_id, symbol, kind, exchange_b_id, raw in rows:
        if kind == SessionKind.ARBITRAGE:
            need(exchange_id, symbol)
            need(exchange_b_id, symbol)
            continue
        try:
            params = pmm_params(raw)
        except ValidationFailed:  # the run releases it as invalid; its own pair is harmless
            need(exchange_id, symbol)
            continue
        need(exchange_id, symbol, params.price_source_type is PriceSourceType.LAST_PRICE)
        if params.oracle_exchange_name is not None:
            need(params.oracle_exchange_name, symbol)
    return [MarketNeed(e, s, last) for (e, s), last in sorted(needs.items())]


def batches_of(rows: list[ClaimedRow], size: int) -> list[list[int]]:
    """Batches hold whole pairs where they fit (a pair's runs share reads and one lock),
    and several pairs each, so a short tick does not fan out one message per pair."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, exchange_id, symbol, *_ in rows:
        groups[(exchange_id, symbol)].append(pk)
    size = max(size, 1)
    batches: list[list[int]] = []
    current: list[int] = []
    for pair in sorted(groups):
        ids = groups[pair]
        if current and len(current) + len(ids) > size:
            batches.append(current)
            current = []
        for i in range(0, len(ids), size):
            chunk = ids[i : i + size]
            if len(current) + len(chunk) > size:
                batches.append(current)
                current = []
            current += chunk
    if current:
        batches.append(current)
    return batches


def messages(result: TickResult) -> list[list[int] | MarketNeed]:
    """What the tick sends, in order: the batches, then the market-data refreshes (a run
    reads the latest snapshot while its slot's refresh is queued, so no run waits behind
    a slot's fetches). When the runtime is saturated the refreshes go first: behind a
    backlog of runs they would land after the latest snapshot aged past
    STRATEGY_MARKET_DATA_MAX_AGE_MS, and every run of the pair would skip for want of
    market data (staying due, claimed again, skipping again) until they did."""
    batches: list[list[int] | MarketNeed] = list(result.batches)
    markets: list[list[int] | MarketNeed] = list(result.markets)
    if result.load is not None and result.load.saturated:
        return markets + batches
    return batches + markets


def refreshes_for_checks(
    result: TickResult, stale: list[tuple[str, str, bool]]
) -> list[tuple[str, str, bool]]:
    """The (venue, pair, with last price) the per-tick checks found stale that the tick has
    not already sent a refresh for."""
    sent = {(n.exchange_id, n.symbol, n.with_last) for n in result.markets}
    return [key for key in stale if key not in sent]


def strategy_tick() -> TickResult:
    """Claim due sessions under a lease and cut them into batches (the task fans them out)."""
    now = venues.now()
    tick = marketdata.tick_of(now)
    load = tick_load(now=now)
    # Backpressure: never more than STRATEGY_TICK_MAX_IN_FLIGHT runs claimed and waiting.
    room = min(
        settings.STRATEGY_TICK_MAX_CLAIM, settings.STRATEGY_TICK_MAX_IN_FLIGHT - load.in_flight
    )
    rows = sessions_claim_due(now=now, tick=tick, limit=room)
    heartbeat_beat(
        name="strategy_tick",
        at=now,
        payload={"claimed": len(rows), "tick": tick, **load.as_payload()},
    )
    result = TickResult(
        tick=tick,
        claimed=len(rows),
        batches=batches_of(rows, settings.STRATEGY_TICK_BATCH_SIZE),
        markets=market_needs(rows),
        load=load,
    )
    if rows:
        log.info("strategy_tick_claimed", tick=tick, claimed=len(rows), batches=len(result.batches))
    if load.saturated:
        log.warning("strategy_tick_saturated", tick=tick, **load.as_payload())
    return result
