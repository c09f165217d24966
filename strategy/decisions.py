"""Decision records: what each quoting decision was made from, kept compactly so it can be
re-run (`manage.py replay --decisions`) and so reports know the mid of each moment.

A record holds the per-session inputs of the pure builder (`build_quotes`: balances, budgets,
reference price, clock, last fill, and the session's stored state when it is not the
initial one: moving band, ping-pong counts, last own trade price, cost price) and its answer; the book is the shared market snapshot of
the slot, stored once per (venue, pair, slot) however many sessions decided from it; the
parameters are stored once per content hash. Rows older than
STRATEGY_DECISION_RETENTION_DAYS are pruned by `decision_records_prune`.

Cost (measured by `strategy_bench_tick --decisions`, see docs/strategy-runtime.md): one
record per decision, not per tick.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from mrmarket.pg import array_literal, server_cursor
from strategy.marketdata import MarketSnapshot, reference_mid, snapshot_decode, snapshot_encode
from strategy.models import DecisionRecord, MarketSnapshotRecord, ParamsRecord
from strategy.params import PureMarketMakingParams
from strategy.quoting.bands import MovingBand
from strategy.quoting.proposal import ProposalState
from strategy.quoting.pure_mm import build_quotes
from strategy.quoting.types import DesiredQuote

# Params hashes known to be stored, per process (a decision then costs no params write).
# ParamsRecord rows are never deleted (pruning keeps them), so the set only grows stale when
# someone deletes rows by hand: `params_cache_clear()` is for that (and for tests, whose
# rolled-back transactions take rows the set still names).
_KNOWN_PARAMS: set[str] = set()
# Snapshot rows of recent slots known to be stored, per process: (venue, pair, slot) -> id.
_KNOWN_SNAPS: dict[tuple[str, str, int], int] = {}
_KNOWN_SNAPS_MAX = 512


def params_cache_clear() -> None:
    _KNOWN_PARAMS.clear()
    _KNOWN_SNAPS.clear()


def params_hash(raw: dict[str, Any]) -> str:
    return params_text_hash(json.dumps(raw, sort_keys=True))


def params_text_hash(canonical: str) -> str:
    """`params_hash` of parameters already serialised as `json.dumps(raw, sort_keys=True)`."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def quote_rows(quotes: list[DesiredQuote]) -> list[list[Any]]:
    return [[q.side.value, q.level, format(q.price, "f"), format(q.amount, "f")] for q in quotes]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def decision_inputs(
    *,
    reference_price: Decimal | None,
    base_balance: Decimal,
    quote_balance: Decimal,
    budget_base: Decimal,
    budget_quote: Decimal,
    now: datetime,
    last_fill_at: datetime | None,
    proposal_state: ProposalState | None = None,
    last_own_trade_price: Decimal | None = None,
    cost_price: Decimal | None = None,
) -> dict[str, Any]:
    """The builder's per-session inputs. The session's stored state (moving band,
    ping-pong counts, last own trade price, cost price) is kept only when it is not the
    initial one, so records of sessions without those features stay as small as before."""
    inputs: dict[str, Any] = {
        "reference": _s(reference_price),
        "base": _s(base_balance),
        "quote": _s(quote_balance),
        "budgetBase": _s(budget_base),
        "budgetQuote": _s(budget_quote),
        "now": _t(now),
        "lastFillAt": _t(last_fill_at),
    }
    if proposal_state is not None and proposal_state != ProposalState():
        inputs["state"] = {
            "band": proposal_state.band.to_dict(),
            "filledBuys": proposal_state.filled_buys_balance,
            "filledSells": proposal_state.filled_sells_balance,
        }
    if last_own_trade_price is not None:
        inputs["lastOwnTradePrice"] = str(last_own_trade_price)
    if cost_price is not None:
        inputs["costPrice"] = str(cost_price)
    return inputs


