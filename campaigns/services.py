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
- `participation_record` turns a `JoinResult` into the order's `Participation` (idempotent
  per (campaign, order); a success upgrades a failure, nothing downgrades a join).
  `participations_sync` (beat) joins for running/paused orders that match an active
  campaign and have no joined participation, beside trading — it never touches an order —
  marks exited orders' participations `left`, and refreshes the stored score estimates.
- `payout_allocate` shares one payout: books it once (`reward_receive`, key = the payout's
  identity), splits its base units by the users' scores for its day (`scoring.allocate`:
  floor, remainder to the largest score), stores `Allocation`s and credits each user once
  (`reward_credit`, key `<payout key>:user:<id>`) — all in one transaction under the payout
  row's lock. Without a Mixin asset for the token, or without any score that day, the
  payout is held with a status and an audit event, never credited to nobody.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from web3 import Web3

from campaigns import fills as fills_seam
from campaigns.chain.rewards import TransferLog, chain_web3, transfer_logs
from campaigns.enums import (
    CampaignStatus,
    JoinStatus,
    ParticipationStatus,
    PayoutAllocationStatus,
)
from campaigns.exceptions import HufiUnavailable, ParticipationConflict
from campaigns.hufi.errors import HufiError
from campaigns.hufi.gateway import launcher_client, oracle_token_manager, service_wallet
from campaigns.hufi.launcher import CampaignLauncherClient, HufiCampaign, parse_campaign, scale
from campaigns.hufi.oracle import JoinStatusAnswer
from campaigns.hufi.tokens import OracleTokenManager
from campaigns.models import (
    Allocation,
    Campaign,
    CampaignJoin,
    ChainScanCursor,
    Participation,
    Payout,
)
from campaigns.scoring import allocate, fills_score, fills_volume
from campaigns.selectors import (
    campaign_matching,
    normalize_exchange_name,
    normalize_symbol,
    payout_day_scores,
    payout_score_day,
)
from exchanges.models import Asset
from ledger import services as ledger
from mrmarket.audit import audit_record
from mrmarket.enums import AuditOutcome
from mrmarket.exceptions import Conflict, DomainError
from mrmarket.models import User
from orders.enums import OrderState
from orders.models import MarketMakingOrder

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


# ------------------------------------------------------------------------------ participations

# An order in these states takes part in its campaigns (it trades or is about to); any other
# state means it stopped trading for good (stopped, exiting, failed...): its part is `left`.
PARTICIPATING_ORDER_STATES = (
    OrderState.JOINING_CAMPAIGN,
    OrderState.CAMPAIGN_JOINED,
    OrderState.CREATED,
    OrderState.RUNNING,
    OrderState.PAUSED,
)
# Orders the participations task joins campaigns for: the ones trading (or paused). Earlier
# states are the lifecycle's own `joining_campaign` step's business.
JOINABLE_ORDER_STATES = (OrderState.RUNNING, OrderState.PAUSED)


