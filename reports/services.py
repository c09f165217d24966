"""Writes of the reports app: the owner's proof page switch (audited)."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from mrmarket.audit import audit_record
from mrmarket.models import User
from orders.models import MarketMakingOrder
from reports.models import ProofPage


def proof_page_set(
    *, order: MarketMakingOrder, enabled: bool, actor: User, request: HttpRequest | None = None
) -> ProofPage:
    with transaction.atomic():
        page, _ = ProofPage.objects.select_for_update().get_or_create(order=order)
        if page.enabled != enabled:
            page.enabled = enabled
            page.save(update_fields=["enabled", "changed_at"])
            audit_record(
                action="report.proof_page_enabled" if enabled else "report.proof_page_disabled",
                actor=actor,
                target_type="order",
                target_id=str(order.pk),
                request=request,
            )
    return page
