"""ledger: enumerations (account kinds, entry kinds and statuses)."""

from __future__ import annotations

from django.db import models


class AccountKind(models.TextChoices):
    """Accounting class of an account, from Mr.Market's point of view (DESIGN §3).

    Asset and expense accounts are debit-normal (their balance is debits - credits);
    liability and income accounts are credit-normal (credits - debits).
    """

    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EXPENSE = "expense", "Expense"
    INCOME = "income", "Income"


class EntryKind(models.TextChoices):
    """What happened to the money; one per domain service (filterable in the console)."""

    DEPOSIT = "deposit", "Deposit credited"
    ALLOCATION = "allocation", "Allocated to an order"
    RELEASE = "release", "Released from an order"
    FILL = "fill", "Fill settled"
    FEE = "fee", "Fee paid"
    REFUND = "refund", "Refund"
    CUSTODY_MOVE = "custody_move", "Custody move"
    REWARD_RECEIVED = "reward_received", "Reward received"
    REWARD = "reward", "Reward credited"
    SERVICE_FEE = "service_fee", "Service fee taken"
    TRANSFER = "transfer", "Transfer"


class EntryStatus(models.TextChoices):
    """Two-phase state. A plain entry is created `posted`; a two-phase one `pending`, then
    exactly once `posted` or `voided`."""

    PENDING = "pending", "Pending"
    POSTED = "posted", "Posted"
    VOIDED = "voided", "Voided"


class FeeKind(models.TextChoices):
    NETWORK = "network", "Network fee"
    VENUE = "venue", "Venue fee"


class FillSide(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"