def participation_record(
    *, campaign: Campaign, order_id: uuid.UUID | str, user_id: uuid.UUID | str, result: JoinResult
) -> Participation:
    """Record what joining `campaign` for this order gave. Idempotent per (campaign, order).

    A success marks it `joined` (from now on the order's fills count); a failure records the
    error and the attempt; a later success upgrades a failure; nothing downgrades a join, and
    a `left` participation stays left (the order stopped trading).
    """
    order_id = order_id if isinstance(order_id, uuid.UUID) else uuid.UUID(str(order_id))
    now = timezone.now()
    ok = result.ok
    error = "" if ok else (result.error or result.status)
    with transaction.atomic():
        participation = (
            Participation.objects.select_for_update()
            .filter(campaign=campaign, order_id=order_id)
            .first()
        )
        if participation is None:
            if not MarketMakingOrder.objects.filter(pk=order_id, user_id=user_id).exists():
                raise ParticipationConflict(f"order {order_id} is not an order of user {user_id}")
            try:
                with transaction.atomic():
                    participation = Participation.objects.create(
                        campaign=campaign,
                        order_id=order_id,
                        user_id=user_id,
                        status=ParticipationStatus.JOINED if ok else ParticipationStatus.FAILED,
                        joined_at=now if ok else None,
                        last_error=error,
                        attempts=1,
                    )
                log.info(
                    "participation_recorded",
                    campaign=campaign.key,
                    order_id=str(order_id),
                    status=participation.status,
                    join_status=result.status,
                )
                return participation
            except IntegrityError:
                # A concurrent caller inserted it first: continue as an update of its row.
                participation = Participation.objects.select_for_update().get(
                    campaign=campaign, order_id=order_id
                )
        if str(participation.user_id) != str(user_id):
            raise ParticipationConflict(
                f"participation of order {order_id} belongs to another user"
            )
        if participation.status in (ParticipationStatus.JOINED, ParticipationStatus.LEFT):
            return participation
        participation.attempts += 1
        if ok:
            participation.status = ParticipationStatus.JOINED
            participation.joined_at = now
            participation.last_error = ""
        else:
            participation.last_error = error
        participation.save(
            update_fields=["status", "joined_at", "last_error", "attempts", "updated_at"]
        )
    log.info(
        "participation_recorded",
        campaign=campaign.key,
        order_id=str(order_id),
        status=participation.status,
        join_status=result.status,
    )
    return participation


def participations_leave_exited(*, now: datetime | None = None) -> int:
    """Mark `left` the participations of orders that stopped trading; returns how many."""
    now = now or timezone.now()
    stale = Participation.objects.filter(
        status__in=[ParticipationStatus.JOINED, ParticipationStatus.FAILED]
    ).exclude(order__state__in=PARTICIPATING_ORDER_STATES)
    left = 0
    for p in stale.select_related("order").order_by("id"):
        # The order stopped trading when it left the participating states, at the latest now.
        left_at = min(p.order.state_changed_at, now)
        if p.joined_at is not None and left_at < p.joined_at:
            left_at = p.joined_at
        left += Participation.objects.filter(
            pk=p.pk, status__in=[ParticipationStatus.JOINED, ParticipationStatus.FAILED]
        ).update(status=ParticipationStatus.LEFT, left_at=left_at, updated_at=now)
        log.info("participation_left", campaign_id=p.campaign_id, order_id=str(p.order_id))
    return left


def order_campaigns_join(
    *, order: MarketMakingOrder, manager: OracleTokenManager | None = None
) -> list[Participation]:
    """Join every active campaign matching the order's venue and pair that it has not joined
    yet, and record its participations. Outside any transaction (the join talks to HuFi)."""
    venue = normalize_exchange_name(order.venue_account.exchange.exchange_id)
    recorded = []
    for campaign in campaign_matching(exchange_name=venue, symbol=order.pair.symbol):
        joined = Participation.objects.filter(
            campaign=campaign, order=order, status=ParticipationStatus.JOINED
        ).first()
        if joined is not None:
            recorded.append(joined)
            continue
        result = campaign_join(campaign=campaign, exchange_name=venue, manager=manager)
        recorded.append(
            participation_record(
                campaign=campaign, order_id=order.pk, user_id=order.user_id, result=result
            )
        )
    return recorded


@dataclass
class ParticipationsSyncResult:
    joined: int = 0
    failed: int = 0
    left: int = 0
    # Joins not attempted this run: HuFi already failed once (fail fast) or the budget ran out.
    deferred: int = 0
    scored: int = 0


