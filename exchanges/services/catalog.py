"""The venue catalog: exchanges, the asset registry and market-making pairs (operator writes,
each audited in its own transaction)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from django.db import transaction
from django.http import HttpRequest

from exchanges.enums import ExchangeKind
from exchanges.exceptions import (
    AlreadyExists,
    ExchangeNotFound,
)
from exchanges.models import Asset, Exchange, MarketMakingPair
from exchanges.services.gateways import gateway_cache_clear
from exchanges.services.saving import (
    actor_of,
    changes_apply,
    delete_or_conflict,
    jsonable,
    validated_save,
)
from mrmarket.audit import audit_record
from mrmarket.exceptions import ValidationFailed
from mrmarket.models import User

log = structlog.get_logger(__name__)


# ---------------------------------------------------------------------------- exchanges

EXCHANGE_UPDATABLE = (
    "name",
    "icon_url",
    "enable",
    "kind",
    "ccxt_id",
    "options",
    "ticker_cache_seconds",
    "ohlcv_cache_seconds",
    "markets_cache_seconds",
)


def _ccxt_id_check(exchange: Exchange) -> None:
    if exchange.kind != ExchangeKind.CCXT:
        return
    # deferred: ccxt takes ~1.5 s to import, and only exchange writes need the list.
    import ccxt

    if exchange.ccxt_id not in ccxt.exchanges:
        raise ValidationFailed(f"ccxt_id {exchange.ccxt_id!r} is not an exchange ccxt knows.")


def exchange_create(
    *,
    exchange_id: str,
    name: str,
    actor: User | None,
    icon_url: str = "",
    enable: bool = True,
    kind: str = ExchangeKind.CCXT,
    ccxt_id: str = "",
    options: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
    **cache_seconds: int,
) -> Exchange:
    exchange = Exchange(
        exchange_id=exchange_id,
        name=name,
        icon_url=icon_url,
        enable=enable,
        kind=kind,
        ccxt_id=ccxt_id or (exchange_id if kind == ExchangeKind.CCXT else ""),
        options=dict(options or {}),
        **cache_seconds,
    )
    _ccxt_id_check(exchange)
    with transaction.atomic():
        validated_save(exchange, conflict=f"exchange {exchange_id!r} already exists.")
        audit_record(
            action="exchange.create",
            actor=actor_of(actor),
            target_type="exchange",
            target_id=exchange.exchange_id,
            payload={"kind": exchange.kind, "ccxt_id": exchange.ccxt_id, "enable": enable},
            request=request,
        )
    log.info("exchange_created", venue=exchange.exchange_id, kind=exchange.kind)
    return exchange


def exchange_update(
    *,
    exchange: Exchange,
    changes: Mapping[str, Any],
    actor: User | None,
    request: HttpRequest | None = None,
) -> Exchange:
    with transaction.atomic():
        locked = Exchange.objects.select_for_update().get(pk=exchange.pk)
        changed = changes_apply(locked, changes, EXCHANGE_UPDATABLE)
        if "kind" in changed and locked.kind == ExchangeKind.PAPER:
            locked.ccxt_id = ""
        if changed:
            _ccxt_id_check(locked)
            validated_save(locked, conflict="exchange already exists.")
        audit_record(
            action="exchange.update",
            actor=actor_of(actor),
            target_type="exchange",
            target_id=locked.exchange_id,
            payload={"changed": jsonable(changed)},
            request=request,
        )
    gateway_cache_clear(exchange_id=locked.exchange_id)
    return locked


def exchange_remove(
    *, exchange: Exchange, actor: User | None, request: HttpRequest | None = None
) -> None:
    exchange_id = exchange.exchange_id
    with transaction.atomic():
        delete_or_conflict(exchange, what=f"exchange {exchange_id!r}")
        audit_record(
            action="exchange.remove",
            actor=actor_of(actor),
            target_type="exchange",
            target_id=exchange_id,
            request=request,
        )
    gateway_cache_clear(exchange_id=exchange_id)


# ---------------------------------------------------------------------------- assets

ASSET_FIELDS = ("symbol", "name", "chain_id", "icon_url", "chain_icon_url", "price_usd")


def asset_register(
    *,
    asset_id: Any,
    symbol: str,
    actor: User | None,
    details: Mapping[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> Asset:
    """Creates the asset if the registry lacks it; otherwise fills only what the registry leaves blank.

    Pairs name their assets by Mixin id; the registry is the one place icons and chains live, so
    an operator's pair form can seed it but never silently overwrite it (`asset_update` does that).
    """
    details = {k: v for k, v in (details or {}).items() if v not in (None, "")}
    unknown = set(details) - set(ASSET_FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown asset fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        asset = Asset.objects.select_for_update().filter(pk=asset_id).first()
        if asset is None:
            asset = Asset(asset_id=asset_id, symbol=symbol, **details)
            validated_save(asset, conflict=f"asset {asset_id} already exists.")
            action, changed = "asset.create", {"symbol": symbol, **details}
        else:
            changed = {k: v for k, v in details.items() if getattr(asset, k) in (None, "")}
            if not changed:
                return asset
            for key, value in changed.items():
                setattr(asset, key, value)
            validated_save(asset, conflict="asset already exists.")
            action = "asset.fill"
        audit_record(
            action=action,
            actor=actor_of(actor),
            target_type="asset",
            target_id=str(asset.asset_id),
            payload=jsonable(changed),
            request=request,
        )
    return asset


def asset_update(
    *,
    asset: Asset,
    changes: Mapping[str, Any],
    actor: User | None,
    request: HttpRequest | None = None,
) -> Asset:
    with transaction.atomic():
        locked = Asset.objects.select_for_update().get(pk=asset.pk)
        changed = changes_apply(locked, changes, ASSET_FIELDS)
        if changed:
            validated_save(locked, conflict="asset already exists.")
            audit_record(
                action="asset.update",
                actor=actor_of(actor),
                target_type="asset",
                target_id=str(locked.asset_id),
                payload=jsonable(changed),
                request=request,
            )
    return locked


# ---------------------------------------------------------------------------- pairs

PAIR_UPDATABLE = (
    "base_price",
    "target_price",
    "custom_fee_rate",
    "min_order_amount",
    "max_order_amount",
    "enable",
)
PAIR_IMMUTABLE = (
    "exchange_id",
    "symbol",
    "base_symbol",
    "quote_symbol",
    "base_asset_id",
    "quote_asset_id",
)


def symbol_split(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("/")
    if not base or not quote:
        raise ValidationFailed("symbol must be BASE/QUOTE, e.g. 'BTC/USDT'.")
    return base, quote


def _asset_details(prefix: str, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "icon_url": data.get(f"{prefix}_icon_url"),
        "chain_id": data.get(f"{prefix}_chain_id"),
        "chain_icon_url": data.get(f"{prefix}_chain_icon_url"),
    }


def exchange_require(exchange_id: str) -> Exchange:
    """The exchange a pair row names; 404 when there is none."""
    exchange = Exchange.objects.filter(exchange_id=exchange_id).first()
    if exchange is None:
        raise ExchangeNotFound(f"exchange {exchange_id!r} does not exist.")
    return exchange


def pair_symbols(data: Mapping[str, Any]) -> tuple[str, str]:
    """A pair body's (base, quote) symbols from its `symbol`; `base_symbol`/`quote_symbol`,
    when given, must agree with it."""
    base_symbol, quote_symbol = symbol_split(data["symbol"])
    for key, expected in (("base_symbol", base_symbol), ("quote_symbol", quote_symbol)):
        if data.get(key) not in (None, "", expected):
            raise ValidationFailed(f"{key} {data[key]!r} does not match symbol {data['symbol']!r}.")
    return base_symbol, quote_symbol


def pair_assets_register(
    *, data: Mapping[str, Any], actor: User | None, request: HttpRequest | None
) -> tuple[Asset, Asset]:
    """Register (or find) a pair body's base and quote assets in the asset registry."""
    base_symbol, quote_symbol = pair_symbols(data)
    base = asset_register(
        asset_id=data["base_asset_id"],
        symbol=base_symbol,
        details=_asset_details("base", data),
        actor=actor,
        request=request,
    )
    quote = asset_register(
        asset_id=data["quote_asset_id"],
        symbol=quote_symbol,
        details=_asset_details("quote", data),
        actor=actor,
        request=request,
    )
    return base, quote


