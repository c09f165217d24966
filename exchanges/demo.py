"""Demo data for `manage.py seed_demo`: a paper venue with four pairs, real Mixin assets, fee settings.

Idempotent: everything is looked up first and created only when missing, through the services
(so the first run is audited like any operator action). Pair ids are uuid5s of the pair, so
every fresh demo database has the same ids.
"""

from __future__ import annotations

import secrets as pysecrets
import uuid
from decimal import Decimal

from django.db import transaction

from exchanges import services
from exchanges.enums import ExchangeKind
from exchanges.models import Asset, AssetNetwork, Exchange, MarketMakingPair, SpotPair, VenueAccount
from exchanges.paper.services import paper_market_ensure

PAPER = "paper"
_NAMESPACE = uuid.UUID("6f1b2c9e-1d0a-4c55-9a3e-2f7d8b6a4c10")

BTC = uuid.UUID("c6d0c728-2624-429b-8e0d-d9d19b6592fa")
ETH = uuid.UUID("43d61dcd-e413-450d-80b8-101d5e903357")
# ERC-20 tokens on Mixin: the asset id is derived from (Ethereum chain id, contract address).
USDT = uuid.UUID("4d8c508b-91c5-375b-92b0-ee702ed2dac5")  # USDT@ERC20
XIN = uuid.UUID("c94ac88f-4671-3976-b60a-09064f1811e8")
HMT = uuid.UUID("30e340a7-3284-3f04-8594-fbdd8f2da79f")  # HMT@ERC20

_ICON = "https://mixin-images.zeromesh.net/"
_BTC_ICON = (
    _ICON
    + "HvYGJsV5TGeZ-X9Ek3FEQohQZ3fE9LBEBGcOcn4c4BNHovP4fW4YB97Dg5LcXoQ1hUjMEgjbl1DPlKg1TW7kK6XP=s128"
)
_ETH_ICON = (
    _ICON
    + "zVDjOxNTQvVsA8h2B4ZVxuHoCF3DJszufYKWpd9duXUSbSapoZadC7_13cnWBqg0EmwmRcKGbJaUpA8wFfpgZA=s128"
)

# (asset id, symbol, name, chain id, icon, chain icon, demo USD price, ccxt network)
ASSETS = [
    (BTC, "BTC", "Bitcoin", BTC, _BTC_ICON, _BTC_ICON, "95000", "BTC"),
    (ETH, "ETH", "Ether", ETH, _ETH_ICON, _ETH_ICON, "3200", "ETH"),
    (
        USDT, "USDT", "Tether USD", ETH,
        _ICON + "ndNBEpObYs7450U08oAOMnSEPzN66SL8Mh-f2pPWBDeWaKbXTPUIdrZph7yj8Z93Rl8uZ16m7Qjz-E-9JFKSsJ-F=s128",
        _ETH_ICON, "1", "ERC20",
    ),
    (
        HMT, "HMT", "Human", ETH,
        _ICON + "rXVPsR7G8pZsAuWB2-UUDd1q8Ok4amyZwkBaRJt9qFDHruTnYKR0tffYoDwzz4-nHwnsKRyy26wRJaVXc5_kOj6eP3JKlgJYVCGMJg=s128",
        _ETH_ICON, "0.035", "ERC20",
    ),
    (
        XIN, "XIN", "Mixin", ETH,
        _ICON + "UasWtBZO0TZyLTLCFQjvE_UYekjC7eHCuT_9_52ZpzmCC-X-NPioVegng7Hfx0XmIUavZgz5UL-HIgPCBECc-Ws=s128",
        _ETH_ICON, "120", "ERC20",
    ),
]  # fmt: skip

# Per pair: starting price, tick size, lot size, minimum notional (quote). The paper venue's
# market definitions are handed to its gateway through the exchange's `options["markets"]`.
MARKETS = {
    "BTC/USDT": ("95000", "0.01", "0.00001", "5"),
    "ETH/USDT": ("3200", "0.01", "0.0001", "5"),
    "HMT/USDT": ("0.035", "0.00001", "1", "5"),
    "XIN/USDT": ("120", "0.01", "0.001", "5"),
}
_SYMBOL_ASSET = {"BTC": BTC, "ETH": ETH, "USDT": USDT, "HMT": HMT, "XIN": XIN}


def pair_id(symbol: str, *, kind: str = "mm") -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{kind}:{PAPER}:{symbol}")


