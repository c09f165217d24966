"""The end of a chaos run: every coin accounted for, from the outside world's records (the fake
custody's payments and sends, the paper venue's withdrawals and orders) and the ledger's.

Per user and asset: paid in (custody's incoming payments from the user) + trading result
(fills settled to the user's orders, venue fees included) + rewards = paid back (custody's
confirmed transfers to the user) + fees booked (network and service fees charged to the user's
orders) + what is left on the user's ledger accounts. And the ledger's own view of each side
must equal the outside world's: deposits credited = paid in, refunds posted = paid back.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from exchanges.paper.models import PaperOrder, PaperWithdrawal
from ledger.enums import EntryKind, EntryStatus
from ledger.models import Account, Posting
from ledger.selectors import ledger_verify_report
from orders.enums import OPEN_TRANSFER_STATUSES, TERMINAL_STATES
from orders.models import CustodyTransfer, MarketMakingOrder, PaymentSnapshot
from orders.services.reconcile import custody_reconcile
from standins.custody.models import FakeCustodySnapshot, FakeCustodyTransaction
from strategy.models import OrderIntent

ZERO = Decimal(0)


def _s(value: Decimal) -> str:
    text = format(value, "f")
    return (text.rstrip("0").rstrip(".") if "." in text else text) or "0"


def _money_by_user(world: Any) -> tuple[list[dict[str, str]], list[str]]:
    users = [str(u.pk) for u in world.users]
    owner = {
        str(pk): str(user) for pk, user in MarketMakingOrder.objects.values_list("pk", "user_id")
    }
    paid_in: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r_in in (
        FakeCustodySnapshot.objects.filter(amount__gt=0, deposit_hash__isnull=True)
        .values("opponent_id", "asset_id")
        .annotate(total=Sum("amount"))
    ):
        paid_in[(r_in["opponent_id"], r_in["asset_id"])] += Decimal(r_in["total"])
    paid_back: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r_back in (
        FakeCustodyTransaction.objects.filter(kind="transfer", status="confirmed")
        .values("opponent_id", "asset_id")
        .annotate(total=Sum("amount"))
    ):
        paid_back[(r_back["opponent_id"], r_back["asset_id"])] += Decimal(r_back["total"])
    # Net per (user, asset, kind) on the user's liability accounts: credits increase them.
    net: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    accounts = Account.objects.filter(Q(user_id__isnull=False) | Q(order_id__isnull=False))
    for r_post in (
        Posting.objects.filter(account__in=accounts, entry__status=EntryStatus.POSTED)
        .values("account__user_id", "account__order_id", "account__asset", "entry__kind")
        .annotate(cr=Sum("credit"), dr=Sum("debit"))
    ):
        user = str(r_post["account__user_id"] or owner.get(str(r_post["account__order_id"]), ""))
        net[(user, r_post["account__asset"], r_post["entry__kind"])] += Decimal(
            r_post["cr"]
        ) - Decimal(r_post["dr"])
    assets = sorted({a for (_, a) in paid_in} | {a for (_, a, _) in net})
    rows, failures = [], []
    for user in users:
        for asset in assets:
            by_kind = {kind: v for (u, a, kind), v in net.items() if u == user and a == asset}

            def k(kind: str, by_kind: dict[str, Decimal] = by_kind) -> Decimal:
                return by_kind.get(kind, ZERO)

            fees = -(k(EntryKind.FEE) + k(EntryKind.SERVICE_FEE) + k(EntryKind.CUSTODY_MOVE))
            trade = k(EntryKind.FILL)
            rewards = k(EntryKind.REWARD)
            other = k(EntryKind.TRANSFER)
            left = sum(by_kind.values(), ZERO)
            p_in, p_back = paid_in.get((user, asset), ZERO), paid_back.get((user, asset), ZERO)
            if not any((p_in, p_back, fees, trade, left)):
                continue
            balance = p_in + trade + rewards + other - p_back - fees - left
            line = {
                "user": user[:8],
                "asset": asset[:8],
                "paidIn": _s(p_in),
                "paidBack": _s(p_back),
                "fees": _s(fees),
                "trading": _s(trade),
                "left": _s(left),
                "unexplained": _s(balance),
            }
            rows.append(line)
            if balance != 0:
                failures.append(f"user {user} asset {asset}: {balance} unexplained")
            if k(EntryKind.DEPOSIT) != p_in:
                failures.append(
                    f"user {user} asset {asset}: ledger credited {k(EntryKind.DEPOSIT)}, paid in {p_in}"
                )
            if -k(EntryKind.REFUND) != p_back:
                failures.append(
                    f"user {user} asset {asset}: ledger refunded {-k(EntryKind.REFUND)}, "
                    f"custody paid back {p_back}"
                )
    return rows, failures


def _sends() -> tuple[dict[str, int], list[str]]:
    failures = []
    known = set(CustodyTransfer.objects.values_list("request_id", flat=True))
    sent = list(FakeCustodyTransaction.objects.values_list("request_id", "status"))
    stray = [r for r, _ in sent if r not in known]
    if stray:
        failures.append(f"{len(stray)} custody send(s) without a transfer intent")
    moves_back = {
        t.request_id.replace("-", ""): t
        for t in CustodyTransfer.objects.filter(purpose="venue_to_custody")
    }
    withdrawals = Counter(PaperWithdrawal.objects.values_list("client_id", flat=True))
    twice = [c for c, n in withdrawals.items() if n > 1]
    unknown = [c for c in withdrawals if c not in moves_back]
    if twice or unknown:
        failures.append(f"venue withdrawals: {len(twice)} twice, {len(unknown)} without intent")
    dup_orders = (
        PaperOrder.objects.exclude(client_order_id=None)
        .values("venue", "account", "client_order_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    no_id = PaperOrder.objects.filter(client_order_id=None).count()
    intents = set(OrderIntent.objects.values_list("client_order_id", flat=True))
    orphan = (
        PaperOrder.objects.exclude(client_order_id=None)
        .exclude(client_order_id__in=intents)
        .count()
    )
    if dup_orders or no_id or orphan:
        failures.append(
            f"exchange orders: {dup_orders} placed twice, {no_id} without client id, "
            f"{orphan} without an intent"
        )
    figures = {
        "custodySends": len(sent),
        "custodySendsConfirmed": sum(1 for _, s in sent if s == "confirmed"),
        "venueWithdrawals": sum(withdrawals.values()),
        "exchangeOrders": PaperOrder.objects.count(),
        "exchangeOrdersPlacedTwice": dup_orders,
    }
    return figures, failures


def run(
    *,
    world: Any,
    plan_counts: dict[str, int],
    kills: int,
    settled: bool,
    settle_seconds: float,
    total_seconds: float,
    seed: int,
) -> dict[str, Any]:
    failures: list[str] = []
    ids = [p.order_id for p in world.orders]
    states = Counter(MarketMakingOrder.objects.filter(pk__in=ids).values_list("state", flat=True))
    not_final = {s: n for s, n in states.items() if s not in TERMINAL_STATES}
    if not settled or not_final:
        failures.append(f"not settled: orders outside a final state {not_final}")
    verify = ledger_verify_report()
    if not verify.ok:
        failures.append(f"ledger_verify: {verify}")
    open_transfers = (
        CustodyTransfer.objects.filter(status__in=OPEN_TRANSFER_STATUSES)
        .exclude(status="confirmed", purpose="refund")
        .count()
    )
    if open_transfers:
        failures.append(f"{open_transfers} transfer(s) still open")
    issues = CustodyTransfer.objects.exclude(operator_issue="").count()
    quarantined = PaymentSnapshot.objects.filter(status="quarantined").count()
    money, money_failures = _money_by_user(world)
    failures += money_failures
    sends, send_failures = _sends()
    failures += send_failures
    reconciliation = custody_reconcile(source="command")
    if not reconciliation.ok:
        failures.append(f"reconciliation: {reconciliation.drifts} {reconciliation.errors}")
    scenarios = Counter(p.scenario for p in world.orders)
    snapshots = Counter(PaymentSnapshot.objects.values_list("status", flat=True))
    transfers = Counter(CustodyTransfer.objects.values_list("purpose", "status"))
    return {
        "ok": not failures,
        "failures": failures,
        "seed": seed,
        "orders": len(ids),
        "users": len(world.users),
        "scenarios": dict(scenarios),
        "finalStates": dict(states),
        "payments": dict(snapshots),
        "transfers": {f"{p}:{s}": n for (p, s), n in transfers.items()},
        "openTransfers": open_transfers,
        "operatorIssues": issues,
        "quarantined": quarantined,
        "faultsInjected": plan_counts,
        "processKills": kills,
        "apiErrors": world.api_errors,
        "ledgerVerify": "clean" if verify.ok else str(verify),
        "reconciliation": "in balance" if reconciliation.ok else "drift",
        "sends": sends,
        "money": money,
        "settleSeconds": round(settle_seconds, 1),
        "totalSeconds": round(total_seconds, 1),
    }


def print_report(report: dict[str, Any]) -> None:
    print("chaos run:", "PASS" if report["ok"] else "FAIL", f"(seed {report['seed']})")
    for key in (
        "orders", "users", "scenarios", "finalStates", "payments", "transfers",
        "openTransfers", "operatorIssues", "quarantined", "faultsInjected", "processKills",
        "apiErrors", "ledgerVerify", "reconciliation", "sends", "settleSeconds", "totalSeconds",
    ):  # fmt: skip
        print(f"  {key}: {report[key]}")
    print("  money per user and asset (paid in + trading = paid back + fees + left):")
    for row in report["money"]:
        print("    " + "  ".join(f"{k}={v}" for k, v in row.items()))
    for failure in report["failures"]:
        print("  FAILED:", failure)
