"""Permissions: user routes (bearer user token), admin routes (admin JWT), legacy `userId` checks."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.request import Request

from mrmarket.enums import TokenKind


def is_operator(request: Request) -> bool:
    """Operator powers come from the token, never from the account alone: an admin JWT of a
    staff user. A staff user's user token (or console session) is an ordinary user here."""
    token = request.auth
    return bool(
        request.user
        and request.user.is_authenticated
        and getattr(token, "kind", None) == TokenKind.ADMIN
        and request.user.is_staff
    )


class IsAdminJwt(permissions.BasePermission):
    message = "Admin token required."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_operator(request)


class IsUser(permissions.BasePermission):
    """Any authenticated bearer (user token or admin JWT); `userId`, when sent, must be the caller."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        user_id_matches(request)
        return True


def user_id_matches(request: Request) -> None:
    """The legacy contract sends `userId`; it must equal the token's user or the call is 403."""
    candidates = [request.query_params.get("userId")]
    data = request.data if isinstance(request.data, dict) else {}
    candidates.append(data.get("userId"))
    for value in candidates:
        if value not in (None, "") and str(value).lower() != str(request.user.pk).lower():
            raise exceptions.PermissionDenied("userId does not match the authenticated user.")
