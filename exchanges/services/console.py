"""Operator console writes outside the catalog: fee settings and generic registry rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.http import HttpRequest

from exchanges.models import FeeSettings
from exchanges.services.saving import (
    actor_of,
    changes_apply,
    delete_or_conflict,
    jsonable,
    validated_save,
)
from mrmarket.audit import audit_record
from mrmarket.models import User

# ---------------------------------------------------------------------------- fees

FEE_FIELDS = ("spot_fee", "market_making_fee", "enable_spot_fee", "enable_market_making_fee")


def fee_settings_ensure() -> FeeSettings:
    fees, _ = FeeSettings.objects.get_or_create(
        pk=1, defaults={"market_making_fee": settings.MARKET_MAKING_FEE_DEFAULT}
    )
    return fees


def fee_settings_update(
    *, changes: Mapping[str, Any], actor: User | None, request: HttpRequest | None = None
) -> FeeSettings:
    with transaction.atomic():
        fee_settings_ensure()
        fees = FeeSettings.objects.select_for_update().get(pk=1)
        changed = changes_apply(fees, changes, FEE_FIELDS)
        if changed:
            validated_save(fees, conflict="fee settings already exist.")
        audit_record(
            action="fee_settings.update",
            actor=actor_of(actor),
            target_type="fee_settings",
            target_id="1",
            payload={"changed": jsonable(changed)},
            request=request,
        )
    return fees


# ---------------------------------------------------------------------------- console


def registry_object_save(
    *, obj: models.Model, created: bool, actor: User | None, request: HttpRequest | None = None
) -> models.Model:
    """Console saves of registry rows (assets, networks, spot pairs): validated and audited."""
    label = obj._meta.model_name or "object"
    with transaction.atomic():
        validated_save(obj, conflict=f"{label} already exists.")
        audit_record(
            action=f"{label}.{'create' if created else 'update'}",
            actor=actor_of(actor),
            target_type=label,
            target_id=str(obj.pk),
            payload={"repr": str(obj)},
            request=request,
        )
    return obj


def registry_object_delete(
    *, obj: models.Model, actor: User | None, request: HttpRequest | None = None
) -> None:
    label = obj._meta.model_name or "object"
    pk, text = str(obj.pk), str(obj)
    with transaction.atomic():
        delete_or_conflict(obj, what=f"{label} {text}")
        audit_record(
            action=f"{label}.remove",
            actor=actor_of(actor),
            target_type=label,
            target_id=pk,
            payload={"repr": text},
            request=request,
        )
