"""The custody boundary (DESIGN §6): the gateway protocol and the Mixin Safe client.

`custody_gateway()` returns the implementation `settings.CUSTODY_BACKEND` selects: `mixin`
(built here), or a backend another app registered — the fake custody (`standins.custody`,
never installed in production) registers `fake` when Django is ready.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from orders.custody.base import CustodyGateway
from orders.custody.mixin.auth import MixinSession
from orders.custody.mixin.client import MixinSafeCustody

_backends: dict[str, Callable[[], CustodyGateway]] = {}


def custody_backend_register(name: str, factory: Callable[[], CustodyGateway]) -> None:
    """Called by an app that provides a custody backend, from its AppConfig.ready."""
    if name == "mixin":
        raise ValueError("'mixin' is the real custody; it cannot be replaced")
    _backends[name] = factory


def custody_gateway() -> CustodyGateway:
    backend = settings.CUSTODY_BACKEND
    if backend == "mixin":
        if not (settings.MIXIN_SESSION_ID and settings.MIXIN_SESSION_PRIVATE_KEY):
            raise ImproperlyConfigured(
                "CUSTODY_BACKEND=mixin needs MIXIN_SESSION_ID and MIXIN_SESSION_PRIVATE_KEY"
            )
        session = MixinSession.from_settings(
            user_id=settings.MIXIN_APP_ID,
            session_id=settings.MIXIN_SESSION_ID,
            private_key=settings.MIXIN_SESSION_PRIVATE_KEY,
        )
        return MixinSafeCustody(
            base_url=settings.MIXIN_API_BASE, session=session, timeout=settings.MIXIN_HTTP_TIMEOUT
        )
    factory = _backends.get(backend)
    if factory is None:
        raise ImproperlyConfigured(
            f"CUSTODY_BACKEND={backend!r} is not installed: 'mixin', or 'fake' with the "
            "fake custody app (standins.custody, never in production)"
        )
    return factory()
