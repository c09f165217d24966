"""Order states (spelled exactly as DESIGN §2 / CONTRACT), snapshot and custody statuses."""

from django.db import models


class OrderState(models.TextChoices):
    PAYMENT_PENDING = "payment_pending"
    PAYMENT_INCOMPLETE = "payment_incomplete"
    PAYMENT_COMPLETE = "payment_complete"
    WITHDRAWING = "withdrawing"
    WITHDRAWAL_CONFIRMED = "withdrawal_confirmed"
    DEPOSIT_CONFIRMING = "deposit_confirming"
    DEPOSIT_CONFIRMED = "deposit_confirmed"
    JOINING_CAMPAIGN = "joining_campaign"
    CAMPAIGN_JOINED = "campaign_joined"
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    EXIT_REQUESTED = "exit_requested"
    EXIT_WITHDRAWING = "exit_withdrawing"
    EXIT_REFUNDING = "exit_refunding"
    EXIT_COMPLETE = "exit_complete"
    FAILED = "failed"
    REFUNDED = "refunded"
    DELETED = "deleted"


S = OrderState

# Funded states from which the user may ask to exit (DESIGN §2: "any funded, non-exit state").
EXITABLE_STATES = [
    S.PAYMENT_COMPLETE,
    S.WITHDRAWING,
    S.WITHDRAWAL_CONFIRMED,
    S.DEPOSIT_CONFIRMING,
    S.DEPOSIT_CONFIRMED,
    S.JOINING_CAMPAIGN,
    S.CAMPAIGN_JOINED,
    S.CREATED,
    S.RUNNING,
    S.PAUSED,
    S.STOPPED,
]

# States the frontend stops polling on (CONTRACT); also the ones with no automatic next step.
TERMINAL_STATES = [S.EXIT_COMPLETE, S.REFUNDED, S.DELETED]


class PaymentStatus(models.TextChoices):
    """The payment's own state (CONTRACT `PaymentState.state`), apart from the order's: once
    `payment_complete` it stays so whatever the order does next."""

    PAYMENT_PENDING = "payment_pending"  # memo handed out, nothing paid
    PAYMENT_INCOMPLETE = "payment_incomplete"  # some paid, not all
    PAYMENT_COMPLETE = "payment_complete"  # everything paid (terminal for the payment)
    TIMEOUT = "timeout"  # the memo or the payment timed out before it was complete
    REFUNDED = "refunded"  # what was paid of a timed-out payment went back


class SnapshotStatus(models.TextChoices):
    RECEIVED = "received"  # stored, not yet processed
    CREDITED = "credited"  # counted toward an order's payment
    REFUNDING = "refunding"  # being sent back (see its CustodyTransfer)
    REFUNDED = "refunded"
    MATCHED = "matched"  # our own venue withdrawal arriving back in custody
    IGNORED = "ignored"  # outgoing, zero, or unattributable (flagged for an operator)
    # Could not be stored as money (amount out of range or finer than 1e-18, a field too
    # long): kept raw for an operator, an issue in system status; intake moves on.
    QUARANTINED = "quarantined"


class PaymentRole(models.TextChoices):
    BASE = "base"
    QUOTE = "quote"
    BASE_FEE = "base_fee"
    QUOTE_FEE = "quote_fee"


class TransferPurpose(models.TextChoices):
    REFUND = "refund"  # custody -> the user's Mixin wallet
    WITHDRAW_TO_VENUE = "withdraw_to_venue"  # custody -> the venue deposit address
    VENUE_TO_CUSTODY = "venue_to_custody"  # venue account -> custody (exit)
    # Between the wallets of a venue that splits them (OKX, Bybit, KuCoin): a deposit lands
    # in funding and is moved to trading before the order trades; on exit the order's
    # balance goes back to funding, where withdrawals leave from.
    FUNDING_TO_TRADING = "funding_to_trading"
    TRADING_TO_FUNDING = "trading_to_funding"


class TransferStatus(models.TextChoices):
    PENDING = "pending"  # intent persisted (with its pending ledger entry), not yet accepted
    SENT = "sent"  # the sender accepted it; waiting for it to leave
    CONFIRMED = "confirmed"  # it left the sender; a refund is done here (ledger posted)
    ARRIVED = "arrived"  # a custody move was seen at its destination (ledger posted)
    FAILED = "failed"  # definitely did not move; the pending ledger entry is voided


# Transfers still moving money; an order cannot unwind further until none is left.
IN_FLIGHT_TRANSFER_STATUSES = [TransferStatus.PENDING, TransferStatus.SENT]
# Transfers the driver still advances: in flight, or a custody move confirmed by its sender
# and not yet seen at its destination (refunds are done once confirmed).
OPEN_TRANSFER_STATUSES = [TransferStatus.PENDING, TransferStatus.SENT, TransferStatus.CONFIRMED]