def participations_sync(
    *,
    now: datetime | None = None,
    budget_seconds: float | None = None,
    manager: OracleTokenManager | None = None,
) -> ParticipationsSyncResult:
    """Beside trading, never before it: join campaigns for running/paused orders that match
    one and have no joined participation, mark exited orders' participations left, refresh
    the score estimates. Orders are only read; a HuFi outage costs one join deadline per run
    (the first failed join stops the others until the next run)."""
    now = now or timezone.now()
    started = time.monotonic()
    result = ParticipationsSyncResult()
    result.left = participations_leave_exited(now=now)

    orders = (
        MarketMakingOrder.objects.filter(state__in=JOINABLE_ORDER_STATES)
        .select_related("pair", "venue_account__exchange")
        .order_by("created_at", "id")
    )
    markets: dict[tuple[str, str], list[MarketMakingOrder]] = defaultdict(list)
    for order in orders:
        venue = normalize_exchange_name(order.venue_account.exchange.exchange_id)
        markets[(venue, normalize_symbol(order.pair.symbol))].append(order)
    joined_pairs = set(
        Participation.objects.filter(
            status=ParticipationStatus.JOINED, order__state__in=JOINABLE_ORDER_STATES
        ).values_list("campaign_id", "order_id")
    )

    # HuFi said these cannot be joined (final): asking again every run would only churn.
    closed = set(
        CampaignJoin.objects.filter(status=JoinStatus.CLOSED).values_list("campaign_id", flat=True)
    )
    stop_joining = False
    for (venue, symbol), group in markets.items():
        for campaign in campaign_matching(exchange_name=venue, symbol=symbol, at=now):
            todo = [o for o in group if (campaign.pk, o.pk) not in joined_pairs]
            if not todo or campaign.pk in closed:
                continue
            over_budget = (
                budget_seconds is not None and time.monotonic() - started >= budget_seconds
            )
            if stop_joining or over_budget:
                result.deferred += len(todo)
                continue
            # One wallet join per campaign serves every order in it (CampaignJoin is per wallet).
            join = campaign_join(campaign=campaign, exchange_name=venue, manager=manager)
            for order in todo:
                participation_record(
                    campaign=campaign, order_id=order.pk, user_id=order.user_id, result=join
                )
            if join.ok:
                result.joined += len(todo)
            else:
                result.failed += len(todo)
                if join.status == "failed":
                    stop_joining = (
                        True  # HuFi is down or slow: do not spend a deadline per campaign
                    )
    result.scored = participation_scores_refresh(now=now)
    log.info(
        "participations_synced",
        joined=result.joined,
        failed=result.failed,
        left=result.left,
        deferred=result.deferred,
        scored=result.scored,
    )
    return result


def participation_scores_refresh(*, now: datetime | None = None) -> int:
    """Recompute the stored volume/score of joined participations: since joining, and over
    the last 24 hours. Full recomputation from fills (no running totals) so a fill recorded
    late is counted too. Returns how many were refreshed."""
    now = now or timezone.now()
    window_start = now - timedelta(hours=24)
    parts = Participation.objects.filter(
        status=ParticipationStatus.JOINED, campaign__end_date__gt=window_start
    ).select_related("campaign")
    refreshed = 0
    for p in parts.order_by("id"):
        assert p.joined_at is not None  # a database check: joined ⇒ joined_at
        end = min(now, p.campaign.end_date)
        try:
            fills = fills_seam.fills_between(
                fills_seam.order_fills_since(order_id=p.order_id, since=p.joined_at),
                start=p.joined_at,
                end=end,
            )
        except fills_seam.FillRecordInvalid as exc:
            log.error("participation_score_failed", participation_id=p.pk, error=str(exc))
            continue
        window = fills_seam.fills_between(fills, start=window_start, end=end)
        Participation.objects.filter(pk=p.pk).update(
            volume=fills_volume(fills),
            score=fills_score(fills),
            window_volume=fills_volume(window),
            window_score=fills_score(window),
            scored_at=now,
        )
        refreshed += 1
    return refreshed


# ------------------------------------------------------------------------------ reward sharing


@dataclass(frozen=True)
class RewardAsset:
    asset_id: str | None
    note: str = ""


def _reward_asset_map() -> dict[str, str]:
    """HUFI_REWARD_ASSETS entries `<token address or symbol>=<Mixin asset id>`; keys lowered."""
    mapping = {}
    for entry in settings.HUFI_REWARD_ASSETS:
        key, sep, value = entry.partition("=")
        if sep and key.strip() and value.strip():
            mapping[key.strip().lower()] = value.strip().lower()
        else:
            log.warning("hufi_reward_asset_entry_malformed", entry=entry)
    return mapping


