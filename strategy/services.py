"""strategy: writes — the seam the order lifecycle calls (decision 0003), operator/user
sessions from the `/strategy/execute-*` DTOs, console controls and kill switches.

The seam functions run INSIDE the order's transition transaction: no venue I/O here. They
write rows (session state, cancel intents) and kick the executor / tracker with
`transaction.on_commit`, so nothing is sent for a transition that rolls back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from exchanges.models import Exchange, MarketMakingPair, SpotPair
from mrmarket.audit import audit_record
from mrmarket.exceptions import ValidationFailed
from mrmarket.models import User
from strategy import venues
from strategy.dispatch import account_sync_request
from strategy.enums import KillScope, SessionKind, SessionState, TrackedStatus
from strategy.exceptions import (
    SessionNotFound,
    SessionOwnedByOrder,
    SessionStopped,
    UserSessionsDisabled,
)
from strategy.executor import intents_sweep
from strategy.fills import fills_settle_pending
from strategy.intents import enqueue_on_commit, session_cancel_all
from strategy.models import KillSwitch, StrategySession, TrackedOrder
from strategy.params import ArbitrageParams, PureMarketMakingParams
from strategy.selectors import as_uuid

log = structlog.get_logger(__name__)


def _max_notional() -> Decimal | None:
    raw = settings.STRATEGY_MAX_NOTIONAL
    return Decimal(raw) if raw else None


def _after_commit_reconcile(session: StrategySession) -> None:
    """On start, the session's venue account(s) are reconciled with the venue."""
    accounts = [(session.exchange_id, session.account_index)]
    if session.exchange_b_id:
        accounts.append((session.exchange_b_id, session.account_b_index))
    for exchange_id, index in accounts:
        transaction.on_commit(
            lambda e=exchange_id, i=index: account_sync_request(  # type: ignore[misc]  # mypy cannot type a lambda with default arguments (they bind the loop values)
                exchange_id=e, account_index=i
            )
        )


# ---------------------------------------------------------------------------- the seam


@dataclass(frozen=True)
class OrderTerms:
    """What a market-making order's session is made of. The order lifecycle (the app on
    top) reads its own rows and hands them down through its seam; strategy never imports
    orders (decision 0003)."""

    order_id: uuid.UUID
    user_id: uuid.UUID
    strategy_params: dict[str, Any]
    exchange_id: str
    account_index: int
    symbol: str
    base_asset_id: str
    quote_asset_id: str


def session_start_for_order(*, terms: OrderTerms) -> StrategySession:
    """Create (or reuse) the order's session; due on the next tick. Idempotent.

    Parameters come from the order (`strategy_params`, validated), the venue account and
    pair from the order's rows; fills settle into the order's ledger account. A stopped
    session stays stopped (stop is final): it is returned as it is.
    """
    with transaction.atomic():
        existing = (
            StrategySession.objects.select_for_update()
            .filter(order_id=as_uuid(terms.order_id))
            .first()
        )
        if existing is not None:
            if existing.state == SessionState.PAUSED:
                # `created → running` again would be a lifecycle bug; reuse, never duplicate.
                log.warning("strategy_session_start_reused", session_id=existing.pk)
            return existing
        params = PureMarketMakingParams.from_dto(terms.strategy_params or {})
        now = venues.now()
        session = StrategySession.objects.create(
            order_id=terms.order_id,
            owner_id=terms.user_id,
            kind=SessionKind.PURE_MARKET_MAKING,
            params=params.to_dict(),
            exchange_id=terms.exchange_id,
            account_index=terms.account_index,
            symbol=terms.symbol,
            base_asset_id=terms.base_asset_id,
            quote_asset_id=terms.quote_asset_id,
            state=SessionState.RUNNING,
            next_run_at=now,
            max_open_orders=settings.STRATEGY_MAX_OPEN_ORDERS,
            max_notional=_max_notional(),
        )
        _after_commit_reconcile(session)
    log.info("strategy_session_started", session_id=session.pk, order_id=str(terms.order_id))
    return session


