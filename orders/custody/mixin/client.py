"""The custody gateway over Mixin's Safe API: reads, transfers and withdrawals.

Real: snapshots (`GET /safe/snapshots`, ASC from an `offset` = created_at), asset info
(`GET /safe/assets/{id}`), withdrawal fees (`GET /safe/assets/{id}/fees?destination=`),
transaction lookup by request id (`GET /safe/transactions/{request_id}`), the wallet balance
(sum of unspent outputs, `GET /safe/outputs?members=<hash>&threshold=1&state=unspent`), the
deposit address (`POST /safe/deposit/entries` for the asset's chain; every entry's Safe
signature is checked, as Mixin's own apps do, before an address is handed out).

Transfers (refunds) are real when a spend key is configured: look the request id up first
(`GET /safe/transactions/{id}`; an existing request is judged by decoding its stored raw,
never by its ambiguous `amount` — decision 0460 — and one that was never signed is resumed
from that raw, so a crash between request and submit neither stalls nor pays twice), else
pick unspent outputs oldest first, ask ghost keys for the receiver and for our change
(`POST /safe/keys`), build the version-5 kernel transaction (kernel.py), register it under the
deterministic request id (`POST /safe/transaction/requests`, which answers one view per input),
sign every input with view + spend key at key index 0 (our outputs are 1-of-1, as both SDKs
sign them: no re-listing of outputs) and submit (`POST /safe/transactions`).

Withdrawals (decision 0321, bot-api-go-client `withdrawalTransaction`): a withdrawal-submit
output plus Mixin's fee to `MIXIN_FEE_USER_ID` — in the same transaction when the fee is in
the asset, else in a second transaction of the fee asset that references the first's hash,
under `fee_request_id(request_id)`; both are requested, signed and submitted together, and a
crash between request and submit is finished from the stored raws. Without a spend key,
transfers and withdrawals only report a send made elsewhere, else `CustodySendUnsupported`.
"""

from __future__ import annotations

from orders.custody.mixin.common import (
    MAX_INPUTS,
    MAX_PAGE,
    MIXIN_DEPOSIT_ENTRY_KEYS,
    MIXIN_FEE_USER_ID,
    deposit_entry_message,
    fee_request_id,
    load_spend_private_key,
    members_hash,
    unique_object_id,
)
from orders.custody.mixin.reads import SafeReads
from orders.custody.mixin.withdrawals import SafeWithdrawals

__all__ = [
    "MAX_INPUTS",
    "MAX_PAGE",
    "MIXIN_DEPOSIT_ENTRY_KEYS",
    "MIXIN_FEE_USER_ID",
    "MixinSafeCustody",
    "deposit_entry_message",
    "fee_request_id",
    "load_spend_private_key",
    "members_hash",
    "unique_object_id",
]


class MixinSafeCustody(SafeWithdrawals, SafeReads):
    """The custody gateway over Mixin's Safe API: reads (`reads.py`), transfers
    (`sends.py`) and withdrawals (`withdrawals.py`) over one base (`common.py`)."""

    backend = "mixin"
