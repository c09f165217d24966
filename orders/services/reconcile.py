"""Reconciliation: the ledger's custody accounts against the real world (DESIGN §3).

For every asset the ledger holds in `custody:mixin`, the custody wallet's balance; for every
venue account's `custody:venue:<venue>:<account>`, the venue's total balance (free + used).
The ledger side is `available` (posted minus pending outflows): money already on its way out
is not counted, money on its way in is not yet counted — the same as a wallet sees it, except
for the moment between persisting a send and the sender acting on it, which is why only a drift
seen twice in a row is *persistent*. A persistent drift is an issue in /health/system-status
and halts risk-increasing actions on that venue (the strategy runtime's kill switch).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog

from exchanges.models import Asset, AssetNetwork, VenueAccount
from exchanges.services import venue_gateway_get
from exchanges.venues.base import VenueError
from ledger import codes as ledger_codes
from ledger.models import Account
from ledger.selectors import balance_of
from orders.custody import custody_gateway
from orders.custody.base import CustodyError
from orders.models import ReconciliationRun

log = structlog.get_logger(__name__)


def _venue_symbol(asset_id: str, exchange_id: str) -> str | None:
    network = AssetNetwork.objects.filter(
        asset_id=asset_id, exchange__exchange_id=exchange_id
    ).first()
    if network is not None:
        return network.currency
    asset = Asset.objects.filter(pk=asset_id).first()
    return asset.symbol if asset else None


def _drift(account: str, asset: str, ledger: Decimal, actual: Decimal) -> dict[str, str] | None:
    if ledger == actual:
        return None
    return {"account": account, "assetId": asset, "ledger": str(ledger), "actual": str(actual)}


def custody_reconcile() -> ReconciliationRun:
    drifts: list[dict[str, str]] = []
    errors: list[str] = []
    custody = custody_gateway()
    for account in Account.objects.filter(code=ledger_codes.CUSTODY_MIXIN).order_by("asset"):
        try:
            actual = custody.wallet_balance(asset_id=account.asset)
        except CustodyError as exc:
            errors.append(f"custody {account.asset}: {exc}")
            continue
        row = _drift(account.code, account.asset, balance_of(account).available, actual)
        if row:
            drifts.append(row)
    for venue_account in VenueAccount.objects.filter(enabled=True).select_related("exchange"):
        exchange_id = venue_account.exchange.exchange_id
        code = ledger_codes.custody_venue(exchange_id, str(venue_account.index))
        rows = list(Account.objects.filter(code=code).order_by("asset"))
        if not rows:
            continue
        try:
            balances = venue_gateway_get(
                exchange_id=exchange_id, account_index=venue_account.index
            ).fetch_balances()
        except VenueError as exc:
            errors.append(f"{code}: {exc}")
            continue
        for account in rows:
            symbol = _venue_symbol(account.asset, exchange_id)
            actual = balances[symbol].total if symbol in balances else Decimal(0)
            row = _drift(code, account.asset, balance_of(account).available, actual)
            if row:
                drifts.append(row)
    previous = ReconciliationRun.objects.order_by("-id").first()
    persistent = (
        bool(drifts) and previous is not None and _keys(previous.drifts) & _keys(drifts) != set()
    )
    run = ReconciliationRun.objects.create(
        ok=not drifts and not errors, persistent=persistent, drifts=drifts, errors=errors
    )
    if drifts:
        log.warning("custody_drift", count=len(drifts), persistent=persistent)
    _halt_drifting_venues(run)
    return run


def _halt_drifting_venues(run: ReconciliationRun) -> None:
    """A venue whose books and balances disagree persistently takes no new orders (cancels
    still go out) until an operator has looked and released its kill switch."""
    from strategy.enums import KillScope
    from strategy.models import KillSwitch
    from strategy.services import kill_switch_set

    for venue in sorted(persistent_drift_venues(run)):
        if KillSwitch.objects.filter(scope=KillScope.VENUE, key=venue, active=True).exists():
            continue
        kill_switch_set(
            scope=KillScope.VENUE,
            key=venue,
            active=True,
            actor=None,
            reason=f"custody drift persists (reconciliation run {run.pk})",
        )


def custody_drift_persists() -> bool:
    """Whether the custody wallet itself disagrees with the ledger (last run, persistently):
    withdrawals to venues wait until it is resolved."""
    run = ReconciliationRun.objects.order_by("-id").first()
    return bool(
        run
        and run.persistent
        and any(d["account"] == ledger_codes.CUSTODY_MIXIN for d in run.drifts)
    )


def _keys(rows: list[Any]) -> set[tuple[str, str]]:
    return {(row["account"], row["assetId"]) for row in rows}


def persistent_drift_venues(run: ReconciliationRun) -> set[str]:
    """Venue ids whose custody account drifted persistently in this run."""
    venues = set()
    for row in run.drifts if run.persistent else []:
        spec = ledger_codes.account_spec(row["account"])
        if spec.venue:
            venues.add(spec.venue)
    return venues
