"""The audit log: every operator action and every rejected operation leaves a row."""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.http import HttpRequest

from mrmarket.enums import AuditOutcome
from mrmarket.logging import current_trace_id
from mrmarket.models import AuditEvent, User
from mrmarket.throttles import client_address, counter_hit

log = structlog.get_logger(__name__)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    outcome: str = AuditOutcome.OK,
    actor: User | None = None,
    target_type: str = "",
    target_id: str = "",
    reason: str = "",
    payload: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent:
    if actor is not None and not getattr(actor, "pk", None):
        actor = None
    event = AuditEvent.objects.create(
        actor=actor,
        action=action[:120],
        outcome=outcome,
        target_type=target_type[:60],
        target_id=str(target_id)[:100],
        reason=reason,
        payload=payload or {},
        ip=client_ip(request),
        trace_id=current_trace_id() or "",
    )
    log.info(
        "audit_recorded",
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=str(target_id),
        actor_id=str(actor.pk) if actor else None,
    )
    return event


def audit_rejected(
    *,
    action: str,
    reason: str,
    payload: dict[str, Any] | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> AuditEvent | None:
    """A rejected-request row, at most AUDIT_REJECTED_PER_MINUTE per client address.

    Unauthenticated callers can produce rejections as fast as they can send requests; past
    the limit the rejection is logged (`audit_suppressed`) instead of growing the table, and
    one `audit.suppressed` row marks where the suppression began.
    """
    address = client_address(request) if request is not None else "internal"
    hit = counter_hit(f"audit:rejected:{address}", 60)
    limit = settings.AUDIT_REJECTED_PER_MINUTE
    if hit.over(limit):
        log.warning("audit_suppressed", action=action, ip=address, count=hit.count)
        if hit.count == limit + 1:
            return audit_record(
                action="audit.suppressed",
                outcome=AuditOutcome.REJECTED,
                reason=f"more than {limit} rejected requests a minute from this address",
                payload={"first_suppressed": action},
                request=request,
            )
        return None
    return audit_record(
        action=action,
        outcome=AuditOutcome.REJECTED,
        actor=actor,
        reason=reason,
        payload=payload,
        request=request,
    )