def _session_for_order(order_id: uuid.UUID | str) -> StrategySession | None:
    return StrategySession.objects.select_for_update().filter(order_id=as_uuid(order_id)).first()


def _pause(session: StrategySession, *, reason: str) -> StrategySession:
    if session.state == SessionState.RUNNING:
        StrategySession.objects.filter(pk=session.pk).update(
            state=SessionState.PAUSED, lease_until=None, lease_token=""
        )
        session.state = SessionState.PAUSED
    ids = session_cancel_all(session=session, reason=reason)
    enqueue_on_commit(ids)
    return session


def _stop(session: StrategySession, *, reason: str) -> StrategySession:
    if session.state != SessionState.STOPPED:
        StrategySession.objects.filter(pk=session.pk).update(
            state=SessionState.STOPPED, lease_until=None, lease_token="", stop_reason=reason[:500]
        )
        session.state = SessionState.STOPPED
    ids = session_cancel_all(session=session, reason=reason)
    enqueue_on_commit(ids)
    return session


def _resume(session: StrategySession) -> StrategySession:
    if session.state == SessionState.STOPPED:
        raise SessionStopped(f"session {session.pk} is stopped; stop is final.")
    if session.state == SessionState.PAUSED:
        now = venues.now()
        StrategySession.objects.filter(pk=session.pk).update(
            state=SessionState.RUNNING, next_run_at=now, lease_until=None, lease_token=""
        )
        session.state, session.next_run_at = SessionState.RUNNING, now
    return session


def session_pause_for_order(*, order_id: uuid.UUID | str) -> StrategySession | None:
    """Stop placing; cancel intents for every live order are written now (sent after commit)."""
    with transaction.atomic():
        session = _session_for_order(order_id)
        return None if session is None else _pause(session, reason="order paused")


def session_resume_for_order(*, order_id: uuid.UUID | str) -> StrategySession | None:
    with transaction.atomic():
        session = _session_for_order(order_id)
        return None if session is None else _resume(session)


def session_stop_for_order(*, order_id: uuid.UUID | str) -> StrategySession | None:
    """As pause, and final. Safe to call again (the exit calls it until nothing is live)."""
    with transaction.atomic():
        session = _session_for_order(order_id)
        return None if session is None else _stop(session, reason="order stopped")


# ---------------------------------------------------------------------------- DTO sessions


def _check_user_may_run(user: User, operator: bool | None) -> None:
    # `operator` is the caller's token type (an admin JWT); None: a trusted internal caller,
    # judged by the account. A staff user's *user* token is not an operator (issue 19).
    is_operator = user.is_staff if operator is None else operator
    if not is_operator and not settings.STRATEGY_USER_SESSIONS_ENABLED:
        raise UserSessionsDisabled(
            "Strategy sessions on the house venue accounts are for operators; "
            "users trade through market-making orders."
        )


def _exchange_check(exchange_id: str) -> None:
    if not Exchange.objects.filter(exchange_id=exchange_id, enable=True).exists():
        raise ValidationFailed(
            f"exchangeName: unknown or disabled exchange {exchange_id!r}",
            payload={"field": "exchangeName"},
        )


