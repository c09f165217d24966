"""The audit log: every operator action and every rejected operation leaves a row."""

from __future__ import annotations

from typing import Any

import structlog
from django.http import HttpRequest

from mrmarket.enums import AuditOutcome
from mrmarket.logging import current_trace_id
from mrmarket.models import AuditEvent, User

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
