"""Reconciliation: the ledger's custody accounts against the real world (DESIGN §3).

For every asset the ledger holds in `custody:mixin`, the custody wallet's balance; for every
venue account's `custody:venue:<venue>:<account>`, the venue's total balance (free + used) of
its trading wallet, and for `...:funding` (a venue with a separate funding wallet), of that.

Money in transit is part of what is expected. Every custody move and refund holds a pending
ledger entry from the moment it is decided until its destination confirms it, and the outside
world sees it leave and arrive at moments we do not control. So an account whose posted
balance is `P`, with pending outflows `out` and pending inflows `in`, is in balance when the
actual balance lies anywhere in `[P - out, P + in]`; the drift is the distance to that range.

A drift is *lasting* only when the same amount is off in every run over at least
`RECONCILE_LASTING_SECONDS` (a run that could not read the account neither confirms nor
breaks it). A lasting drift is an issue in /health/system-status; on a venue account it halts
risk-increasing actions on that venue (the strategy runtime's kill switch) with the reason,
and on the wallet it holds withdrawals to venues. When a later run finds the venue's accounts
in balance, the halt reconciliation set is released by itself (audited, like setting it). A
run repeated at once (a duplicated task message) finds the same and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.utils import timezone

from exchanges.models import Asset, AssetNetwork, VenueAccount
from exchanges.services import venue_gateway_get
from exchanges.venues.base import VenueError
from ledger import codes as ledger_codes
from ledger.models import Account
from ledger.selectors import Balance, balance_of
from mrmarket.money import money_str
from orders.custody import custody_gateway
from orders.custody.base import CustodyError
from orders.models import ReconciliationRun
from strategy.enums import KillScope
from strategy.models import KillSwitch
from strategy.services import kill_switch_set

log = structlog.get_logger(__name__)

# Every halt reconciliation sets starts with this; only such halts are released by it.
HALT_PREFIX = "reconciliation:"
WALLET = "mixin"  # the --venue name of the custody wallet

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class Target:
    """One place to read: the custody wallet, or one venue account, with its ledger rows."""

    label: str  # "mixin" or the venue id
    code: str  # the ledger's custody account code
    accounts: list[Account]
    venue_account: VenueAccount | None = None
    wallet: str = ledger_codes.WALLET_TRADING  # the venue wallet the code stands for


def _venue_symbol(asset_id: str, exchange_id: str) -> str | None:
    network = AssetNetwork.objects.filter(
        asset_id=asset_id, exchange__exchange_id=exchange_id
    ).first()
    if network is not None:
        return network.currency
    asset = Asset.objects.filter(pk=asset_id).first()
    return asset.symbol if asset else None


def balance_row(code: str, asset: str, balance: Balance, actual: Decimal) -> dict[str, Any]:
    """Expected (posted), actual, money in transit each way, and the drift beyond it."""
    posted = balance.posted
    if balance.credit_normal:
        out, into = balance.debits_pending, balance.credits_pending
    else:
        out, into = balance.credits_pending, balance.debits_pending
    low, high = posted - out, posted + into
    drift = actual - high if actual > high else actual - low if actual < low else Decimal(0)
    return {
        "account": code,
        "assetId": asset,
        "expected": _money(posted),
        "actual": _money(actual),
        "inTransitOut": _money(out),
        "inTransitIn": _money(into),
        "drift": _money(drift),
    }


def _money(value: Decimal) -> str:
    return money_str(value) or "0"


def _targets(*, venue: str | None, asset: str | None) -> list[Target]:
    targets = []
    if venue in (None, WALLET):
        rows = Account.objects.filter(code=ledger_codes.CUSTODY_MIXIN).order_by("asset")
        if asset:
            rows = rows.filter(asset=asset)
        targets.append(Target(WALLET, ledger_codes.CUSTODY_MIXIN, list(rows)))
    accounts = VenueAccount.objects.filter(enabled=True).select_related("exchange")
    for venue_account in accounts.order_by("exchange__exchange_id", "index"):
        exchange_id = venue_account.exchange.exchange_id
        if venue not in (None, exchange_id):
            continue
        for wallet in (ledger_codes.WALLET_TRADING, ledger_codes.WALLET_FUNDING):
            code = ledger_codes.custody_venue(exchange_id, str(venue_account.index), wallet)
            rows = Account.objects.filter(code=code).order_by("asset")
            if asset:
                rows = rows.filter(asset=asset)
            if rows.exists():
                targets.append(Target(exchange_id, code, list(rows), venue_account, wallet))
    return targets


def _read(target: Target) -> list[dict[str, Any]]:
    """The rows of one target; raises CustodyError / VenueError when it cannot be read."""
    if target.venue_account is None:
        custody = custody_gateway()
        return [
            balance_row(a.code, a.asset, balance_of(a), custody.wallet_balance(asset_id=a.asset))
            for a in target.accounts
        ]
    balances = venue_gateway_get(
        exchange_id=target.label, account_index=target.venue_account.index
    ).fetch_balances(wallet=target.wallet)
    rows = []
    for account in target.accounts:
        symbol = _venue_symbol(account.asset, target.label)
        actual = balances[symbol].total if symbol in balances else Decimal(0)
        rows.append(balance_row(account.code, account.asset, balance_of(account), actual))
    return rows


def _lasting_since(key: tuple[str, str], drift: Decimal, now: datetime) -> datetime | None:
    """The earliest run from which every run that read this account saw the same drift."""
    since = None
    recent = ReconciliationRun.objects.filter(created_at__lte=now).order_by("-created_at")
    for run in recent[:500]:
        row = next((r for r in run.rows if (r["account"], r["assetId"]) == key), None)
        if row is None:
            continue  # not read in that run
        if Decimal(row["drift"]) != drift:
            break
        since = run.created_at
    return since


def custody_reconcile(
    *,
    venue: str | None = None,
    asset: str | None = None,
    source: str = "periodic",
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ReconciliationRun:
    """Read every custody account (or those of `venue` / `asset`), record the run, halt or
    release venues by what it found. `progress(done, total, label)` is told each read."""
    now = now or timezone.now()
    window = timedelta(seconds=settings.RECONCILE_LASTING_SECONDS)
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    targets = _targets(venue=venue, asset=asset)
    for done, target in enumerate(targets, start=1):
        try:
            rows += _read(target)
        except (CustodyError, VenueError) as exc:
            errors.append(f"{target.code}: {type(exc).__name__}: {exc}")
        if progress is not None:
            progress(done, len(targets), target.label)
    drifts = []
    for row in rows:
        drift = Decimal(row["drift"])
        if drift == 0:
            continue
        since = _lasting_since((row["account"], row["assetId"]), drift, now)
        lasting = since is not None and now - since >= window
        drifts.append({**row, "lasting": lasting, "since": since.isoformat() if since else None})
    run = ReconciliationRun.objects.create(
        created_at=now,
        source=source,
        ok=not drifts and not errors,
        persistent=any(d["lasting"] for d in drifts),
        rows=rows,
        drifts=drifts,
        errors=errors,
    )
    if drifts:
        log.warning("custody_drift", count=len(drifts), lasting=run.persistent, run_id=run.pk)
    run.actions = _halt_lasting(run) + (
        _release_cleared(run) if settings.RECONCILE_AUTO_RELEASE else []
    )
    if run.actions:
        run.save(update_fields=["actions"])
    return run


def _venue_of(code: str) -> str | None:
    return ledger_codes.account_spec(code).venue or None


def _halt_lasting(run: ReconciliationRun) -> list[dict[str, str]]:
    """A venue whose books and balances disagree lastingly takes no new orders (cancels still
    go out) until the drift clears or an operator releases it."""
    actions = []
    for venue in sorted(persistent_drift_venues(run)):
        if KillSwitch.objects.filter(scope=KillScope.VENUE, key=venue, active=True).exists():
            continue
        rows = [d for d in run.drifts if d["lasting"] and _venue_of(d["account"]) == venue]
        why = "; ".join(
            f"{d['account']} {d['assetId']} off by {d['drift']} since {d['since']}"
            for d in rows[:3]
        )
        reason = f"{HALT_PREFIX} custody drift lasts (run {run.pk}): {why}"
        kill_switch_set(scope=KillScope.VENUE, key=venue, active=True, actor=None, reason=reason)
        actions.append({"halt": venue, "reason": reason})
    return actions


def _release_cleared(run: ReconciliationRun, *, actor: Any = None) -> list[dict[str, str]]:
    """Release the halts reconciliation set on venues this run read in full and found in
    balance. A halt an operator set (another reason or an actor) is never touched."""
    read = {_venue_of(r["account"]) for r in run.rows}
    failed = {_venue_of(error.split(": ", 1)[0]) for error in run.errors}
    drifting = {_venue_of(d["account"]) for d in run.drifts}
    actions = []
    halts = KillSwitch.objects.filter(
        scope=KillScope.VENUE, active=True, reason__startswith=HALT_PREFIX, actor__isnull=True
    )
    for halt in halts:
        if halt.key not in read or halt.key in failed or halt.key in drifting:
            continue
        reason = f"{HALT_PREFIX} drift cleared (run {run.pk})"
        kill_switch_set(
            scope=KillScope.VENUE, key=halt.key, active=False, actor=actor, reason=reason
        )
        actions.append({"release": halt.key, "reason": reason})
    return actions


def reconcile_release(*, run: ReconciliationRun, actor: Any = None) -> list[dict[str, str]]:
    """`manage.py reconcile --release`: release reconciliation's halts on venues in balance
    in `run` (whatever RECONCILE_AUTO_RELEASE says). Audited by the kill switch service."""
    actions = _release_cleared(run, actor=actor)
    if actions:
        run.actions = [*run.actions, *actions]
        run.save(update_fields=["actions"])
    return actions


def custody_drift_persists() -> bool:
    """Whether the custody wallet itself disagrees with the ledger lastingly (last run that
    read it): withdrawals to venues wait until it is resolved."""
    for run in ReconciliationRun.objects.order_by("-created_at", "-id")[:20]:
        if not any(r["account"] == ledger_codes.CUSTODY_MIXIN for r in run.rows):
            continue
        return any(d["lasting"] and d["account"] == ledger_codes.CUSTODY_MIXIN for d in run.drifts)
    return False


def persistent_drift_venues(run: ReconciliationRun) -> set[str]:
    """Venue ids whose custody account drifted lastingly in this run."""
    return {
        venue
        for d in run.drifts
        if d.get("lasting") and (venue := _venue_of(d["account"])) is not None
    }
