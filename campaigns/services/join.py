"""Joining a campaign with the service wallet.

`campaign_join` is what the order lifecycle calls: idempotent per (campaign, wallet) — a
`CampaignJoin` row with a lease means one caller at a time talks to HuFi, and a joined
row answers at once with no network call. HuFi is first asked whether we already joined
(DESIGN §4: ask the outside world before repeating a side effect). Retries only for
retryable errors, all inside a short overall deadline; it never raises for HuFi's sake,
it returns a `JoinResult` whose `status`/`error` say what happened.
"""

import time
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from campaigns.enums import (
    CampaignStatus,
    JoinStatus,
)
from campaigns.hufi.errors import HufiError
from campaigns.hufi.gateway import oracle_token_manager
from campaigns.hufi.oracle import JoinStatusAnswer
from campaigns.hufi.tokens import OracleTokenManager
from campaigns.models import (
    Campaign,
    CampaignJoin,
)
from campaigns.selectors import (
    normalize_exchange_name,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ExchangeReadOnlyKey:
    """Read-only exchange credentials HuFi uses to read our trades. Never printed."""

    api_key: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class JoinResult:
    # joined | already_joined | in_progress | failed | closed | invalid
    status: str
    error: str = ""
    join: CampaignJoin | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("joined", "already_joined")


def _join_finish(join: CampaignJoin, **fields: object) -> CampaignJoin:
    for name, value in fields.items():
        setattr(join, name, value)
    join.lease_until = None
    join.save()
    return join


def _keys_register(
    *, tokens: OracleTokenManager, venue: str, key: ExchangeReadOnlyKey, timeout: float
) -> None:
    def send(token: str) -> str:
        return tokens.client.register_exchange_api_key(
            access_token=token,
            exchange_name=venue,
            api_key=key.api_key,
            secret_key=key.secret,
            timeout=timeout,
        )

    tokens.call(send, timeout=timeout)


def _join_attempt(
    *, tokens: OracleTokenManager, campaign: Campaign, timeout: float
) -> tuple[str, str]:
    """("closed", reason) or ("joined", HuFi's join id — empty if we had joined before)."""

    def status(token: str) -> JoinStatusAnswer:
        return tokens.client.check_join_status(
            access_token=token,
            chain_id=campaign.chain_id,
            address=campaign.address,
            timeout=timeout,
        )

    def join(token: str) -> str:
        return tokens.client.join_campaign(
            access_token=token,
            chain_id=campaign.chain_id,
            address=campaign.address,
            timeout=timeout,
        )

    answer = tokens.call(status, timeout=timeout)
    if answer.status in ("join_closed", "not_available"):
        return "closed", f"HuFi: {answer.status}" + (f" ({answer.reason})" if answer.reason else "")
    if answer.status == "already_joined":
        return "joined", ""
    return "joined", tokens.call(join, timeout=timeout)


def read_only_key_for(*, venue: str) -> ExchangeReadOnlyKey | None:
    """The read-only key an operator stored for this venue (a `VenueAccount` marked read-only),
    which HuFi needs to read our trades; None when there is none."""
    from exchanges.models import VenueAccount
    from exchanges.services import venue_credentials_get

    for account in VenueAccount.objects.filter(
        read_only=True, enabled=True, exchange__enable=True
    ).select_related("exchange"):
        if normalize_exchange_name(account.exchange.exchange_id) == venue:
            credentials = venue_credentials_get(account=account)
            return ExchangeReadOnlyKey(api_key=credentials.api_key, secret=credentials.secret)
    return None


def campaign_join(
    *,
    campaign: Campaign,
    exchange_name: str,
    read_only_key: ExchangeReadOnlyKey | None = None,
    deadline_seconds: float | None = None,
    max_attempts: int = 3,
    manager: OracleTokenManager | None = None,
) -> JoinResult:
    deadline_s = (
        deadline_seconds if deadline_seconds is not None else settings.HUFI_JOIN_DEADLINE_SECONDS
    )
    venue = normalize_exchange_name(exchange_name)
    if venue != campaign.exchange_name:
        return JoinResult(
            status="invalid",
            error=f"campaign runs on {campaign.exchange_name}, not on {venue}",
        )
    tokens = manager or oracle_token_manager()
    wallet = tokens.wallet.address
    now = timezone.now()

    join, _ = CampaignJoin.objects.get_or_create(
        campaign=campaign, wallet_address=wallet, defaults={"exchange_name": venue}
    )
    if join.status == JoinStatus.JOINED:
        return JoinResult(status="already_joined", join=join)
    if join.status == JoinStatus.CLOSED:
        return JoinResult(status="closed", error=join.last_error, join=join)
    if campaign.status != CampaignStatus.ACTIVE or campaign.end_date <= now:
        _join_finish(join, status=JoinStatus.CLOSED, last_error="campaign is not active")
        return JoinResult(status="closed", error="campaign is not active", join=join)

    # Claim the lease; a second caller meanwhile sees "in_progress" and does not call HuFi.
    claimed = (
        CampaignJoin.objects.filter(pk=join.pk)
        .filter(
            Q(status__in=[JoinStatus.PENDING, JoinStatus.FAILED])
            | Q(status=JoinStatus.JOINING, lease_until__lt=now)
        )
        .update(
            status=JoinStatus.JOINING,
            lease_until=now + timedelta(seconds=deadline_s + 5),
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    join.refresh_from_db()
    if not claimed:
        if join.status == JoinStatus.JOINED:
            return JoinResult(status="already_joined", join=join)
        return JoinResult(status="in_progress", join=join)

    deadline = time.monotonic() + deadline_s
    error = "deadline reached before HuFi answered"
    attempts = 0
    if read_only_key is None:
        read_only_key = read_only_key_for(venue=venue)
    keys_sent = read_only_key is None
    while attempts < max_attempts:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        attempts += 1
        # One attempt is at most ~5 requests (nonce, auth, keys, status, join): share the time.
        timeout = max(0.05, min(settings.HUFI_HTTP_TIMEOUT, remaining / 5))
        try:
            if not keys_sent:
                assert read_only_key is not None
                _keys_register(tokens=tokens, venue=venue, key=read_only_key, timeout=timeout)
                keys_sent = True
            outcome, detail = _join_attempt(tokens=tokens, campaign=campaign, timeout=timeout)
            if outcome == "closed":
                _join_finish(join, status=JoinStatus.CLOSED, last_error=detail)
                log.info("campaign_join_closed", campaign=campaign.key, reason=detail)
                return JoinResult(status="closed", error=detail, join=join, attempts=attempts)
            _join_finish(
                join,
                status=JoinStatus.JOINED,
                hufi_join_id=detail or join.hufi_join_id,
                joined_at=timezone.now(),
                last_error="",
            )
            log.info("campaign_joined", campaign=campaign.key, attempts=attempts)
            return JoinResult(status="joined", join=join, attempts=attempts)
        except HufiError as exc:
            error = exc.message
            log.warning(
                "campaign_join_attempt_failed",
                campaign=campaign.key,
                attempt=attempts,
                retryable=exc.retryable,
                error=exc.message,
            )
            if not exc.retryable:
                break
            pause = min(0.2 * 2 ** (attempts - 1), deadline - time.monotonic())
            if pause > 0 and attempts < max_attempts:
                time.sleep(pause)
    _join_finish(join, status=JoinStatus.FAILED, last_error=error)
    return JoinResult(status="failed", error=error, join=join, attempts=attempts)
