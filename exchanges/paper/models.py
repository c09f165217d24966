"""Paper venue state, in the database so web, worker and beat share one book that survives
restarts. The matching itself is `exchanges.venues.matching`; these rows are its persisted
form (see `exchanges.paper.gateway` for how an operation loads, matches and writes back).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import CheckConstraint, F, Q, UniqueConstraint
from django.db.models.expressions import Combinable


def _amount(**kw: Any) -> models.DecimalField[Decimal | float | str | Combinable, Decimal]:
    """Amounts and prices: 38 digits, 18 decimals (covers 18-decimal tokens)."""
    return models.DecimalField(max_digits=38, decimal_places=18, **kw)


class PaperMarket(models.Model):
    """One pair on one paper venue, with its price feed. Its row is the lock every matching
    operation on the pair takes (`select_for_update`)."""

    class FeedKind(models.TextChoices):
        RANDOM_WALK = "random_walk", "Random walk"
        CSV = "csv", "Replayed CSV of trades"

    venue = models.CharField(max_length=32)
    symbol = models.CharField(max_length=40)  # "BTC/USDT"
    base = models.CharField(max_length=20)
    quote = models.CharField(max_length=20)
    price_increment = _amount()
    amount_increment = _amount()
    min_amount = _amount(default=Decimal(0))
    min_notional = _amount(default=Decimal(0))
    maker_fee = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0.001"))
    taker_fee = models.DecimalField(max_digits=10, decimal_places=6, default=Decimal("0.001"))
    active = models.BooleanField(default=True)

    feed_kind = models.CharField(
        max_length=16, choices=FeedKind.choices, default=FeedKind.RANDOM_WALK
    )
    feed_seed = models.BigIntegerField(default=1)
    # Standard deviation of the log return per step (0.0005 = 5 bp per step).
    feed_volatility = models.DecimalField(
        max_digits=12, decimal_places=8, default=Decimal("0.0005")
    )
    feed_step_seconds = models.PositiveIntegerField(default=1)
    feed_csv_path = models.CharField(max_length=500, blank=True, default="")
    # Mean base amount an outside trade prints per step (caps maker fills per step).
    feed_print_amount = _amount(default=Decimal("1"))
    # Simulated outside book: half-spread as a fraction of price, levels per side, and the
    # base amount resting at each level.
    book_half_spread = models.DecimalField(
        max_digits=12, decimal_places=8, default=Decimal("0.001")
    )
    book_levels = models.PositiveIntegerField(default=10)
    book_level_amount = _amount(default=Decimal("1"))
    feed_price = _amount()  # the feed's current price
    feed_step = models.BigIntegerField(default=0)  # last step applied (epoch seconds / step)
    next_seq = models.BigIntegerField(default=0)  # order/trade id and time-priority counter
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            UniqueConstraint(fields=["venue", "symbol"], name="paper_market_venue_symbol_uniq"),
            CheckConstraint(condition=Q(feed_price__gt=0), name="paper_market_price_positive"),
            CheckConstraint(
                condition=Q(price_increment__gt=0) & Q(amount_increment__gt=0),
                name="paper_market_increments_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue}:{self.symbol}"


class PaperBalance(models.Model):
    venue = models.CharField(max_length=32)
    account = models.CharField(max_length=64)
    asset = models.CharField(max_length=20)
    free = _amount(default=Decimal(0))
    used = _amount(default=Decimal(0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            UniqueConstraint(fields=["venue", "account", "asset"], name="paper_balance_uniq"),
            CheckConstraint(
                condition=Q(free__gte=0) & Q(used__gte=0), name="paper_balance_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue}:{self.account}:{self.asset}"


class PaperOrder(models.Model):
    market = models.ForeignKey(PaperMarket, on_delete=models.PROTECT, related_name="orders")
    venue = models.CharField(max_length=32)
    order_id = models.CharField(max_length=40, unique=True)
    seq = models.BigIntegerField()  # time priority within the market
    account = models.CharField(max_length=64)
    # NULL (not "") when absent, so the per-account uniqueness ignores orders without one.
    client_order_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    side = models.CharField(max_length=4)
    price = _amount()
    amount = _amount()
    filled = _amount(default=Decimal(0))
    cost = _amount(default=Decimal(0))
    reserved = _amount(default=Decimal(0))
    post_only = models.BooleanField(default=False)
    status = models.CharField(max_length=10, default="open")
    created_ms = models.BigIntegerField()
    updated_ms = models.BigIntegerField()

    class Meta:
        constraints = [
            UniqueConstraint(
                fields=["venue", "account", "client_order_id"], name="paper_order_client_id_uniq"
            ),
            CheckConstraint(
                condition=Q(filled__gte=0) & Q(filled__lte=F("amount")),
                name="paper_order_filled_within_amount",
            ),
            CheckConstraint(condition=Q(side__in=["buy", "sell"]), name="paper_order_side_valid"),
            CheckConstraint(
                condition=Q(status__in=["open", "closed", "canceled"]),
                name="paper_order_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["market", "status", "seq"], name="paper_order_book_idx")]

    def __str__(self) -> str:
        return self.order_id


class PaperTrade(models.Model):
    market = models.ForeignKey(PaperMarket, on_delete=models.PROTECT, related_name="trades")
    venue = models.CharField(max_length=32)
    trade_id = models.CharField(max_length=40, unique=True)
    order_id = models.CharField(max_length=40)
    client_order_id = models.CharField(max_length=64, blank=True, default="")
    account = models.CharField(max_length=64)
    side = models.CharField(max_length=4)
    price = _amount()
    amount = _amount()
    quote_amount = _amount()
    fee = _amount()
    fee_asset = models.CharField(max_length=20)
    taker_or_maker = models.CharField(max_length=5)
    counterparty_order_id = models.CharField(max_length=40, blank=True, default="")
    timestamp_ms = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["venue", "account", "market", "timestamp_ms"],
                name="paper_trade_account_idx",
            )
        ]

    def __str__(self) -> str:
        return self.trade_id


class PaperCandle(models.Model):
    """1-minute candles of the feed's prints (outside trades) plus fills on our book."""

    market = models.ForeignKey(PaperMarket, on_delete=models.CASCADE, related_name="candles")
    open_time_ms = models.BigIntegerField()
    open = _amount()
    high = _amount()
    low = _amount()
    close = _amount()
    volume = _amount(default=Decimal(0))

    class Meta:
        constraints = [
            UniqueConstraint(fields=["market", "open_time_ms"], name="paper_candle_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.market_id}@{self.open_time_ms}"


class PaperDeposit(models.Model):
    venue = models.CharField(max_length=32)
    account = models.CharField(max_length=64)
    asset = models.CharField(max_length=20)
    amount = _amount()
    txid = models.CharField(max_length=200)
    network = models.CharField(max_length=40, blank=True, default="")
    address = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            UniqueConstraint(fields=["venue", "txid"], name="paper_deposit_txid_uniq"),
            CheckConstraint(condition=Q(amount__gt=0), name="paper_deposit_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.venue}:{self.txid}"


class PaperWithdrawal(models.Model):
    venue = models.CharField(max_length=32)
    account = models.CharField(max_length=64)
    asset = models.CharField(max_length=20)
    amount = _amount()
    fee = _amount(default=Decimal(0))
    address = models.CharField(max_length=200)
    network = models.CharField(max_length=40, blank=True, default="")
    tag = models.CharField(max_length=200, blank=True, default="")
    client_id = models.CharField(max_length=100)
    txid = models.CharField(max_length=200)
    status = models.CharField(max_length=10, default="ok")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            UniqueConstraint(
                fields=["venue", "account", "client_id"], name="paper_withdrawal_client_id_uniq"
            ),
            CheckConstraint(condition=Q(amount__gt=0), name="paper_withdrawal_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.venue}:{self.client_id}"
