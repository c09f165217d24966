from django.db import models


class ExchangeKind(models.TextChoices):
    """How a venue is reached: the in-process paper venue or a ccxt client (real or emulated)."""

    PAPER = "paper", "Paper venue"
    CCXT = "ccxt", "ccxt"


class VenueHealth(models.TextChoices):
    """`status` of one venue in /health."""

    OK = "ok", "Reachable"
    UNAVAILABLE = "unavailable", "Temporarily unavailable (retryable error)"
    ERROR = "error", "Failing (final error or misconfiguration)"
