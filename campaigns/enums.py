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
    CLOSED = "closed", "Closed"  # HuFi says the campaign cannot be joined; final