def market_making_pair_create(
    *,
    data: Mapping[str, Any],
    actor: User | None,
    request: HttpRequest | None = None,
) -> MarketMakingPair:
    """Adds a market-making pair; assets unknown to the registry are registered from the same body.

    Idempotent by `id` when the caller supplies one: the same id with the same pair answers the
    existing row, with a different pair a 409.
    """
    exchange = exchange_require(data["exchange_id"])
    symbol = data["symbol"]
    base_symbol, quote_symbol = pair_symbols(data)
    pair_id = data.get("id")
    with transaction.atomic():
        if pair_id is not None:
            existing = MarketMakingPair.objects.filter(pk=pair_id).first()
            if existing is not None:
                same = (
                    existing.exchange_id == exchange.exchange_id
                    and existing.symbol == symbol
                    and existing.base_asset_id == data["base_asset_id"]
                    and existing.quote_asset_id == data["quote_asset_id"]
                )
                if not same:
                    raise AlreadyExists(f"pair {pair_id} already exists with other content.")
                return existing
        base, quote = pair_assets_register(data=data, actor=actor, request=request)
        pair = MarketMakingPair(
            exchange=exchange,
            symbol=symbol,
            base_symbol=base_symbol,
            quote_symbol=quote_symbol,
            base_asset=base,
            quote_asset=quote,
            **{k: data[k] for k in PAIR_UPDATABLE if k in data},
        )
        if pair_id is not None:
            pair.id = pair_id
        validated_save(pair, conflict=f"{symbol} on {exchange.exchange_id} already exists.")
        audit_record(
            action="mm_pair.create",
            actor=actor_of(actor),
            target_type="market_making_pair",
            target_id=str(pair.pk),
            payload={"exchange_id": exchange.exchange_id, "symbol": symbol},
            request=request,
        )
    return pair


