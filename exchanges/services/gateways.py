"""Gateways of stored venue accounts: the one place other apps get a `VenueGateway` from.

A ccxt client keeps its loaded markets and HTTP session, so building one per request would
reload markets every time. `GatewayRegistry` owns the built gateways of one process, keyed
by (exchange, account index) and fingerprinted by both rows' `updated_at`, so a change to the
exchange's options or the account's keys rebuilds it at the next call. The process's
registry is `gateway_registry`; writes that change an exchange or an account clear it
(`gateway_cache_clear`), and tests swap its `builder` for a fake.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from exchanges.enums import ExchangeKind
from exchanges.exceptions import ExchangeNotFound, VenueAccountNotFound, VenueMisconfigured
from exchanges.models import Exchange, VenueAccount
from exchanges.services.keys import venue_credentials_get
from exchanges.venues.base import VenueError, VenueGateway
from exchanges.venues.factory import VenueCredentials, build_gateway

log = structlog.get_logger(__name__)

Builder = Callable[..., VenueGateway]


def build_gateway_for(
    *,
    kind: str,
    venue: str,
    account: str,
    credentials: VenueCredentials | None = None,
    options: Mapping[str, Any] | None = None,
) -> VenueGateway:
    """The one call into the venue factory."""
    return build_gateway(
        kind=kind, venue=venue, account=account, credentials=credentials, options=options
    )


class GatewayRegistry:
    """The built gateways of one process (see the module docstring)."""

    def __init__(self, builder: Builder = build_gateway_for) -> None:
        self.builder = builder
        self._gateways: dict[tuple[str, int], tuple[tuple[object, ...], VenueGateway]] = {}
        self._lock = threading.Lock()

    def clear(self, *, exchange_id: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._gateways if exchange_id is None or k[0] == exchange_id]:
                del self._gateways[key]

    def get(self, *, exchange_id: str, account_index: int = 0) -> VenueGateway:
        exchange = Exchange.objects.filter(exchange_id=exchange_id, enable=True).first()
        if exchange is None:
            raise ExchangeNotFound(f"exchange {exchange_id!r} does not exist or is disabled.")
        account = VenueAccount.objects.filter(
            exchange=exchange, index=account_index, enabled=True
        ).first()
        if account is None and account_index != 0:
            raise VenueAccountNotFound(f"account {exchange_id}:{account_index} does not exist.")
        fingerprint = (exchange.updated_at, account.updated_at if account else None)
        key = (exchange_id, account_index)
        with self._lock:
            cached = self._gateways.get(key)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
        options: dict[str, Any] = dict(exchange.options or {})
        if exchange.kind == ExchangeKind.CCXT:
            options.setdefault("ccxt_id", exchange.ccxt_id)
        try:
            gateway = self.builder(
                kind=exchange.kind,
                venue=exchange_id,
                account=f"{exchange_id}:{account_index}",
                credentials=venue_credentials_get(account=account) if account else None,
                options=options,
            )
        except VenueError:
            raise
        except Exception as exc:
            # Only the type is reported: a driver's message may quote its configuration.
            log.error(
                "venue_gateway_build_failed", venue=exchange_id, error_type=type(exc).__name__
            )
            raise VenueMisconfigured(
                f"{exchange_id} cannot be reached: its gateway could not be built "
                f"({type(exc).__name__}); check the exchange's kind and options."
            ) from None
        with self._lock:
            self._gateways[key] = (fingerprint, gateway)
        log.info("venue_gateway_built", venue=exchange_id, account=f"{exchange_id}:{account_index}")
        return gateway


# The process's registry: web, worker and beat processes each build their own gateways.
gateway_registry = GatewayRegistry()


def gateway_cache_clear(*, exchange_id: str | None = None) -> None:
    gateway_registry.clear(exchange_id=exchange_id)


def venue_gateway_get(*, exchange_id: str, account_index: int = 0) -> VenueGateway:
    """The gateway of an enabled exchange's account (`exchange_id:account_index`).

    Without a stored account (public market data, the paper venue) the gateway gets no
    credentials; a disabled account is treated as absent so a paused key is never used.
    """
    return gateway_registry.get(exchange_id=exchange_id, account_index=account_index)