def reward_asset_resolve(*, campaign: Campaign) -> RewardAsset:
    """The Mixin asset a campaign's ERC-20 fund token is booked as, or None with the reason.

    An explicit HUFI_REWARD_ASSETS entry (by token address, then by symbol) wins; otherwise
    the one `exchanges.Asset` with that symbol. Several assets with the symbol (USDT exists
    on many chains) is ambiguous, and none is unknown: both leave the payout unallocated for
    an operator to map — a reward is never booked as a guessed asset.
    """
    mapping = _reward_asset_map()
    symbol = campaign.fund_token_symbol.strip()
    mapped = mapping.get(campaign.fund_token.lower()) or (
        mapping.get(symbol.lower()) if symbol else None
    )
    if mapped:
        try:
            asset = Asset.objects.filter(asset_id=uuid.UUID(mapped)).first()
        except ValueError:
            asset = None
        if asset is None:
            return RewardAsset(
                None,
                f"HUFI_REWARD_ASSETS maps {campaign.fund_token} to {mapped}, not a known asset",
            )
        return RewardAsset(str(asset.asset_id))
    if not symbol:
        return RewardAsset(None, f"fund token {campaign.fund_token} has no symbol and no mapping")
    candidates = list(
        Asset.objects.filter(symbol__iexact=symbol).values_list("asset_id", flat=True)[:2]
    )
    if len(candidates) == 1:
        return RewardAsset(str(candidates[0]))
    if candidates:
        return RewardAsset(
            None,
            f"several Mixin assets are called {symbol}: map {campaign.fund_token} in HUFI_REWARD_ASSETS",
        )
    return RewardAsset(
        None,
        f"no Mixin asset for {symbol} ({campaign.fund_token}): add it or map it in HUFI_REWARD_ASSETS",
    )


@dataclass(frozen=True)
class PayoutAllocationResult:
    payout_id: int
    status: str
    note: str = ""
    # user id → amount credited by this call (empty when it was done before or is held).
    credited: dict[str, Decimal] = field(default_factory=dict)


def _payout_hold(
    *, payout: Payout, status: str, note: str, actor: User | None = None
) -> PayoutAllocationResult:
    """Hold the payout with a status; audit only when the status or note changes (a task
    retrying every few minutes must not flood the audit log)."""
    changed = (
        Payout.objects.filter(pk=payout.pk)
        .exclude(allocation_status=PayoutAllocationStatus.ALLOCATED)
        .exclude(allocation_status=status, allocation_note=note)
        .update(allocation_status=status, allocation_note=note)
    )
    if changed:
        audit_record(
            action="payout_allocation_held",
            outcome=AuditOutcome.REJECTED,
            actor=actor,
            target_type="payout",
            target_id=payout.key,
            reason=note,
            payload={
                "status": status,
                "campaign": payout.campaign.key,
                "amount": str(payout.amount),
            },
        )
        log.warning("payout_allocation_held", payout=payout.key, status=status, note=note)
    return PayoutAllocationResult(payout_id=payout.pk, status=status, note=note)


