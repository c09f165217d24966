"""Writes of the campaigns app: sync from the launcher, join with the wallet, record payouts.

- `campaign_sync` upserts active campaigns by (chain_id, address) and re-reads the ones that
  fell off the active list to record how they ended. An outage raises `HufiUnavailable`
  after one short-timeout attempt; the beat simply tries again next hour.
- `campaign_join` is what the order lifecycle calls: idempotent per (campaign, wallet) — a
  `CampaignJoin` row with a lease means one caller at a time talks to HuFi, and a joined
  row answers at once with no network call. HuFi is first asked whether we already joined
  (DESIGN §4: ask the outside world before repeating a side effect). Retries only for
  retryable errors, all inside a short overall deadline; it never raises for HuFi's sake,
  it returns a `JoinResult` whose `status`/`error` say what happened.
- `campaign_payouts_scan` reads reward transfers in confirmed block ranges from a
  persisted cursor and records each (chain, tx hash, log index) once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from web3 import Web3

from campaigns.chain.rewards import TransferLog, chain_web3, transfer_logs
from campaigns.enums import CampaignStatus, JoinStatus
from campaigns.exceptions import HufiUnavailable
from campaigns.hufi.errors import HufiError
from campaigns.hufi.gateway import launcher_client, oracle_token_manager, service_wallet
from campaigns.hufi.launcher import CampaignLauncherClient, HufiCampaign, parse_campaign, scale
from campaigns.hufi.oracle import JoinStatusAnswer
from campaigns.hufi.tokens import OracleTokenManager
from campaigns.models import Campaign, CampaignJoin, ChainScanCursor, Payout
from campaigns.selectors import normalize_exchange_name
from mrmarket.exceptions import Conflict

log = structlog.get_logger(__name__)

# ------------------------------------------------------------------------------ sync


@dataclass
class SyncResult:
    chain_id: int
    seen: int = 0
    created: int = 0
    updated: int = 0
    ended: int = 0
    errors: list[str] = field(default_factory=list)


def _campaign_fields(c: HufiCampaign, now: datetime) -> dict[str, object]:
    return {
        "exchange_name": c.exchange_name,
        "symbol": c.symbol,
        "type": c.type,
        "start_date": c.start_date,
        "end_date": c.end_date,
        "fund_token": c.fund_token,
        "fund_token_symbol": c.fund_token_symbol,
        "fund_token_decimals": c.fund_token_decimals,
        "fund_amount_base_units": str(c.fund_amount_base_units),
        "fund_amount": c.fund_amount,
        "balance_base_units": str(c.balance_base_units),
        "balance": c.balance,
        "daily_volume_target": c.daily_volume_target,
        "status": c.status if c.status in CampaignStatus.values else CampaignStatus.ACTIVE,
        "manifest": c.manifest,
        "synced_at": now,
    }


def _campaign_upsert(*, c: HufiCampaign, now: datetime) -> tuple[Campaign, bool]:
    fields = _campaign_fields(c, now)
    if c.status != CampaignStatus.ACTIVE:
        fields["ended_at"] = now
    with transaction.atomic():
        campaign, created = Campaign.objects.update_or_create(
            chain_id=c.chain_id, address=c.address, defaults=fields
        )
    return campaign, created


def campaign_sync(
    *, chain_id: int | None = None, client: CampaignLauncherClient | None = None
) -> SyncResult:
    chain = chain_id if chain_id is not None else settings.HUFI_CHAIN_ID
    result = SyncResult(chain_id=chain)
    own_client = client is None
    launcher = client or launcher_client()
    now = timezone.now()
    try:
        try:
            raws = list(
                launcher.iter_raw(
                    chain_id=chain,
                    status=CampaignStatus.ACTIVE,
                    limit=settings.HUFI_SYNC_PAGE_LIMIT,
                )
            )
        except HufiError as exc:
            log.warning("campaign_sync_failed", chain_id=chain, error=exc.message)
            raise HufiUnavailable(f"campaign launcher: {exc.message}") from exc

        seen: set[str] = set()
        for raw in raws:
            try:
                parsed = parse_campaign(raw)
            except HufiError as exc:
                result.errors.append(exc.message)
                continue
            seen.add(parsed.address)
            _, created = _campaign_upsert(c=parsed, now=now)
            result.seen += 1
            if created:
                result.created += 1
            else:
                result.updated += 1

        # Active here but no longer listed as active: ask HuFi how each one ended.
        gone = Campaign.objects.filter(chain_id=chain, status=CampaignStatus.ACTIVE).exclude(
            address__in=seen
        )
        for campaign in gone:
            try:
                detail = launcher.get_campaign(chain_id=chain, address=campaign.address)
            except HufiError as exc:
                result.errors.append(f"{campaign.key}: {exc.message}")
                continue
            _campaign_upsert(c=detail, now=now)
            if detail.status != CampaignStatus.ACTIVE:
                result.ended += 1
    finally:
        if own_client:
            launcher.close()
    log.info(
        "campaign_synced",
        chain_id=chain,
        seen=result.seen,
        created=result.created,
        updated=result.updated,
        ended=result.ended,
        errors=len(result.errors),
    )
    return result


# ------------------------------------------------------------------------------ join


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


# ------------------------------------------------------------------------------ payouts


class PayoutConflict(Conflict):
    code = "payout_conflict"


@dataclass
class PayoutScanResult:
    chain_id: int
    from_block: int
    to_block: int | None = None
    ranges: int = 0
    recorded: int = 0
    duplicates: int = 0
    skipped: int = 0


def _utc_from_timestamp(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _payout_record(
    *, t: TransferLog, chain_id: int, campaign: Campaign, block_time: datetime
) -> bool:
    """Insert first; on the unique key, compare. True when this call recorded it."""
    fields = {
        "block_number": t.block_number,
        "block_hash": t.block_hash,
        "campaign": campaign,
        "token_address": t.token_address,
        "from_address": t.from_address,
        "to_address": t.to_address,
        "amount_base_units": str(t.amount),
        "amount": scale(t.amount, campaign.fund_token_decimals),
        "block_time": block_time,
    }
    try:
        with transaction.atomic():
            Payout.objects.create(
                chain_id=chain_id, tx_hash=t.tx_hash, log_index=t.log_index, **fields
            )
        return True
    except IntegrityError:
        existing = Payout.objects.get(chain_id=chain_id, tx_hash=t.tx_hash, log_index=t.log_index)
        if (
            existing.amount_base_units != str(t.amount)
            or existing.token_address != t.token_address
            or existing.from_address != t.from_address
            or existing.to_address != t.to_address
        ):
            raise PayoutConflict(
                f"payout {t.tx_hash}:{t.log_index} differs from the one recorded"
            ) from None
        return False


def campaign_payouts_scan(
    *,
    chain_id: int | None = None,
    w3: Web3 | None = None,
    wallet_address: str | None = None,
    from_block: int | None = None,
    confirmations: int | None = None,
    block_range: int | None = None,
    max_ranges: int | None = None,
) -> PayoutScanResult:
    """Record reward transfers from known escrows to our wallet, once each.

    Without `from_block` it continues from the persisted cursor; with it, it re-reads from
    there (safe: recording is idempotent) and only ever moves the cursor forward.
    """
    chain = chain_id if chain_id is not None else settings.HUFI_CHAIN_ID
    depth = confirmations if confirmations is not None else settings.HUFI_CHAIN_CONFIRMATIONS
    size = block_range or settings.HUFI_CHAIN_SCAN_BLOCK_RANGE
    runs = max_ranges or settings.HUFI_CHAIN_SCAN_MAX_RANGES
    wallet = wallet_address or service_wallet().address
    if w3 is None:
        if not settings.HUFI_CHAIN_RPC_URL:
            raise HufiUnavailable("HUFI_CHAIN_RPC_URL is not set: payout scan disabled")
        w3 = chain_web3(rpc_url=settings.HUFI_CHAIN_RPC_URL, timeout=settings.HUFI_HTTP_TIMEOUT)

    cursor_name = f"payouts:{wallet.lower()}"
    cursor, _ = ChainScanCursor.objects.get_or_create(
        chain_id=chain,
        name=cursor_name,
        defaults={"next_block": settings.HUFI_CHAIN_SCAN_START_BLOCK},
    )
    start = from_block if from_block is not None else cursor.next_block
    result = PayoutScanResult(chain_id=chain, from_block=start)
    campaigns = {
        c.address: c for c in Campaign.objects.filter(chain_id=chain).exclude(fund_token="")
    }
    tokens = sorted({c.fund_token for c in campaigns.values()})
    safe_head = int(w3.eth.block_number) - depth
    block_times: dict[int, datetime] = {}

    while result.ranges < runs and start <= safe_head:
        end = min(start + size - 1, safe_head)
        logs = transfer_logs(
            w3=w3,
            tokens=tokens,
            senders=sorted(campaigns),
            recipient=wallet,
            from_block=start,
            to_block=end,
        )
        with transaction.atomic():
            for t in logs:
                campaign = campaigns.get(t.from_address)
                if campaign is None or campaign.fund_token != t.token_address:
                    # Another campaign's token sent by this escrow is not this campaign's reward.
                    result.skipped += 1
                    log.warning("payout_token_mismatch", tx_hash=t.tx_hash, log_index=t.log_index)
                    continue
                if t.block_number not in block_times:
                    block = w3.eth.get_block(t.block_number)
                    block_times[t.block_number] = _utc_from_timestamp(int(block["timestamp"]))
                recorded = _payout_record(
                    t=t, chain_id=chain, campaign=campaign, block_time=block_times[t.block_number]
                )
                if recorded:
                    result.recorded += 1
                    log.info(
                        "payout_recorded",
                        campaign=campaign.key,
                        tx_hash=t.tx_hash,
                        log_index=t.log_index,
                        amount=str(scale(t.amount, campaign.fund_token_decimals)),
                    )
                else:
                    result.duplicates += 1
            # The cursor moves with the rows it covers, and never backwards.
            ChainScanCursor.objects.filter(pk=cursor.pk, next_block__lt=end + 1).update(
                next_block=end + 1
            )
        result.ranges += 1
        result.to_block = end
        start = end + 1
    log.info(
        "payouts_scanned",
        chain_id=chain,
        from_block=result.from_block,
        to_block=result.to_block,
        recorded=result.recorded,
        duplicates=result.duplicates,
    )
    return result
