"""Token discipline for the recording oracle: one owner of the wallet's tokens, single flight.

HuFi keeps one live refresh token per wallet: a login or a refresh invalidates the previous
refresh token. If two workers refreshed at once, one of them would hold a dead token, and a
login racing a refresh would kill the other's. So:

- The tokens live in one `OracleSession` row per wallet, shared by every process.
- Obtaining a token (login or refresh) happens with that row locked (`select_for_update`
  inside a transaction; on SQLite the IMMEDIATE transaction is the lock) and, in-process,
  under a `threading.Lock`, so at most one login/refresh per wallet is in flight anywhere.
  Whoever waited re-reads the row and uses the token the winner stored.
- The access token (a 10-minute JWT) is used until `exp - margin`, read from the JWT itself;
  then the refresh token is exchanged. A rejected refresh token (4xx) means someone else
  rotated it or it expired: log in again with a fresh nonce signature.
- A protected call refused with 401/403 invalidates that access token once and retries.

If a refresh succeeds at HuFi but our commit is lost, the next refresh is rejected and we
log in again: the discipline heals itself without a human.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

import structlog
from django.db import transaction
from django.utils import timezone

from campaigns.hufi.errors import HufiAuthRejected, HufiFinalError
from campaigns.hufi.oracle import RecordingOracleClient, TokenPair
from campaigns.hufi.wallet import ServiceWallet
from campaigns.models import OracleSession

log = structlog.get_logger(__name__)

T = TypeVar("T")


class OracleTokenManager:
    def __init__(
        self,
        *,
        client: RecordingOracleClient,
        wallet: ServiceWallet,
        margin: timedelta = timedelta(seconds=60),
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.client = client
        self.wallet = wallet
        self.margin = margin
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[str, datetime] | None = None

    def _fresh(self, expires_at: datetime | None) -> bool:
        return expires_at is not None and expires_at - self.margin > self.clock()

    def access_token(self, *, stale: str | None = None, timeout: float | None = None) -> str:
        """A usable access token; `stale` names one the oracle just refused."""
        cached = self._cached
        if cached and cached[0] != stale and self._fresh(cached[1]):
            return cached[0]
        with self._lock:
            cached = self._cached
            if cached and cached[0] != stale and self._fresh(cached[1]):
                return cached[0]
            token, expires_at = self._obtain(stale=stale, timeout=timeout)
            self._cached = (token, expires_at)
            return token

    def _obtain(self, *, stale: str | None, timeout: float | None) -> tuple[str, datetime]:
        address = self.wallet.address
        with transaction.atomic():
            OracleSession.objects.get_or_create(wallet_address=address)
            row = OracleSession.objects.select_for_update().get(wallet_address=address)
            access = self.wallet.unseal(row.access_token_sealed)
            if access and access != stale and self._fresh(row.access_expires_at):
                assert row.access_expires_at is not None
                return access, row.access_expires_at  # another process obtained it meanwhile

            pair: TokenPair | None = None
            refresh = self.wallet.unseal(row.refresh_token_sealed)
            now = self.clock()
            if refresh:
                try:
                    pair = self.client.refresh(refresh_token=refresh, timeout=timeout)
                    row.refresh_count += 1
                    row.refreshed_at = now
                    log.info("hufi_token_refreshed", wallet=address)
                except HufiFinalError as exc:
                    # Rotated by a login elsewhere, expired, or revoked: only a login helps.
                    log.warning(
                        "hufi_refresh_rejected", wallet=address, status_code=exc.status_code
                    )
            if pair is None:
                pair = self.client.login(wallet=self.wallet, timeout=timeout)
                row.login_count += 1
                row.logged_in_at = now
                log.info("hufi_logged_in", wallet=address)
            expires_at = pair.access_expires_at
            row.access_token_sealed = self.wallet.seal(pair.access_token)
            row.refresh_token_sealed = self.wallet.seal(pair.refresh_token)
            row.access_expires_at = expires_at
            row.save()
            return pair.access_token, expires_at

    def call(self, fn: Callable[[str], T], *, timeout: float | None = None) -> T:
        """Run `fn(access_token)`; on 401/403 obtain a new token once and run it again."""
        token = self.access_token(timeout=timeout)
        try:
            return fn(token)
        except HufiAuthRejected:
            log.info("hufi_access_token_refused", wallet=self.wallet.address)
            return fn(self.access_token(stale=token, timeout=timeout))