def _proposal_state(raw: dict[str, Any] | None) -> ProposalState | None:
    if raw is None:
        return None
    return ProposalState(
        band=MovingBand.from_dict(raw["band"]),
        filled_buys_balance=int(raw["filledBuys"]),
        filled_sells_balance=int(raw["filledSells"]),
    )


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One decision record to insert: a plain row (no model instance in the hot path)."""

    session_id: int
    run_at: datetime
    snapshot_id: int
    params_hash: str
    mid: Decimal | None
    inputs: dict[str, Any]
    quotes: list[list[Any]]

    def model(self) -> DecisionRecord:
        return DecisionRecord(
            session_id=self.session_id,
            run_at=self.run_at,
            snapshot_id=self.snapshot_id,
            params_hash=self.params_hash,
            mid=self.mid,
            inputs=self.inputs,
            quotes=self.quotes,
        )


class DecisionBatch:
    """The decision records of a batch's runs, inserted in one statement (`flush`); the
    shared snapshot of each (venue, pair, slot) is looked up or stored once per batch."""

    def __init__(self) -> None:
        self.rows: list[RecordRow] = []
        self._snaps: dict[tuple[str, str, int], int] = {}
        self._params: set[str] = set()

    def add(self, **kwargs: Any) -> None:
        self.rows.append(self.record(**kwargs))

    def record(
        self,
        *,
        session_id: int,
        run_at: datetime,
        slot: int,
        snapshot: MarketSnapshot,
        params: dict[str, Any],
        inputs: dict[str, Any],
        quotes: list[DesiredQuote],
        digest: str | None = None,
    ) -> RecordRow:
        """The record, not queued yet (`rows.append` it once the run has decided)."""
        key = (snapshot.exchange_id, snapshot.symbol, slot)
        snap_id = snapshot.record_id or self._snaps.get(key) or _KNOWN_SNAPS.get(key)
        if snap_id is None:
            snap, _ = MarketSnapshotRecord.objects.get_or_create(
                exchange_id=snapshot.exchange_id,
                symbol=snapshot.symbol,
                slot=slot,
                defaults={"payload": snapshot_encode(snapshot), "created_at": run_at},
            )
            snap_id = self._snaps[key] = snap.pk
            transaction.on_commit(lambda: _snap_known(key, snap.pk))
        digest = digest or params_hash(params)
        if digest not in _KNOWN_PARAMS and digest not in self._params:
            self._params.add(digest)
            ParamsRecord.objects.get_or_create(hash=digest, defaults={"params": params})
            # Remembered only once the row is committed: a rolled-back run must not leave a
            # hash this process believes stored.
            transaction.on_commit(lambda: _KNOWN_PARAMS.add(digest))
        return RecordRow(
            session_id=session_id,
            run_at=run_at,
            snapshot_id=snap_id,
            params_hash=digest,
            mid=reference_mid(snapshot),
            inputs=inputs,
            quotes=quote_rows(quotes),
        )

    def flush(self) -> None:
        """One INSERT for the batch's records (PostgreSQL: one array per column through a
        server-binding cursor, no per-field ORM preparation)."""
        rows, self.rows = self.rows, []
        if not rows:
            return
        if connection.vendor != "postgresql":
            DecisionRecord.objects.bulk_create([r.model() for r in rows])
            return
        with server_cursor() as cursor:
            cursor.execute(
                _RECORDS_INSERT,
                [
                    array_literal(r.session_id for r in rows),
                    array_literal(r.run_at for r in rows),
                    array_literal(r.snapshot_id for r in rows),
                    array_literal(r.params_hash for r in rows),
                    array_literal(r.mid for r in rows),
                    array_literal(json.dumps(r.inputs) for r in rows),
                    array_literal(json.dumps(r.quotes) for r in rows),
                ],
            )


_RECORDS_INSERT = (
    f"INSERT INTO {DecisionRecord._meta.db_table} (session_id, run_at, snapshot_id, "  # noqa: S608
    "params_hash, mid, inputs, quotes) SELECT * FROM unnest(%s::bigint[], "
    "%s::timestamptz[], %s::bigint[], %s::varchar[], %s::numeric[], %s::jsonb[], "
    "%s::jsonb[])"
)


def _snap_known(key: tuple[str, str, int], pk: int) -> None:
    if len(_KNOWN_SNAPS) >= _KNOWN_SNAPS_MAX:
        _KNOWN_SNAPS.clear()
    _KNOWN_SNAPS[key] = pk


def decision_record(
    *,
    session_id: int,
    run_at: datetime,
    slot: int,
    snapshot: MarketSnapshot,
    params: dict[str, Any],
    inputs: dict[str, Any],
    quotes: list[DesiredQuote],
) -> DecisionRecord:
    """One decision written at once (a batch uses `DecisionBatch`)."""
    row = DecisionBatch().record(
        session_id=session_id,
        run_at=run_at,
        slot=slot,
        snapshot=snapshot,
        params=params,
        inputs=inputs,
        quotes=quotes,
    )
    record = row.model()
    record.save()
    return record


def _d(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def decision_rerun(record: DecisionRecord) -> list[list[Any]] | None:
    """The builder's answer on the recorded inputs (None: the snapshot or the parameters
    were pruned and the decision can no longer be re-run)."""
    if record.snapshot is None:
        return None
    params_row = ParamsRecord.objects.filter(hash=record.params_hash).first()
    if params_row is None:
        return None
    snap = snapshot_decode(
        record.snapshot.exchange_id, record.snapshot.symbol, record.snapshot.payload
    )
    params = PureMarketMakingParams.from_dto(params_row.params)
    i = record.inputs
    desired = build_quotes(
        params=params,
        market=snap.market,
        book=snap.book,
        last_price=snap.last_price,
        reference_price=_d(i["reference"]),
        base_balance=Decimal(i["base"]),
        quote_balance=Decimal(i["quote"]),
        budget_base=Decimal(i["budgetBase"]),
        budget_quote=Decimal(i["budgetQuote"]),
        now=datetime.fromisoformat(i["now"]),
        last_fill_at=datetime.fromisoformat(i["lastFillAt"]) if i["lastFillAt"] else None,
        state=_proposal_state(i.get("state")),
        last_own_trade_price=_d(i.get("lastOwnTradePrice")),
        cost_price=_d(i.get("costPrice")),
    )
    return quote_rows(desired)


def decision_records_prune(*, now: datetime | None = None) -> int:
    """Delete decisions (and snapshots no decision needs) past the retention; returns rows."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.STRATEGY_DECISION_RETENTION_DAYS)
    deleted, _ = DecisionRecord.objects.filter(run_at__lt=cutoff).delete()
    snaps, _ = MarketSnapshotRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted + snaps
