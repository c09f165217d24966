"""Joining a campaign with the service wallet.

`campaign_join` is what the order lifecycle calls: idempotent per (campaign, wallet) — a
`CampaignJoin` row with a lease means one caller at a time talks to HuFi, and a joined
row answers at once with no network call. HuFi is first asked whether we already joined
(DESIGN §4: ask the outside world before repeating a side effect). Retries only for
retryable errors, all inside a short overall deadline; it never raises for HuFi's sake,
it returns a `JoinResult` whose `status`/`error` say what happened.

How HuFi's recording oracle really answers (Hu-Fi/hufi `campaigns.service.ts`):
- `check-join-status` says `not_available` until the oracle has stored the campaign (its
  discovery job runs every 10 minutes; a join fetches it from the chain on the spot). So
  `not_available` is not "closed": we try the join, and if the oracle cannot read the
  escrow yet (422 `Campaign not found`) the join *waits* — `next_attempt_at` with a
  doubling backoff (HUFI_JOIN_RETRY_BASE/MAX_SECONDS) — until it joins or the campaign
  ends. Nobody waits for it: the caller gets `waiting` at once and trading goes on.
- A second join is HuFi's 422 `User has already joined the campaign`: we are in.
- KuCoin keys need their passphrase and BitMart keys their memo in `extras`; a key
  without it is refused here, before HuFi would answer 400.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from campaigns.enums import CampaignStatus, JoinStatus
from campaigns.hufi.errors import HufiAlreadyJoined, HufiCampaignNotFound, HufiError
from campaigns.hufi.gateway import oracle_token_manager
from campaigns.hufi.oracle import JoinStatusAnswer
from campaigns.hufi.tokens import OracleTokenManager
from campaigns.models import Campaign, CampaignJoin
from campaigns.selectors import normalize_exchange_name
from exchanges.models import VenueAccount
from exchanges.services import venue_credentials_get

log = structlog.get_logger(__name__)

# HuFi's `EnrollExchangeApiKeysDto`: the venues whose keys need a third secret, and its name
# in `extras`. Our VenueAccount keeps it in the passphrase field (ccxt's `password`).
VENUE_EXTRAS = {"kucoin": "passphrase", "bitmart": "api_key_memo"}


@dataclass(frozen=True)
class ExchangeReadOnlyKey:
    """Read-only exchange credentials HuFi uses to read our trades. Never printed."""

    api_key: str
    secret: str = field(repr=False)
    # KuCoin's passphrase or BitMart's key memo; empty for venues that need none.
    passphrase: str = field(default="", repr=False)

    def extras(self, venue: str) -> dict[str, str] | None:
        name = VENUE_EXTRAS.get(venue)
        return {name: self.passphrase} if name else None


@dataclass(frozen=True)
class JoinResult:
    # joined | already_joined | waiting | in_progress | failed | closed | invalid
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


def join_retry_delay(waits: int) -> timedelta:
    """The pause before the `waits`-th next try of a campaign HuFi does not know yet."""
    base = settings.HUFI_JOIN_RETRY_BASE_SECONDS
    return timedelta(
        seconds=min(base * 2 ** max(waits - 1, 0), settings.HUFI_JOIN_RETRY_MAX_SECONDS)
    )


def _keys_register(
    *, tokens: OracleTokenManager, venue: str, key: ExchangeReadOnlyKey, timeout: float
) -> None:
    def send(token: str) -> str:
        return tokens.client.register_exchange_api_key(
            access_token=token,
            exchange_name=venue,
            api_key=key.api_key,
            secret_key=key.secret,
            extras=key.extras(venue),
            timeout=timeout,
        )

    tokens.call(send, timeout=timeout)


def _join_attempt(
    *, tokens: OracleTokenManager, campaign: Campaign, timeout: float
) -> tuple[str, str]:
    """("closed", reason), ("waiting", why) or ("joined", HuFi's id — empty if joined before)."""

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
    if answer.status == "join_closed":
        return "closed", "HuFi: join_closed" + (f" ({answer.reason})" if answer.reason else "")
    if answer.status == "already_joined":
        return "joined", ""
    # can_join, or not_available: the oracle stores a campaign it does not know on the join.
    try:
        return "joined", tokens.call(join, timeout=timeout)
    except HufiAlreadyJoined:
        return "joined", ""  # a join that raced ours, or a repeat HuFi refuses with 422
    except HufiCampaignNotFound as exc:
        return "waiting", f"HuFi does not know this campaign yet ({answer.status}: {exc.message})"


def read_only_key_for(*, venue: str) -> ExchangeReadOnlyKey | None:
    """The read-only key an operator stored for this venue (a `VenueAccount` marked read-only),
    which HuFi needs to read our trades; None when there is none."""
    for account in VenueAccount.objects.filter(
        read_only=True, enabled=True, exchange__enable=True
    ).select_related("exchange"):
        if normalize_exchange_name(account.exchange.exchange_id) == venue:
            credentials = venue_credentials_get(account=account)
            return ExchangeReadOnlyKey(
                api_key=credentials.api_key,
                secret=credentials.secret,
                passphrase=credentials.password or "",
            )
    return None


def _claim(join: CampaignJoin, *, now: datetime, deadline_s: float) -> bool:
    """Take the lease; a second caller meanwhile sees `in_progress` and does not call HuFi."""
    claimed = (
        CampaignJoin.objects.filter(pk=join.pk)
        .filter(
            Q(status__in=[JoinStatus.PENDING, JoinStatus.FAILED])
            | Q(status=JoinStatus.WAITING, next_attempt_at__lte=now)
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
    return bool(claimed)


def campaign_join(
    *,
    campaign: Campaign,
    exchange_name: str,
    read_only_key: ExchangeReadOnlyKey | None = None,
    deadline_seconds: float | None = None,
    max_attempts: int = 3,
    manager: OracleTokenManager | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
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
        # Also the end of waiting for a campaign HuFi never came to know.
        _join_finish(join, status=JoinStatus.CLOSED, last_error="campaign is not active")
        return JoinResult(status="closed", error="campaign is not active", join=join)
    if join.status == JoinStatus.WAITING and join.next_attempt_at and join.next_attempt_at > now:
        return JoinResult(status="waiting", error=join.last_error, join=join)

    if not _claim(join, now=now, deadline_s=deadline_s):
        if join.status == JoinStatus.JOINED:
            return JoinResult(status="already_joined", join=join)
        if join.status == JoinStatus.WAITING:
            return JoinResult(status="waiting", error=join.last_error, join=join)
        return JoinResult(status="in_progress", join=join)

    if read_only_key is None:
        read_only_key = read_only_key_for(venue=venue)
    if read_only_key is not None and venue in VENUE_EXTRAS and not read_only_key.passphrase:
        error = (
            f"the read-only {venue} key has no {VENUE_EXTRAS[venue]} (kept in its passphrase "
            "field); HuFi requires it"
        )
        _join_finish(join, status=JoinStatus.FAILED, last_error=error)
        return JoinResult(status="failed", error=error, join=join)

    deadline = monotonic() + deadline_s
    error = "deadline reached before HuFi answered"
    attempts = 0
    keys_sent = read_only_key is None
    while attempts < max_attempts:
        remaining = deadline - monotonic()
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
            pause = min(0.2 * 2 ** (attempts - 1), deadline - monotonic())
            if pause > 0 and attempts < max_attempts:
                sleep(pause)
            continue
        return _join_outcome(
            join, campaign=campaign, outcome=outcome, detail=detail, attempts=attempts
        )
    _join_finish(join, status=JoinStatus.FAILED, last_error=error)
    return JoinResult(status="failed", error=error, join=join, attempts=attempts)


def _join_outcome(
    join: CampaignJoin, *, campaign: Campaign, outcome: str, detail: str, attempts: int
) -> JoinResult:
    if outcome == "closed":
        _join_finish(join, status=JoinStatus.CLOSED, last_error=detail)
        log.info("campaign_join_closed", campaign=campaign.key, reason=detail)
        return JoinResult(status="closed", error=detail, join=join, attempts=attempts)
    if outcome == "waiting":
        now = timezone.now()
        waits = join.waits + 1
        next_at = min(now + join_retry_delay(waits), campaign.end_date)
        error = f"{detail}; next try at {next_at.isoformat(timespec='seconds')}"
        _join_finish(
            join, status=JoinStatus.WAITING, waits=waits, next_attempt_at=next_at, last_error=error
        )
        log.info("campaign_join_waiting", campaign=campaign.key, waits=waits, next_at=next_at)
        return JoinResult(status="waiting", error=error, join=join, attempts=attempts)
    _join_finish(
        join,
        status=JoinStatus.JOINED,
        hufi_join_id=detail or join.hufi_join_id,
        joined_at=timezone.now(),
        next_attempt_at=None,
        last_error="",
    )
    log.info("campaign_joined", campaign=campaign.key, attempts=attempts)
    return JoinResult(status="joined", join=join, attempts=attempts)
