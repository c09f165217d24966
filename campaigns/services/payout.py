"""Observing reward payouts on chain.

`campaign_payouts_scan` reads reward transfers in confirmed block ranges from a
persisted cursor and records each (chain, tx hash, log index) once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction
from web3 import Web3

from campaigns.chain.rewards import TransferLog, chain_web3, transfer_logs
from campaigns.exceptions import HufiUnavailable
from campaigns.hufi.gateway import service_wallet
from campaigns.hufi.launcher import scale
from campaigns.models import (
    Campaign,
    ChainScanCursor,
    Payout,
)
from mrmarket.exceptions import Conflict

log = structlog.get_logger(__name__)


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
