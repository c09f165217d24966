"""Exchanges: venues (the "grow exchanges" of CONTRACT.md), venue accounts with encrypted API keys,
the asset registry (Mixin asset ids, symbols, chains, ccxt networks), market-making and spot
pairs, and the global fee settings.

Identifiers follow the contract: an exchange is addressed by its `exchange_id` slug ("binance",
"paper"), which is also the column every pair and account stores, so `pair.exchange_id` is the
slug the API serves; a pair's id is a UUID (the payment memo carries it as 16 raw bytes); an
asset's primary key is its Mixin asset id, so `pair.base_asset_id` is the Mixin UUID.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from exchanges.enums import ExchangeKind

# Prices and amounts: 36 digits with 18 decimals holds any token amount and any price.
PRICE_MAX_DIGITS, PRICE_PLACES = 36, 18
# Fee rates are fractions (0.001 = 0.1 %).
RATE_MAX_DIGITS, RATE_PLACES = 12, 10

exchange_id_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]{0,31}$",
    "exchange_id is 1-32 lowercase letters, digits, '_' or '-' (e.g. 'binance').",
)
market_symbol_validator = RegexValidator(
    r"^[A-Za-z0-9._-]{1,20}/[A-Za-z0-9._-]{1,20}$",
    "symbol is a unified ccxt symbol, BASE/QUOTE (e.g. 'BTC/USDT').",
)


class Exchange(models.Model):
    """One trading venue. `kind` picks the gateway; `options` are passed to it (e.g. `base_url`)."""

    exchange_id = models.CharField(max_length=32, unique=True, validators=[exchange_id_validator])
    name = models.CharField(max_length=100)
    icon_url = models.URLField(max_length=500, blank=True, default="")
    enable = models.BooleanField(default=True)
    kind = models.CharField(max_length=8, choices=ExchangeKind.choices, default=ExchangeKind.CCXT)
    # ccxt's exchange class id (e.g. "binance"); empty for the paper venue.
    ccxt_id = models.CharField(max_length=32, blank=True, default="")
    # Gateway options, e.g. {"base_url": "http://127.0.0.1:PORT"} for the loopback emulator.
    options = models.JSONField(default=dict, blank=True)
    # How long market data from this venue is served from the cache, seconds.
    ticker_cache_seconds = models.PositiveIntegerField(default=2)
    ohlcv_cache_seconds = models.PositiveIntegerField(default=15)
    markets_cache_seconds = models.PositiveIntegerField(default=300)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange_id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in ExchangeKind]), name="exchange_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind=ExchangeKind.CCXT) | ~Q(ccxt_id=""),
                name="exchange_ccxt_id_required",
            ),
            models.CheckConstraint(condition=~Q(exchange_id=""), name="exchange_id_not_empty"),
        ]

    def __str__(self) -> str:
        return self.exchange_id


class VenueAccount(models.Model):
    """An account on a venue (`account_ref` "binance:0"). Secrets are ciphertexts of `exchanges.secrets`.

    The API key is encrypted too (it identifies the account to the venue); `api_key_hint` keeps its
    last four characters so operators can tell keys apart without decrypting anything.
    """

    exchange = models.ForeignKey(
        Exchange,
        to_field="exchange_id",
        db_column="exchange_id",
        on_delete=models.PROTECT,
        related_name="accounts",
    )
    index = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=100)
    api_key_encrypted = models.TextField(editable=False)
    api_key_hint = models.CharField(max_length=8, blank=True, default="", editable=False)
    api_secret_encrypted = models.TextField(editable=False)
    api_passphrase_encrypted = models.TextField(blank=True, default="", editable=False)
    read_only = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange_id", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["exchange", "index"], name="venue_account_exchange_index_unique"
            ),
            models.CheckConstraint(
                condition=~Q(api_key_encrypted="") & ~Q(api_secret_encrypted=""),
                name="venue_account_secrets_present",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_ref} ({self.name})"

    @property
    def account_ref(self) -> str:
        return f"{self.exchange_id}:{self.index}"


class Asset(models.Model):
    """A Mixin asset. The primary key is the Mixin asset id; `chain_id` is its chain's asset id."""

    asset_id = models.UUIDField(primary_key=True)
    symbol = models.CharField(max_length=32)
    name = models.CharField(max_length=100, blank=True, default="")
    chain_id = models.UUIDField(null=True, blank=True)
    icon_url = models.URLField(max_length=500, blank=True, default="")
    chain_icon_url = models.URLField(max_length=500, blank=True, default="")
    # Last known USD price (display and fee estimates only, never for accounting).
    price_usd = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price_usd__isnull=True) | Q(price_usd__gte=0),
                name="asset_price_usd_non_negative",
            ),
            models.CheckConstraint(condition=~Q(symbol=""), name="asset_symbol_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} ({self.asset_id})"


class AssetNetwork(models.Model):
    """How one Mixin asset moves to and from one venue: the venue's currency code and ccxt network."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="networks")
    exchange = models.ForeignKey(
        Exchange,
        to_field="exchange_id",
        db_column="exchange_id",
        on_delete=models.CASCADE,
        related_name="asset_networks",
    )
    # The venue's currency code (ccxt `code`), e.g. "USDT".
    currency = models.CharField(max_length=32)
    # ccxt's network code passed as `params["network"]`, e.g. "ERC20", "BTC", "ETH".
    network = models.CharField(max_length=32)
    deposit_enabled = models.BooleanField(default=True)
    withdraw_enabled = models.BooleanField(default=True)
    withdraw_fee = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_PLACES, default=Decimal(0)
    )
    withdraw_min = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_PLACES, default=Decimal(0)
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exchange_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "exchange"], name="asset_network_asset_exchange_unique"
            ),
            models.CheckConstraint(
                condition=Q(withdraw_fee__gte=0) & Q(withdraw_min__gte=0),
                name="asset_network_amounts_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency}@{self.network} on {self.exchange_id}"


class PairBase(models.Model):
    """Fields shared by market-making and spot pairs (CONTRACT.md's `MarketMakingPair`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    exchange = models.ForeignKey(
        Exchange,
        to_field="exchange_id",
        db_column="exchange_id",
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Unified ccxt symbol on that exchange; base/quote symbols are the venue's currency codes.
    symbol = models.CharField(max_length=41, validators=[market_symbol_validator])
    base_symbol = models.CharField(max_length=20)
    quote_symbol = models.CharField(max_length=20)
    base_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    quote_asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    # Reference USD prices shown by the UI; blank means "use the asset registry's price_usd".
    base_price = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    target_price = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    # Overrides the global fee for this pair (fraction); blank means the global fee applies.
    custom_fee_rate = models.DecimalField(
        max_digits=RATE_MAX_DIGITS, decimal_places=RATE_PLACES, null=True, blank=True
    )
    min_order_amount = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    max_order_amount = models.DecimalField(
        max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_PLACES, null=True, blank=True
    )
    enable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.symbol} on {self.exchange_id}"


def _pair_constraints(prefix: str) -> list[models.BaseConstraint]:
    return [
        models.UniqueConstraint(
            fields=["exchange", "symbol"], name=f"{prefix}_exchange_symbol_unique"
        ),
        models.CheckConstraint(
            condition=~Q(base_asset=models.F("quote_asset")),
            name=f"{prefix}_distinct_assets",
            violation_error_message="base and quote must be different assets.",
        ),
        models.CheckConstraint(
            condition=Q(custom_fee_rate__isnull=True)
            | (Q(custom_fee_rate__gte=0) & Q(custom_fee_rate__lt=1)),
            name=f"{prefix}_custom_fee_rate_range",
            violation_error_message="custom_fee_rate is a fraction from 0 (inclusive) to 1.",
        ),
        models.CheckConstraint(
            condition=(Q(base_price__isnull=True) | Q(base_price__gte=0))
            & (Q(target_price__isnull=True) | Q(target_price__gte=0)),
            name=f"{prefix}_prices_non_negative",
        ),
        models.CheckConstraint(
            condition=(Q(min_order_amount__isnull=True) | Q(min_order_amount__gte=0))
            & (
                Q(max_order_amount__isnull=True)
                | Q(min_order_amount__isnull=True)
                | Q(max_order_amount__gte=models.F("min_order_amount"))
            ),
            name=f"{prefix}_order_amount_range",
            violation_error_message="order amounts must be >= 0 and max_order_amount >= min_order_amount.",
        ),
    ]


class MarketMakingPair(PairBase):
    class Meta:
        ordering = ["exchange_id", "symbol"]
        constraints = _pair_constraints("mm_pair")


class SpotPair(PairBase):
    """A pair listed by `/spot/info`; significant figures drive the UI's input rounding."""

    amount_significant_figures = models.PositiveSmallIntegerField(default=8)
    price_significant_figures = models.PositiveSmallIntegerField(default=8)

    class Meta:
        ordering = ["exchange_id", "symbol"]
        constraints = _pair_constraints("spot_pair")


class FeeSettings(models.Model):
    """The global fee settings: one row, id 1 (`fee_settings_get` creates it with the defaults)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    spot_fee = models.DecimalField(
        max_digits=RATE_MAX_DIGITS, decimal_places=RATE_PLACES, default=Decimal("0.001")
    )
    market_making_fee = models.DecimalField(
        max_digits=RATE_MAX_DIGITS, decimal_places=RATE_PLACES, default=Decimal("0.001")
    )
    enable_spot_fee = models.BooleanField(default=True)
    enable_market_making_fee = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "fee settings"
        verbose_name_plural = "fee settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="fee_settings_singleton"),
            models.CheckConstraint(
                condition=Q(spot_fee__gte=0)
                & Q(spot_fee__lt=1)
                & Q(market_making_fee__gte=0)
                & Q(market_making_fee__lt=1),
                name="fee_settings_rates_range",
            ),
        ]

    def __str__(self) -> str:
        return "Global fee settings"


from exchanges.catalog_models import ArbitragePair as ArbitragePair  # noqa: E402  (catalogs)
from exchanges.catalog_models import SimplyGrowToken as SimplyGrowToken  # noqa: E402
