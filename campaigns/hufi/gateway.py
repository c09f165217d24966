"""Builds the HuFi clients from settings; one token manager per (oracle, wallet) per process.

Settings are read at call time so tests can point them at the loopback emulator.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from django.conf import settings

from campaigns.hufi.launcher import CampaignLauncherClient
from campaigns.hufi.oracle import RecordingOracleClient
from campaigns.hufi.tokens import OracleTokenManager
from campaigns.hufi.wallet import ServiceWallet

_managers: dict[tuple[str, str], OracleTokenManager] = {}
_managers_lock = threading.Lock()


def service_wallet() -> ServiceWallet:
    return ServiceWallet(private_key=settings.HUFI_WALLET_PRIVATE_KEY)


def launcher_client(*, timeout: float | None = None) -> CampaignLauncherClient:
    return CampaignLauncherClient(
        base_url=settings.HUFI_CAMPAIGN_LAUNCHER_URL,
        timeout=timeout if timeout is not None else settings.HUFI_HTTP_TIMEOUT,
    )


def oracle_token_manager() -> OracleTokenManager:
    """The process-wide manager: its in-process lock is what makes threads single-flight."""
    wallet = service_wallet()
    key = (settings.HUFI_RECORDING_ORACLE_URL, wallet.address)
    with _managers_lock:
        manager = _managers.get(key)
        if manager is None:
            manager = OracleTokenManager(
                client=RecordingOracleClient(
                    base_url=settings.HUFI_RECORDING_ORACLE_URL,
                    timeout=settings.HUFI_HTTP_TIMEOUT,
                ),
                wallet=wallet,
                margin=timedelta(seconds=settings.HUFI_TOKEN_REFRESH_MARGIN_SECONDS),
            )
            _managers[key] = manager
        return manager


def reset_token_managers() -> None:
    """Forget cached managers (tests switch emulators between cases)."""
    with _managers_lock:
        for manager in _managers.values():
            manager.client.close()
        _managers.clear()
