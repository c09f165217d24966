"""Writes of the campaigns app, one module per responsibility:

- `sync`: campaigns from the launcher;
- `join`: joining a campaign with the service wallet (HuFi's recording oracle);
- `participation`: each order's part in the campaigns it trades for, and their scores;
- `payout`: reward transfers observed on chain;
- `allocation`: sharing a received payout with the users, through the ledger.

Callers import from `campaigns.services`; the names below are the public ones.
"""

from campaigns.services.allocation import (
    PayoutAllocationResult,
    RewardAsset,
    payout_allocate,
    payouts_allocate,
    reward_asset_resolve,
)
from campaigns.services.join import (
    ExchangeReadOnlyKey,
    JoinResult,
    campaign_join,
    read_only_key_for,
)
from campaigns.services.participation import (
    ParticipationsSyncResult,
    order_campaigns_join,
    participation_record,
    participation_scores_refresh,
    participations_leave_exited,
    participations_sync,
)
from campaigns.services.payout import PayoutConflict, PayoutScanResult, campaign_payouts_scan
from campaigns.services.sync import SyncResult, campaign_sync

__all__ = [
    "ExchangeReadOnlyKey",
    "JoinResult",
    "ParticipationsSyncResult",
    "PayoutAllocationResult",
    "PayoutConflict",
    "PayoutScanResult",
    "RewardAsset",
    "SyncResult",
    "campaign_join",
    "campaign_payouts_scan",
    "campaign_sync",
    "order_campaigns_join",
    "participation_record",
    "participation_scores_refresh",
    "participations_leave_exited",
    "participations_sync",
    "payout_allocate",
    "payouts_allocate",
    "read_only_key_for",
    "reward_asset_resolve",
]
