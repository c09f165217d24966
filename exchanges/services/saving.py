"""Saving registry rows: Python validation mirroring the database constraints (friendly
400/409, the database has the last word), guarded deletes, and audit payload helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError

from exchanges.exceptions import (
    AlreadyExists,
    ExchangeInUse,
)
from mrmarket.exceptions import ValidationFailed
from mrmarket.models import User
from mrmarket.money import money_str


def _messages(exc: DjangoValidationError) -> str:
    if hasattr(exc, "error_dict"):
        parts = []
        for field, errors in exc.message_dict.items():
            for message in errors:
                parts.append(message if field == "__all__" else f"{field}: {message}")
        return "; ".join(parts)
    return "; ".join(exc.messages)


def _is_unique_violation(exc: DjangoValidationError) -> bool:
    errors: Iterable[DjangoValidationError]
    if hasattr(exc, "error_dict"):
        errors = [e for group in exc.error_dict.values() for e in group]
    else:
        errors = exc.error_list
    return any(e.code in {"unique", "unique_together"} for e in errors)


def validated_save(obj: models.Model, *, conflict: str) -> None:
    """Python checks mirror the database constraints (friendly 400/409); the database has the last word."""
    try:
        obj.full_clean()
    except DjangoValidationError as exc:
        if _is_unique_violation(exc):
            raise AlreadyExists(conflict) from None
        raise ValidationFailed(_messages(exc)) from None
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise AlreadyExists(conflict) from None


def delete_or_conflict(obj: models.Model, *, what: str) -> None:
    try:
        with transaction.atomic():
            obj.delete()
    except (ProtectedError, RestrictedError) as exc:
        users = sorted({type(o)._meta.verbose_name_plural for o in exc.args[1]})
        raise ExchangeInUse(
            f"{what} is still referenced by {', '.join(str(u) for u in users)}; "
            "disable it instead, or remove those first."
        ) from None


def actor_of(user: Any) -> User | None:
    return user if isinstance(user, User) and user.pk else None


def changes_apply(
    obj: models.Model, changes: Mapping[str, Any], allowed: Iterable[str]
) -> dict[str, Any]:
    """Sets the allowed changed fields on `obj`; returns {field: new value} of what really changed."""
    allowed_set = set(allowed)
    changed: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in allowed_set:
            raise ValidationFailed(f"{field} cannot be changed.")
        if getattr(obj, field) != value:
            setattr(obj, field, value)
            changed[field] = value
    return changed


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = money_str(value)
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, models.Model):
            out[key] = str(value.pk)
        elif isinstance(value, str | int | float | bool | type(None) | dict | list):
            out[key] = value
        else:
            out[key] = str(value)
    return out
