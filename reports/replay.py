"""Replay: rebuild each order from its append-only facts and compare with the live rows.

The facts are the order's events (`OrderEvent`), the ledger's entries and postings, the
stored fills, and the intents. From them, for every order:

- **state**: the event chain must be unbroken (each event starts where the last one ended),
  each state change must be an edge of the order state machine, and the chain's end must be
  the order row's `state`;
- **balances**: each of the order's ledger accounts must hold exactly what its postings and
  their entries' statuses add up to (posted and pending, debit and credit);
- **fills**: each settled fill must have its ledger entry, moving the order's balances by
  the fill's own amounts (base, quote and fee, a rebate with its sign); each tracked order's
  `filled` must be the sum of its fills.

The report is a pure function of these facts (`reports.report`); `manage.py report --verify`
checks a written bundle against its facts and hash.

A difference names the order, the field, what the facts say and what the row says.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, Sum
from django_fsm import FSMField

from ledger import codes
from ledger.enums import EntryStatus
from ledger.models import Account, JournalEntry, Posting, money_context
from orders.models import MarketMakingOrder, OrderEvent
from strategy.models import Fill, TrackedOrder

ZERO = Decimal(0)


@dataclass(frozen=True)
class Difference:
    order_id: str
    field: str
    expected: str  # what the facts say
    actual: str  # what the live row says

    def as_dict(self) -> dict[str, str]:
        return {
            "orderId": self.order_id,
            "field": self.field,
            "expected": self.expected,
            "actual": self.actual,
        }


def _edges() -> set[tuple[str, str]]:
    field = MarketMakingOrder._meta.get_field("state")
    assert isinstance(field, FSMField)
    edges: set[tuple[str, str]] = set()
    for t in field.get_all_transitions(MarketMakingOrder):
        edges.add((t.source, t.target))
    return edges


def orders_to_replay(
    *, order_id: str | None = None, since: datetime | None = None
) -> list[uuid.UUID]:
    qs = MarketMakingOrder.objects.all()
    if order_id is not None:
        qs = qs.filter(pk=order_id)
    if since is not None:
        touched = OrderEvent.objects.filter(created_at__gte=since).values("order_id")
        qs = qs.filter(Q(updated_at__gte=since) | Q(pk__in=touched))
    return list(qs.order_by("created_at", "pk").values_list("pk", flat=True))


def replay_order(
    order_id: uuid.UUID, *, edges: set[tuple[str, str]] | None = None
) -> list[Difference]:
    with money_context():
        order = MarketMakingOrder.objects.get(pk=order_id)
        oid = str(order.pk)
        diffs = _state(order, oid, edges if edges is not None else _edges())
        diffs += _balances(oid)
        diffs += _fills(order, oid)
        return diffs


def replay(order_ids: Iterable[uuid.UUID]) -> Iterator[tuple[uuid.UUID, list[Difference]]]:
    edges = _edges()
    for order_id in order_ids:
        yield order_id, replay_order(order_id, edges=edges)


def _state(order: MarketMakingOrder, oid: str, edges: set[tuple[str, str]]) -> list[Difference]:
    diffs: list[Difference] = []
    state = ""
    for event in OrderEvent.objects.filter(order=order).order_by("id"):
        if event.from_state != state and not (state == "" and event.from_state == ""):
            diffs.append(
                Difference(
                    oid, f"event[{event.pk}].from_state", state or "(start)", event.from_state
                )
            )
        changed = event.from_state != event.to_state
        if changed and event.from_state and (event.from_state, event.to_state) not in edges:
            diffs.append(
                Difference(
                    oid,
                    f"event[{event.pk}]",
                    "a state machine edge",
                    f"{event.from_state} -> {event.to_state}",
                )
            )
        state = event.to_state
    if state != order.state:
        diffs.append(Difference(oid, "state", state or "(no events)", order.state))
    return diffs


def _balances(oid: str) -> list[Difference]:
    diffs: list[Difference] = []
    for account in Account.objects.filter(code=codes.order_account(oid)).order_by("asset"):
        columns = [ZERO, ZERO, ZERO, ZERO]
        rows = Posting.objects.filter(account=account).values_list(
            "entry__status", "debit", "credit"
        )
        for status, dr, cr in rows:
            if status == EntryStatus.POSTED:
                columns[0] += dr
                columns[1] += cr
            elif status == EntryStatus.PENDING:
                columns[2] += dr
                columns[3] += cr
        live = [
            account.debits_posted,
            account.credits_posted,
            account.debits_pending,
            account.credits_pending,
        ]
        names = ["debits_posted", "credits_posted", "debits_pending", "credits_pending"]
        for name, want, have in zip(names, columns, live, strict=True):
            if want != have:
                diffs.append(
                    Difference(oid, f"balance[{account.asset}].{name}", str(want), str(have))
                )
    return diffs


def _fill_flows(fill: Fill, base: str, quote: str) -> dict[str, Decimal]:
    """How a fill moves the order's balances (credit-normal: + is more for the order)."""
    sign = Decimal(1) if fill.side == "buy" else Decimal(-1)
    flows: dict[str, Decimal] = defaultdict(lambda: ZERO)
    flows[base] += sign * fill.amount
    flows[quote] -= sign * fill.quote_amount
    if fill.fee and fill.fee_asset_id:
        flows[fill.fee_asset_id] -= fill.fee
    return {k: v for k, v in flows.items() if v}


def _fills(order: MarketMakingOrder, oid: str) -> list[Difference]:
    diffs: list[Difference] = []
    pair = order.pair
    base, quote = str(pair.base_asset_id), str(pair.quote_asset_id)
    order_code = codes.order_account(oid)
    fills = list(Fill.objects.filter(order=order).order_by("id"))
    entries = {
        e.idempotency_key: e
        for e in JournalEntry.objects.filter(
            idempotency_key__in=[f.ledger_key for f in fills if f.ledger_key]
        )
    }
    postings: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for entry_id, asset, dr, cr in Posting.objects.filter(
        entry_id__in=[e.pk for e in entries.values()], account__code=order_code
    ).values_list("entry_id", "account__asset", "debit", "credit"):
        postings[entry_id][asset] += cr - dr
    for fill in fills:
        name = f"fill[{fill.exchange_id}:{fill.trade_id}]"
        if not fill.ledger_key:
            continue  # not settled yet: the tracker retries; nothing booked to compare
        entry = entries.get(fill.ledger_key)
        if entry is None:
            diffs.append(Difference(oid, f"{name}.ledger_entry", fill.ledger_key, "(missing)"))
            continue
        want = _fill_flows(fill, base, quote)
        have = {k: v for k, v in postings[entry.pk].items() if v}
        for asset in sorted(set(want) | set(have)):
            if want.get(asset, ZERO) != have.get(asset, ZERO):
                diffs.append(
                    Difference(
                        oid,
                        f"{name}.ledger[{asset}]",
                        str(want.get(asset, ZERO)),
                        str(have.get(asset, ZERO)),
                    )
                )
    sums = dict(
        Fill.objects.filter(order=order)
        .values("tracked_order_id")
        .annotate(total=Sum("amount"))
        .values_list("tracked_order_id", "total")
    )
    tracked = TrackedOrder.objects.filter(session__order=order).only(
        "pk", "client_order_id", "filled"
    )
    for t in tracked:
        want_filled = sums.get(t.pk, ZERO)
        if want_filled != t.filled:
            diffs.append(
                Difference(
                    oid, f"tracked[{t.client_order_id}].filled", str(want_filled), str(t.filled)
                )
            )
    return diffs
