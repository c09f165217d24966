"""Catalogs the admin pages edit and `/grow/info` lists beside the market-making pairs.

- `SimplyGrowToken`: a token offered for simply-grow (CONTRACT: `asset_id, name, symbol,
  icon_url, apy, enable`), keyed by its Mixin asset id.
- `ArbitragePair`: a pair offered for arbitrage across two venues (CONTRACT: `id, symbol,
  base_symbol, quote_symbol, base_asset_id, base_icon_url, quote_asset_id, quote_icon_url,
  base_price, target_price, base_exchange_id, target_exchange_id, enable`); icons come from
  the asset registry as for the other pairs.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q


class SimplyGrowToken(models.Model):
    asset_id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=100)
    symbol = models.CharField(max_length=20)
    icon_url = models.URLField(max_length=500, blank=True, default="")
    # Annual percentage yield shown by the UI, as a fraction (0.05 = 5 %).
    apy = models.DecimalField(max_digits=12, decimal_places=10, default=0)
    enable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol", "asset_id"]
        constraints = [
            models.CheckConstraint(condition=Q(apy__gte=0), name="simply_grow_apy_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} ({self.asset_id})"


class ArbitragePair(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    symbol = models.CharField(max_length=41)
    base_symbol = models.CharField(max_length=20)
    quote_symbol = models.CharField(max_length=20)
    base_asset = models.ForeignKey("exchanges.Asset", on_delete=models.PROTECT, related_name="+")
    quote_asset = models.ForeignKey("exchanges.Asset", on_delete=models.PROTECT, related_name="+")
    base_price = models.DecimalField(max_digits=36, decimal_places=18, null=True, blank=True)
    target_price = models.DecimalField(max_digits=36, decimal_places=18, null=True, blank=True)
    base_exchange = models.ForeignKey(
        "exchanges.Exchange",
        to_field="exchange_id",
        db_column="base_exchange_id",
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_exchange = models.ForeignKey(
        "exchanges.Exchange",
        to_field="exchange_id",
        db_column="target_exchange_id",
        on_delete=models.PROTECT,
        related_name="+",
    )
    enable = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol", "base_exchange_id", "target_exchange_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["symbol", "base_exchange", "target_exchange"],
                name="arbitrage_pair_unique",
            ),
            models.CheckConstraint(
                condition=~Q(base_exchange=F("target_exchange")),
                name="arbitrage_pair_two_venues",
                violation_error_message="base and target exchanges must differ.",
            ),
            models.CheckConstraint(
                condition=~Q(base_asset=F("quote_asset")),
                name="arbitrage_pair_distinct_assets",
                violation_error_message="base and quote must be different assets.",
            ),
            models.CheckConstraint(
                condition=(Q(base_price__isnull=True) | Q(base_price__gte=0))
                & (Q(target_price__isnull=True) | Q(target_price__gte=0)),
                name="arbitrage_pair_prices_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.base_exchange_id}->{self.target_exchange_id}"
