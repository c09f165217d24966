from mrmarket.exceptions import Conflict, DomainError, NotFound, Unavailable


class OrderNotFound(NotFound):
    code = "order_not_found"


class PairNotFound(NotFound):
    code = "pair_not_found"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class VenueAccountMissing(Unavailable):
    code = "venue_account_missing"


class FeeQuoteUnavailable(Unavailable):
    code = "fee_quote_unavailable"


class StepFailed(DomainError):
    """A lifecycle step could not finish; the order stays where it is and is retried."""

    status_code = 503
    code = "step_failed"