def market_making_pair_update(
    *,
    pair: MarketMakingPair,
    data: Mapping[str, Any],
    actor: User | None,
    request: HttpRequest | None = None,
) -> MarketMakingPair:
    """Updates prices, fee override, limits and `enable`; icon/chain fields update the asset registry.

    The pair's identity (exchange, symbol, assets) is immutable: orders reference it. Sending the
    same value is accepted, a different one is a 400 (remove and add a new pair instead).
    """
    with transaction.atomic():
        locked = MarketMakingPair.objects.select_for_update().get(pk=pair.pk)
        for key in PAIR_IMMUTABLE:
            if (
                key in data
                and data[key] not in (None, "")
                and str(data[key]) != str(getattr(locked, key))
            ):
                raise ValidationFailed(
                    f"{key} of a pair cannot change; remove it and add a new pair."
                )
        changed = changes_apply(
            locked, {k: data[k] for k in PAIR_UPDATABLE if k in data}, PAIR_UPDATABLE
        )
        if changed:
            validated_save(locked, conflict="pair already exists.")
        for prefix, asset in (("base", locked.base_asset), ("quote", locked.quote_asset)):
            details = {k: v for k, v in _asset_details(prefix, data).items() if v not in (None, "")}
            if details:
                asset_update(asset=asset, changes=details, actor=actor, request=request)
        audit_record(
            action="mm_pair.update",
            actor=actor_of(actor),
            target_type="market_making_pair",
            target_id=str(locked.pk),
            payload={"changed": jsonable(changed)},
            request=request,
        )
    return locked


def market_making_pair_remove(
    *, pair: MarketMakingPair, actor: User | None, request: HttpRequest | None = None
) -> None:
    pair_id = str(pair.pk)
    with transaction.atomic():
        delete_or_conflict(pair, what=f"pair {pair_id}")
        audit_record(
            action="mm_pair.remove",
            actor=actor_of(actor),
            target_type="market_making_pair",
            target_id=pair_id,
            payload={"exchange_id": pair.exchange_id, "symbol": pair.symbol},
            request=request,
        )
