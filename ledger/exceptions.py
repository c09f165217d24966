"""ledger: domain errors. The API exception handler maps them to the JSON error body."""

from __future__ import annotations

from mrmarket.exceptions import Conflict, NotFound, ValidationFailed


class InvalidAmount(ValidationFailed):
    """Not a positive finite Decimal, or more precise than the database stores exactly."""

    code = "invalid_amount"


class InvalidAccount(ValidationFailed):
    """An account code or asset id that is not one of the documented shapes."""

    code = "invalid_account"


class UnbalancedEntry(ValidationFailed):
    """Postings whose debits and credits differ for some asset, or fewer than two postings."""

    code = "unbalanced_entry"


class InsufficientFunds(Conflict):
    """The entry would take an account past its balance flag (a liability below zero)."""

    code = "insufficient_funds"


class IdempotencyConflict(Conflict):
    """The idempotency key was already used for different content."""

    code = "idempotency_conflict"


class EntryNotPending(Conflict):
    """Post or void of an entry that is not pending (already posted or voided, or never two-phase)."""

    code = "entry_not_pending"


class EntryNotFound(NotFound):
    code = "ledger_entry_not_found"


class WrongEntryKind(Conflict):
    """A domain post/void (e.g. `refund_confirm`) aimed at an entry of another kind."""

    code = "wrong_entry_kind"