def _exchange() -> Exchange:
    existing = Exchange.objects.filter(exchange_id=PAPER).first()
    if existing is not None:
        return existing
    return services.exchange_create(
        exchange_id=PAPER,
        name="Paper venue",
        kind=ExchangeKind.PAPER,
        options={
            "seed": 42,
            "markets": {
                symbol: {
                    "initial_price": price,
                    "price_increment": tick,
                    "amount_increment": lot,
                    "min_notional": notional,
                }
                for symbol, (price, tick, lot, notional) in MARKETS.items()
            },
        },
        actor=None,
    )


def _assets(exchange: Exchange) -> None:
    for asset_id, symbol, name, chain_id, icon, chain_icon, price, network in ASSETS:
        if not Asset.objects.filter(pk=asset_id).exists():
            services.asset_register(
                asset_id=asset_id,
                symbol=symbol,
                details={
                    "name": name,
                    "chain_id": chain_id,
                    "icon_url": icon,
                    "chain_icon_url": chain_icon,
                    "price_usd": Decimal(price),
                },
                actor=None,
            )
        if not AssetNetwork.objects.filter(asset_id=asset_id, exchange=exchange).exists():
            services.registry_object_save(
                obj=AssetNetwork(
                    asset_id=asset_id, exchange=exchange, currency=symbol, network=network
                ),
                created=True,
                actor=None,
            )


def _pairs(exchange: Exchange) -> list[str]:
    lines = []
    for symbol, (_price, _tick, lot, _notional) in MARKETS.items():
        base, quote = symbol.split("/")
        mm_id = pair_id(symbol)
        if not MarketMakingPair.objects.filter(pk=mm_id).exists():
            services.market_making_pair_create(
                data={
                    "id": mm_id,
                    "exchange_id": exchange.exchange_id,
                    "symbol": symbol,
                    "base_asset_id": _SYMBOL_ASSET[base],
                    "quote_asset_id": _SYMBOL_ASSET[quote],
                    "min_order_amount": Decimal(lot),
                },
                actor=None,
            )
        spot_id = pair_id(symbol, kind="spot")
        if not SpotPair.objects.filter(pk=spot_id).exists():
            services.registry_object_save(
                obj=SpotPair(
                    id=spot_id,
                    exchange=exchange,
                    symbol=symbol,
                    base_symbol=base,
                    quote_symbol=quote,
                    base_asset_id=_SYMBOL_ASSET[base],
                    quote_asset_id=_SYMBOL_ASSET[quote],
                    min_order_amount=Decimal(lot),
                ),
                created=True,
                actor=None,
            )
        lines.append(f"  {symbol:<9} market-making pair {mm_id}")
    return lines


def _account(exchange: Exchange) -> VenueAccount:
    existing = VenueAccount.objects.filter(exchange=exchange, index=0).first()
    if existing is not None:
        return existing
    # The paper venue does not check keys; the account still gets real (encrypted) ones so the
    # demo exercises the same path as a real venue.
    return services.venue_account_create(
        exchange=exchange,
        index=0,
        name="Paper account 0",
        api_key="paper-demo-" + pysecrets.token_hex(8),
        api_secret=pysecrets.token_urlsafe(32),
        actor=None,
    )


def _paper_markets(exchange: Exchange) -> None:
    """Open the paper venue's order books (a market that exists keeps its state)."""
    seed = int((exchange.options or {}).get("seed", 42))
    for index, (symbol, (price, tick, lot, notional)) in enumerate(MARKETS.items()):
        paper_market_ensure(
            venue=exchange.exchange_id,
            symbol=symbol,
            price=Decimal(price),
            price_increment=Decimal(tick),
            amount_increment=Decimal(lot),
            min_notional=Decimal(notional),
            seed=seed + index,
            # outside prints and book depth sized to about 200 quote units per level
            print_amount=(Decimal(200) / Decimal(price)).quantize(Decimal(lot)) or Decimal(lot),
            book_level_amount=(Decimal(2000) / Decimal(price)).quantize(Decimal(lot))
            or Decimal(lot),
        )


def seed() -> list[str]:
    with transaction.atomic():
        exchange = _exchange()
        _assets(exchange)
        account = _account(exchange)
        pair_lines = _pairs(exchange)
        _paper_markets(exchange)
        services.fee_settings_ensure()
    return [
        f"paper venue    : exchange_id={exchange.exchange_id}, account {account.account_ref}",
        *pair_lines,
    ]