def _dto_session(
    *,
    user: User,
    client_id: Any,
    kind: str,
    params: dict[str, Any],
    exchange_id: str,
    exchange_b_id: str,
    symbol: str,
) -> StrategySession:
    if not isinstance(client_id, str) or not client_id.strip():
        raise ValidationFailed(
            "clientId: must be a non-empty string", payload={"field": "clientId"}
        )
    client_id = client_id.strip()[:100]
    with transaction.atomic():
        now = venues.now()
        existing = (
            StrategySession.objects.select_for_update()
            .filter(owner=user, client_id=client_id, kind=kind, order__isnull=True)
            .first()
        )
        if existing is not None and existing.state != SessionState.STOPPED:
            # Same key again: new parameters, running, due now (an idempotent restart).
            StrategySession.objects.filter(pk=existing.pk).update(
                params=params,
                exchange_id=exchange_id,
                exchange_b_id=exchange_b_id,
                symbol=symbol,
                state=SessionState.RUNNING,
                next_run_at=now,
            )
            existing.refresh_from_db()
            session = existing
        elif existing is not None:
            # A stopped session is final; the key starts a new one (history kept on the old).
            StrategySession.objects.filter(pk=existing.pk).update(
                client_id=f"{client_id}#stopped-{existing.pk}"[:100]
            )
            session = None
        else:
            session = None
        if session is None:
            session = StrategySession.objects.create(
                owner=user,
                client_id=client_id,
                kind=kind,
                params=params,
                exchange_id=exchange_id,
                exchange_b_id=exchange_b_id,
                symbol=symbol,
                state=SessionState.RUNNING,
                next_run_at=now,
                max_open_orders=settings.STRATEGY_MAX_OPEN_ORDERS,
                max_notional=_max_notional(),
            )
        audit_record(
            action=f"strategy.{kind}.execute",
            actor=user,
            target_type="strategy_session",
            target_id=str(session.pk),
            payload={"clientId": client_id},
        )
        _after_commit_reconcile(session)
    return session


def pure_mm_session_execute(
    *, user: User, dto: dict[str, Any], operator: bool | None = None
) -> StrategySession:
    """`POST /strategy/execute-pure-market-making`: run (or re-run) the (userId, clientId) session."""
    _check_user_may_run(user, operator)
    params = PureMarketMakingParams.from_dto(dto)
    _exchange_check(params.exchange_name)
    if params.oracle_exchange_name is not None:
        _exchange_check(params.oracle_exchange_name)
    return _dto_session(
        user=user,
        client_id=dto.get("clientId"),
        kind=SessionKind.PURE_MARKET_MAKING,
        params=params.to_dict(),
        exchange_id=params.exchange_name,
        exchange_b_id="",
        symbol=params.pair,
    )


def arbitrage_session_execute(
    *, user: User, dto: dict[str, Any], operator: bool | None = None
) -> StrategySession:
    _check_user_may_run(user, operator)
    params = ArbitrageParams.from_dto(dto)
    _exchange_check(params.exchange_a_name)
    _exchange_check(params.exchange_b_name)
    return _dto_session(
        user=user,
        client_id=dto.get("clientId"),
        kind=SessionKind.ARBITRAGE,
        params=params.to_dict(),
        exchange_id=params.exchange_a_name,
        exchange_b_id=params.exchange_b_name,
        symbol=params.pair,
    )


def dto_session_stop(
    *, user: User, client_id: str, kind: str, reason: str = "stopped by its owner"
) -> StrategySession:
    """`GET /strategy/stop-*`: stop the caller's (userId, clientId) session (idempotent)."""
    with transaction.atomic():
        session = (
            StrategySession.objects.select_for_update()
            .filter(owner=user, client_id=client_id, kind=kind, order__isnull=True)
            .first()
        )
        if session is None:
            raise SessionNotFound(f"No {kind} session {client_id!r}.")
        _stop(session, reason=reason)
        audit_record(
            action=f"strategy.{kind}.stop",
            actor=user,
            target_type="strategy_session",
            target_id=str(session.pk),
            reason=reason,
        )
    return session


# ---------------------------------------------------------------------------- operator


def session_control(
    *, session_id: int, action: str, actor: User | None, reason: str
) -> StrategySession:
    """Operator start/pause/stop of a session (console, `/admin/strategy/*`), audited.

    An order's session is controlled through its order (pause/resume/stop/exit), so the
    order's state and its session never disagree; here only its stop (an emergency) is
    allowed, and the order lifecycle sees no live orders afterwards.
    """
    if not reason.strip():
        raise ValidationFailed("reason: required for operator actions", payload={"field": "reason"})
    with transaction.atomic():
        session = StrategySession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            raise SessionNotFound(f"Session {session_id} not found.")
        if session.order_id is not None and action != "stop":
            raise SessionOwnedByOrder(
                f"session {session_id} belongs to order {session.order_id}; control the order."
            )
        if action == "start":
            _resume(session)
        elif action == "pause":
            _pause(session, reason=f"operator: {reason}")
        elif action == "stop":
            _stop(session, reason=f"operator: {reason}")
        else:
            raise ValidationFailed(f"action: unknown {action!r}")
        audit_record(
            action=f"strategy.session.{action}",
            actor=actor,
            target_type="strategy_session",
            target_id=str(session.pk),
            reason=reason,
        )
    return session


