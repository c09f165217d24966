"""Choices of the campaigns app."""

from __future__ import annotations

from django.db import models


class CampaignStatus(models.TextChoices):
    """HuFi's campaign statuses (launcher `status`), spelled as HuFi spells them."""

    ACTIVE = "active", "Active"
    TO_CANCEL = "to_cancel", "To cancel"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


class JoinStatus(models.TextChoices):
    """Our side of joining one campaign with the service wallet."""

    PENDING = "pending", "Pending"
    JOINING = "joining", "Joining"  # a caller holds the lease and is talking to HuFi
    JOINED = "joined", "Joined"
    FAILED = "failed", "Failed"  # retryable failure; a later call tries again
    # HuFi's oracle does not know the campaign yet (`not_available`, then 422 `Campaign not
    # found` on join): tried again from `next_attempt_at`, with backoff, until it ends.
    WAITING = "waiting", "Waiting for HuFi"
    CLOSED = "closed", "Closed"  # HuFi says the campaign cannot be joined; final


class ParticipationStatus(models.TextChoices):
    """One order's part in one campaign (our wallet joins; the order's fills earn the share)."""

    JOINED = "joined", "Joined"  # the wallet is in the campaign and this order's fills count
    FAILED = "failed", "Failed"  # the join did not succeed (yet); the sync task tries again
    LEFT = "left", "Left"  # the order stopped trading; its fills after `left_at` do not count


class PayoutAllocationStatus(models.TextChoices):
    """Where sharing one received payout with users stands."""

    PENDING = "pending", "Pending"  # not looked at yet
    ALLOCATED = "allocated", "Allocated"  # split and credited to users; final
    # Held (retried by the allocation task; an operator can act on the note):
    ASSET_UNMAPPED = "asset_unmapped", "Fund token has no Mixin asset"
    NO_SCORES = "no_scores", "No participant score that day"
    LEDGER_REFUSED = "ledger_refused", "Ledger refused the entry"
