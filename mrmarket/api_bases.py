"""Base classes every app's API views share (one definition each)."""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.views import APIView


class PublicApi(APIView):
    """An endpoint anyone may call: no authentication is even attempted."""

    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]