def _halt_sessions(scope: str, key: str) -> QuerySet[StrategySession]:
    qs = StrategySession.objects.all()
    if scope == KillScope.VENUE:
        return qs.filter(Q(exchange_id=key) | Q(exchange_b_id=key))
    if scope == KillScope.PAIR:
        return qs.filter(symbol=key)
    if scope == KillScope.SESSION:
        return qs.filter(pk=int(key)) if key.isdigit() else qs.none()
    return qs


def kill_switch_target_check(*, scope: str, key: str) -> None:
    """A halt must name something that exists: a known venue, a pair some venue lists, a
    session; a key that matches nothing would report a halt that stops nothing."""
    if scope == KillScope.VENUE and not Exchange.objects.filter(exchange_id=key).exists():
        raise ValidationFailed(f"key: no venue {key!r}", payload={"field": "key"})
    if scope == KillScope.PAIR and not (
        MarketMakingPair.objects.filter(symbol=key).exists()
        or SpotPair.objects.filter(symbol=key).exists()
        or StrategySession.objects.filter(symbol=key).exists()
    ):
        raise ValidationFailed(
            f"key: no pair {key!r} (use the unified symbol, e.g. BTC/USDT)",
            payload={"field": "key"},
        )
    if scope == KillScope.SESSION and not _halt_sessions(scope, key).exists():
        raise ValidationFailed(f"key: no session {key!r}", payload={"field": "key"})


def kill_switch_preview(*, scope: str, key: str) -> dict[str, int]:
    """What a halt would stop: running sessions and their open orders in its scope."""
    sessions = _halt_sessions(scope, key).filter(state=SessionState.RUNNING)
    return {
        "runningSessions": sessions.count(),
        "openOrders": TrackedOrder.objects.filter(
            session__in=sessions, status=TrackedStatus.OPEN
        ).count(),
    }


def kill_switch_set(
    *, scope: str, key: str, active: bool, actor: User | None, reason: str
) -> KillSwitch:
    """Halt (or release) new orders in a scope: global (key ""), venue (exchange id), pair
    (symbol) or session (id). Read fresh by every run and by the executor. Audited."""
    if scope not in KillScope.values:
        raise ValidationFailed(f"scope: must be one of {'|'.join(KillScope.values)}")
    key = "" if scope == KillScope.GLOBAL else key.strip()
    if scope != KillScope.GLOBAL and not key:
        raise ValidationFailed("key: required for a venue, pair or session halt")
    if not reason.strip():
        raise ValidationFailed("reason: required", payload={"field": "reason"})
    if active and scope != KillScope.GLOBAL:
        kill_switch_target_check(scope=scope, key=key)
    with transaction.atomic():
        now = venues.now()
        switch, _ = KillSwitch.objects.select_for_update().get_or_create(
            scope=scope, key=key, defaults={"changed_at": now}
        )
        was = switch.active
        switch.active, switch.reason, switch.actor, switch.changed_at = active, reason, actor, now
        switch.save()
        audit_record(
            action="strategy.kill_switch.on" if active else "strategy.kill_switch.off",
            actor=actor,
            target_type="kill_switch",
            target_id=f"{scope}:{key}",
            reason=reason,
            payload={"was_active": was, "active": active},
        )
    log.warning("strategy_kill_switch_set", scope=scope, key=key, active=active)
    return switch


def strategy_sweep() -> dict[str, int]:
    """Beat: re-drive intents left behind and settle fills a ledger refusal left unsettled."""
    return {"intents": intents_sweep(), "fills": fills_settle_pending()}
