"""Domain errors of the exchanges app; the API exception handler maps them to the JSON error body."""

from __future__ import annotations

from mrmarket.exceptions import Conflict, DomainError, NotFound, Unavailable, ValidationFailed


class ExchangeNotFound(NotFound):
    code = "exchange_not_found"


class PairNotFound(NotFound):
    code = "pair_not_found"


class VenueAccountNotFound(NotFound):
    code = "venue_account_not_found"


class SymbolNotListed(NotFound):
    code = "symbol_not_listed"


class SealedSecretInvalid(ValidationFailed):
    """`api_secret` is not a libsodium sealed box to our current public key."""

    code = "sealed_secret_invalid"


class ExchangeInUse(Conflict):
    code = "in_use"


class AlreadyExists(Conflict):
    code = "already_exists"


class VenueRequestUnsupported(ValidationFailed):
    """The venue does not offer what the caller asked for (e.g. a candle timeframe)."""

    code = "unsupported_by_venue"


class VenueBadGateway(DomainError):
    """The venue answered with a final error (authentication, rejected request, ...)."""

    status_code = 502
    code = "venue_error"


class VenueTemporarilyUnavailable(Unavailable):
    """A retryable venue error (network, timeout, rate limited, maintenance): try again later."""

    code = "venue_unavailable"


class VenueMisconfigured(Unavailable):
    """The venue's gateway cannot be built (bad options, missing driver): an operator must act."""

    code = "venue_misconfigured"


class SecretDecryptionFailed(DomainError):
    """A stored ciphertext cannot be opened with any configured key (key rotated away, corrupted)."""

    status_code = 500
    code = "secret_decryption_failed"