def payout_allocate(*, payout_id: int, actor: User | None = None) -> PayoutAllocationResult:
    """Book one payout in the ledger once and share it with the participating users.

    Scores are read from the strategy's fills before the transaction (no lock held while
    reading); then, under the payout row's lock, everything is written at once: receipt,
    allocations, credits, status. A second caller waits for the lock and finds it done; a
    crash rolls all of it back, and every ledger key is deterministic for the retry.
    """
    payout = Payout.objects.select_related("campaign").get(pk=payout_id)
    if payout.allocation_status == PayoutAllocationStatus.ALLOCATED:
        return PayoutAllocationResult(payout_id=payout.pk, status=payout.allocation_status)
    campaign = payout.campaign
    asset_id = payout.asset_id
    if not asset_id:
        resolved = reward_asset_resolve(campaign=campaign)
        if resolved.asset_id is None:
            return _payout_hold(
                payout=payout,
                status=PayoutAllocationStatus.ASSET_UNMAPPED,
                note=resolved.note,
                actor=actor,
            )
        asset_id = resolved.asset_id
    scores = payout_day_scores(payout=payout)
    units = int(payout.amount_base_units)
    shares = allocate(amount=units, scores=scores)
    decimals = campaign.fund_token_decimals
    key = payout.key
    credited: dict[str, Decimal] = {}
    now = timezone.now()
    try:
        with transaction.atomic(durable=True):
            locked = Payout.objects.select_for_update().get(pk=payout.pk)
            if locked.allocation_status == PayoutAllocationStatus.ALLOCATED:
                return PayoutAllocationResult(payout_id=payout.pk, status=locked.allocation_status)
            # The money is in custody whether or not anyone can be credited yet: book it once.
            ledger.reward_receive(
                idempotency_key=key,
                asset=asset_id,
                amount=payout.amount,
                reference=key,
                custody=settings.HUFI_REWARD_CUSTODY_ACCOUNT,
            )
            locked.asset_id = asset_id
            locked.received_at = locked.received_at or now
            if not shares:
                locked.save(update_fields=["asset_id", "received_at"])
            else:
                for user_id in sorted(shares):
                    user_units = shares[user_id]
                    if user_units == 0:
                        continue  # a score too small for one base unit: nothing to credit
                    amount = scale(user_units, decimals)
                    entry_key = f"{key}:user:{user_id}"
                    Allocation.objects.create(
                        payout=locked,
                        user_id=user_id,
                        score=scores[user_id],
                        amount_base_units=str(user_units),
                        amount=amount,
                        asset_id=asset_id,
                        entry_key=entry_key,
                    )
                    ledger.reward_credit(
                        idempotency_key=entry_key,
                        user_id=user_id,
                        asset=asset_id,
                        amount=amount,
                        reference=key,
                    )
                    credited[user_id] = amount
                locked.allocation_status = PayoutAllocationStatus.ALLOCATED
                locked.allocation_note = ""
                locked.allocated_at = now
                locked.save(
                    update_fields=[
                        "asset_id",
                        "received_at",
                        "allocation_status",
                        "allocation_note",
                        "allocated_at",
                    ]
                )
    except DomainError as exc:
        # E.g. an amount the ledger cannot hold exactly, or a receipt booked before as another
        # asset: nothing was written; an operator reads the note.
        return _payout_hold(
            payout=payout,
            status=PayoutAllocationStatus.LEDGER_REFUSED,
            note=f"{exc.code}: {exc.message}",
            actor=actor,
        )
    if not shares:
        day = payout_score_day(payout=payout)[0].date().isoformat()
        return _payout_hold(
            payout=payout,
            status=PayoutAllocationStatus.NO_SCORES,
            note=f"no participant has a positive score on {day} (UTC); kept unallocated",
            actor=actor,
        )
    log.info(
        "payout_allocated",
        payout=key,
        campaign=campaign.key,
        users=len(credited),
        amount=str(payout.amount),
    )
    if actor is not None:
        audit_record(
            action="payout_allocate",
            actor=actor,
            target_type="payout",
            target_id=key,
            reason="allocate now (console)",
            payload={"users": len(credited), "amount": str(payout.amount)},
        )
    return PayoutAllocationResult(
        payout_id=payout.pk, status=PayoutAllocationStatus.ALLOCATED, credited=credited
    )


def payouts_allocate(*, limit: int = 200) -> list[PayoutAllocationResult]:
    """Try every payout not yet allocated (oldest first): held ones are retried, since a
    mapping or a late fill may have arrived; their audit event is written once."""
    # New payouts first, so a backlog of held ones never starves them.
    fresh = Payout.objects.filter(allocation_status=PayoutAllocationStatus.PENDING)
    held = Payout.objects.exclude(
        allocation_status__in=[PayoutAllocationStatus.PENDING, PayoutAllocationStatus.ALLOCATED]
    )
    ids: list[int] = []
    for qs in (fresh, held):
        room = limit - len(ids)
        if room > 0:
            ids += qs.order_by("block_number", "log_index").values_list("pk", flat=True)[:room]
    return [payout_allocate(payout_id=pk) for pk in ids]
