"""factory_boy factories of the exchanges app, and a fake venue gateway for surface tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import factory

from exchanges import secrets
from exchanges.enums import ExchangeKind
from exchanges.models import Asset, Exchange, MarketMakingPair, SpotPair, VenueAccount
from exchanges.venues.base import (
    Candle,
    MarketInfo,
    Ticker,
    VenueError,
)


class ExchangeFactory(factory.django.DjangoModelFactory[Exchange]):
    class Meta:
        model = Exchange
        django_get_or_create = ("exchange_id",)

    exchange_id = factory.Sequence(lambda n: f"venue{n}")
    name = factory.LazyAttribute(lambda o: o.exchange_id.title())
    kind = ExchangeKind.CCXT
    ccxt_id = "binance"
    enable = True


class AssetFactory(factory.django.DjangoModelFactory[Asset]):
    class Meta:
        model = Asset

    asset_id = factory.LazyFunction(uuid.uuid4)
    symbol = factory.Sequence(lambda n: f"TK{n}")
    name = factory.LazyAttribute(lambda o: f"Token {o.symbol}")
    chain_id = factory.LazyFunction(uuid.uuid4)
    icon_url = factory.LazyAttribute(lambda o: f"https://icons.example/{o.symbol}.png")
    chain_icon_url = "https://icons.example/chain.png"
    price_usd = Decimal("2.5")


class VenueAccountFactory(factory.django.DjangoModelFactory[VenueAccount]):
    class Meta:
        model = VenueAccount

    class Params:
        api_key = "AKIAFACTORYKEY0001"
        api_secret = "factory-secret-value"

    exchange = factory.SubFactory(ExchangeFactory)
    index = factory.Sequence(lambda n: n % 200)
    name = factory.Sequence(lambda n: f"account {n}")
    api_key_encrypted = factory.LazyAttribute(lambda o: secrets.secret_encrypt(o.api_key))
    api_key_hint = factory.LazyAttribute(lambda o: o.api_key[-4:])
    api_secret_encrypted = factory.LazyAttribute(lambda o: secrets.secret_encrypt(o.api_secret))


class MarketMakingPairFactory(factory.django.DjangoModelFactory[MarketMakingPair]):
    class Meta:
        model = MarketMakingPair

    exchange = factory.SubFactory(ExchangeFactory)
    base_asset = factory.SubFactory(AssetFactory)
    quote_asset = factory.SubFactory(AssetFactory, symbol="USDT", price_usd=Decimal(1))
    base_symbol = factory.LazyAttribute(lambda o: o.base_asset.symbol)
    quote_symbol = factory.LazyAttribute(lambda o: o.quote_asset.symbol)
    symbol = factory.LazyAttribute(lambda o: f"{o.base_symbol}/{o.quote_symbol}")


class SpotPairFactory(factory.django.DjangoModelFactory[SpotPair]):
    class Meta:
        model = SpotPair

    exchange = factory.SubFactory(ExchangeFactory)
    base_asset = factory.SubFactory(AssetFactory)
    quote_asset = factory.SubFactory(AssetFactory, symbol="USDT", price_usd=Decimal(1))
    base_symbol = factory.LazyAttribute(lambda o: o.base_asset.symbol)
    quote_symbol = factory.LazyAttribute(lambda o: o.quote_asset.symbol)
    symbol = factory.LazyAttribute(lambda o: f"{o.base_symbol}/{o.quote_symbol}")


# ---------------------------------------------------------------------------- fake gateway

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeGateway:
    """A venue gateway with fixed market data; counts calls; raises `error` when set."""

    def __init__(self, *, venue: str = "venue", account: str = "venue:0", **build: Any) -> None:
        self.venue = venue
        self.account = account
        self.build = build
        self.calls: list[str] = []
        self.error: VenueError | None = None
        self.markets = {
            "BTC/USDT": MarketInfo(
                symbol="BTC/USDT",
                base="BTC",
                quote="USDT",
                price_increment=Decimal("0.01"),
                amount_increment=Decimal("0.00001"),
            ),
            "ETH/USDT": MarketInfo(
                symbol="ETH/USDT",
                base="ETH",
                quote="USDT",
                price_increment=Decimal("0.01"),
                amount_increment=Decimal("0.0001"),
            ),
            "OLD/USDT": MarketInfo(
                symbol="OLD/USDT",
                base="OLD",
                quote="USDT",
                price_increment=Decimal("0.01"),
                amount_increment=Decimal("1"),
                active=False,
            ),
        }

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.error is not None:
            raise self.error

    def load_markets(self, *, reload: bool = False) -> dict[str, MarketInfo]:
        self._call("load_markets")
        return self.markets

    def market(self, symbol: str) -> MarketInfo:
        return self.markets[symbol]

    def _ticker(self, symbol: str) -> Ticker:
        last = Decimal("95000.5") if symbol.startswith("BTC") else Decimal("3200.25")
        return Ticker(
            symbol=symbol,
            bid=last - Decimal("0.5"),
            ask=last + Decimal("0.5"),
            last=last,
            base_volume=Decimal("12.30000"),
            quote_volume=Decimal("1E+6"),
            timestamp=NOW,
        )

    def fetch_ticker(self, symbol: str) -> Ticker:
        self._call("fetch_ticker")
        return self._ticker(symbol)

    def fetch_tickers(self, symbols: list[str] | None = None) -> dict[str, Ticker]:
        self._call("fetch_tickers")
        wanted = symbols or [s for s, m in self.markets.items() if m.active]
        return {s: self._ticker(s) for s in wanted}

    def fetch_ohlcv(
        self,
        symbol: str,
        *,
        timeframe: str = "1m",
        since_ms: int | None = None,
        limit: int | None = None,
    ) -> list[Candle]:
        self._call("fetch_ohlcv")
        start = since_ms if since_ms is not None else 1_735_786_980_000
        return [
            Candle(
                timestamp_ms=start + i * 60_000,
                open=Decimal("100.10"),
                high=Decimal("101"),
                low=Decimal("99.5"),
                close=Decimal("100.25"),
                volume=Decimal("0.5"),
            )
            for i in range(min(limit or 3, 3))
        ]

    def __getattr__(self, name: str) -> Any:
        # Trading and custody methods are not part of the surface under test.
        raise AttributeError(name)


def patch_gateways(monkeypatch: Any) -> dict[str, FakeGateway]:
    """Routes `venue_gateway_get` to FakeGateways (one per exchange, kept in the returned dict)."""
    from exchanges import services

    services.gateway_cache_clear()
    built: dict[str, FakeGateway] = {}

    def build(**kwargs: Any) -> FakeGateway:
        gateway = FakeGateway(**kwargs)
        built[kwargs["venue"]] = gateway
        return gateway

    monkeypatch.setattr(services.gateway_registry, "builder", build)
    return built
