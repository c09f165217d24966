"""The custody boundary (DESIGN §6): the gateway protocol, the Mixin Safe client, the fake.

`custody_gateway()` returns the implementation `settings.CUSTODY_BACKEND` selects.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from orders.custody.base import CustodyGateway


def custody_gateway() -> CustodyGateway:
    backend = settings.CUSTODY_BACKEND
    if backend == "fake":
        from orders.custody.fake import FakeCustody

        return FakeCustody()
    if backend == "mixin":
        from orders.custody.mixin.auth import MixinSession
        from orders.custody.mixin.client import MixinSafeCustody

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
    raise ImproperlyConfigured(f"CUSTODY_BACKEND must be 'fake' or 'mixin', not {backend!r}")
