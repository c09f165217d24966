"""Pay an order as its user would, through the fake custody (demo and tests only).

By default it pays about 500 USD of base and of quote (from the asset registry's prices),
plus any withdrawal fee due in another asset. `--process` runs the snapshot intake at once
instead of waiting for beat.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from exchanges.models import Asset
from orders.models import MarketMakingOrder
from orders.services.intake import custody_snapshots_poll, payment_snapshot_process
from standins.custody.gateway import fake_custody_pay

_STEP = Decimal("1e-8")


def _worth(asset_id: str, usd: Decimal) -> Decimal:
    asset = Asset.objects.filter(pk=asset_id).first()
    price = Decimal(asset.price_usd) if asset and asset.price_usd else Decimal(0)
    if price <= 0:
        raise CommandError(f"asset {asset_id} has no USD price; pass --base/--quote")
    return (usd / price).quantize(_STEP, rounding=ROUND_DOWN)


class Command(BaseCommand):
    help = "Pay a market-making order through the fake custody (CUSTODY_BACKEND=fake only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("order_id")
        parser.add_argument("--base", type=Decimal, help="base amount (default ~500 USD)")
        parser.add_argument("--quote", type=Decimal, help="quote amount (default ~500 USD)")
        parser.add_argument("--usd", type=Decimal, default=Decimal(500))
        parser.add_argument("--process", action="store_true", help="run the intake now")

    def handle(
        self,
        *args: Any,
        order_id: str,
        base: Decimal | None,
        quote: Decimal | None,
        usd: Decimal,
        process: bool,
        **options: Any,
    ) -> None:
        if settings.CUSTODY_BACKEND != "fake":
            raise CommandError("demo_pay needs CUSTODY_BACKEND=fake")
        order = MarketMakingOrder.objects.select_related("pair").filter(pk=order_id).first()
        if order is None:
            raise CommandError(f"no order {order_id}")
        base_id, quote_id = str(order.pair.base_asset_id), str(order.pair.quote_asset_id)
        payments: dict[str, Decimal] = {
            base_id: base if base is not None else _worth(base_id, usd),
            quote_id: quote if quote is not None else _worth(quote_id, usd),
        }
        for fee_asset, fee in (
            (order.base_fee_asset_id, order.required_base_withdrawal_fee),
            (order.quote_fee_asset_id, order.required_quote_withdrawal_fee),
        ):
            if fee > 0:
                payments[fee_asset] = payments.get(fee_asset, Decimal(0)) + fee
        for asset_id, amount in payments.items():
            snapshot = fake_custody_pay(
                user_id=str(order.user_id), asset_id=asset_id, amount=amount, memo_text=order.memo
            )
            self.stdout.write(f"paid {amount} of {asset_id} (snapshot {snapshot.snapshot_id})")
        if process:
            for pk in custody_snapshots_poll():
                payment_snapshot_process(snapshot_pk=pk)
            order.refresh_from_db()
            self.stdout.write(f"order {order.pk} is {order.state}")
