"""Writes of the admin catalogs: simply-grow tokens, arbitrage pairs, spot pairs, and the
"remove all" buttons of the admin pages (CONTRACT admin rows).

Each write is validated (model constraints mirrored by `full_clean`), audited in the same
transaction, and idempotent the way the market-making pair's is: adding a row whose key
exists with the same content answers it, with other content is a 409. A "remove all" is
all or nothing: if any row is still referenced (an order, an account), nothing is removed
and the 409 names what holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.http import HttpRequest

from exchanges.exceptions import AlreadyExists, PairNotFound
from exchanges.models import (
    ArbitragePair,
    Exchange,
    MarketMakingPair,
    SimplyGrowToken,
    SpotPair,
)
from exchanges.services.catalog import (
    PAIR_IMMUTABLE,
    PAIR_UPDATABLE,
    exchange_require,
    pair_assets_register,
    pair_symbols,
)
from exchanges.services.saving import actor_of as _actor
from exchanges.services.saving import changes_apply as _apply
from exchanges.services.saving import delete_or_conflict as _delete_or_conflict
from exchanges.services.saving import jsonable as _jsonable
from exchanges.services.saving import validated_save as _validated_save
from mrmarket.audit import audit_record
from mrmarket.exceptions import NotFound, ValidationFailed
from mrmarket.models import User

TOKEN_FIELDS = ("name", "symbol", "icon_url", "apy", "enable")
ARBITRAGE_UPDATABLE = ("base_price", "target_price", "enable")
ARBITRAGE_IMMUTABLE = (
    "symbol",
    "base_symbol",
    "quote_symbol",
    "base_asset_id",
    "quote_asset_id",
    "base_exchange_id",
    "target_exchange_id",
)
SPOT_UPDATABLE = (*PAIR_UPDATABLE, "amount_significant_figures", "price_significant_figures")


class CatalogRowNotFound(NotFound):
    code = "not_found"


def _audit(
    action: str,
    label: str,
    pk: Any,
    payload: dict[str, Any],
    actor: User | None,
    request: HttpRequest | None,
) -> None:
    audit_record(
        action=action,
        actor=_actor(actor),
        target_type=label,
        target_id=str(pk),
        payload=_jsonable(payload),
        request=request,
    )


def _check_immutable(row: models.Model, data: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    for key in keys:
        if key in data and data[key] not in (None, "") and str(data[key]) != str(getattr(row, key)):
            raise ValidationFailed(f"{key} cannot change; remove the row and add a new one.")


def _get(model: type[models.Model], pk: Any, what: str) -> Any:
    try:
        row = model._default_manager.filter(pk=pk).first()
    except (ValueError, TypeError, DjangoValidationError):  # a malformed key names nothing
        row = None
    if row is None:
        raise (PairNotFound if "pair" in what else CatalogRowNotFound)(
            f"{what} {pk} does not exist."
        )
    return row


# ---------------------------------------------------------------------------- simply grow


def simply_grow_token_add(
    *, data: Mapping[str, Any], actor: User | None, request: HttpRequest | None = None
) -> SimplyGrowToken:
    with transaction.atomic():
        existing = SimplyGrowToken.objects.filter(pk=data["asset_id"]).first()
        if existing is not None:
            same = all(str(getattr(existing, k)) == str(data[k]) for k in TOKEN_FIELDS if k in data)
            if not same:
                raise AlreadyExists(f"token {data['asset_id']} already exists with other content.")
            return existing
        token = SimplyGrowToken(**{k: v for k, v in data.items() if v is not None})
        _validated_save(token, conflict=f"token {data['asset_id']} already exists.")
        _audit("simply_grow.create", "simply_grow_token", token.pk, dict(data), actor, request)
    return token


def simply_grow_token_update(
    *,
    asset_id: Any,
    data: Mapping[str, Any],
    actor: User | None,
    request: HttpRequest | None = None,
) -> SimplyGrowToken:
    with transaction.atomic():
        token = _get(SimplyGrowToken, asset_id, "simply-grow token")
        token = SimplyGrowToken.objects.select_for_update().get(pk=token.pk)
        _check_immutable(token, data, ("asset_id",))
        changes = {k: v for k, v in data.items() if k in TOKEN_FIELDS and v is not None}
        changed = _apply(token, changes, TOKEN_FIELDS)
        if changed:
            _validated_save(token, conflict="token already exists.")
        _audit("simply_grow.update", "simply_grow_token", token.pk, changed, actor, request)
    return token


# ---------------------------------------------------------------------------- arbitrage


def arbitrage_pair_add(
    *, data: Mapping[str, Any], actor: User | None, request: HttpRequest | None = None
) -> ArbitragePair:
    base_exchange = exchange_require(data["base_exchange_id"])
    target_exchange = exchange_require(data["target_exchange_id"])
    with transaction.atomic():
        if data.get("id") is not None:
            existing = ArbitragePair.objects.filter(pk=data["id"]).first()
            if existing is not None:
                _check_immutable(existing, data, ARBITRAGE_IMMUTABLE)
                return existing
        base, quote = pair_assets_register(data=data, actor=actor, request=request)
        base_symbol, quote_symbol = pair_symbols(data)
        pair = ArbitragePair(
            symbol=data["symbol"],
            base_symbol=base_symbol,
            quote_symbol=quote_symbol,
            base_asset=base,
            quote_asset=quote,
            base_exchange=base_exchange,
            target_exchange=target_exchange,
            **{k: data[k] for k in ARBITRAGE_UPDATABLE if data.get(k) is not None},
        )
        if data.get("id") is not None:
            pair.id = data["id"]
        _validated_save(pair, conflict=f"arbitrage pair {pair} already exists.")
        _audit(
            "arbitrage_pair.create", "arbitrage_pair", pair.pk, {"pair": str(pair)}, actor, request
        )
    return pair


def arbitrage_pair_update(
    *, pair_id: Any, data: Mapping[str, Any], actor: User | None, request: HttpRequest | None = None
) -> ArbitragePair:
    with transaction.atomic():
        pair = _get(ArbitragePair, pair_id, "arbitrage pair")
        pair = ArbitragePair.objects.select_for_update().get(pk=pair.pk)
        _check_immutable(pair, data, ARBITRAGE_IMMUTABLE)
        changes = {k: data[k] for k in ARBITRAGE_UPDATABLE if k in data}
        changed = _apply(pair, changes, ARBITRAGE_UPDATABLE)
        if changed:
            _validated_save(pair, conflict="arbitrage pair already exists.")
        _audit("arbitrage_pair.update", "arbitrage_pair", pair.pk, changed, actor, request)
    return pair


# ---------------------------------------------------------------------------- spot pairs


def spot_pair_add(
    *, data: Mapping[str, Any], actor: User | None, request: HttpRequest | None = None
) -> SpotPair:
    exchange = exchange_require(data["exchange_id"])
    with transaction.atomic():
        if data.get("id") is not None:
            existing = SpotPair.objects.filter(pk=data["id"]).first()
            if existing is not None:
                _check_immutable(existing, data, PAIR_IMMUTABLE)
                return existing
        base, quote = pair_assets_register(data=data, actor=actor, request=request)
        base_symbol, quote_symbol = pair_symbols(data)
        pair = SpotPair(
            exchange=exchange,
            symbol=data["symbol"],
            base_symbol=base_symbol,
            quote_symbol=quote_symbol,
            base_asset=base,
            quote_asset=quote,
            **{k: data[k] for k in SPOT_UPDATABLE if data.get(k) is not None},
        )
        if data.get("id") is not None:
            pair.id = data["id"]
        _validated_save(pair, conflict=f"{pair.symbol} on {exchange.exchange_id} already exists.")
        _audit("spotpair.create", "spotpair", pair.pk, {"pair": str(pair)}, actor, request)
    return pair


def spot_pair_update(
    *, pair_id: Any, data: Mapping[str, Any], actor: User | None, request: HttpRequest | None = None
) -> SpotPair:
    with transaction.atomic():
        pair = _get(SpotPair, pair_id, "spot pair")
        pair = SpotPair.objects.select_for_update().get(pk=pair.pk)
        _check_immutable(pair, data, PAIR_IMMUTABLE)
        changed = _apply(pair, {k: data[k] for k in SPOT_UPDATABLE if k in data}, SPOT_UPDATABLE)
        if changed:
            _validated_save(pair, conflict="spot pair already exists.")
        _audit("spotpair.update", "spotpair", pair.pk, changed, actor, request)
    return pair


# ---------------------------------------------------------------------------- removal

CATALOGS: dict[str, tuple[type[models.Model], str]] = {
    "simply_grow_token": (SimplyGrowToken, "simply-grow token"),
    "arbitrage_pair": (ArbitragePair, "arbitrage pair"),
    "spotpair": (SpotPair, "spot pair"),
    "market_making_pair": (MarketMakingPair, "market-making pair"),
    "exchange": (Exchange, "exchange"),
}


def catalog_row_remove(
    *, catalog: str, pk: Any, actor: User | None, request: HttpRequest | None = None
) -> None:
    model, what = CATALOGS[catalog]
    with transaction.atomic():
        row = _get(model, pk, what)
        text = str(row)
        _delete_or_conflict(row, what=f"{what} {text}")
        _audit(f"{catalog}.remove", catalog, pk, {"repr": text}, actor, request)


def catalog_remove_all(
    *, catalog: str, actor: User | None, request: HttpRequest | None = None
) -> int:
    """Remove every row of one catalog, or none (409) if any is still referenced."""
    model, what = CATALOGS[catalog]
    with transaction.atomic():
        rows = list(model._default_manager.all())
        for row in rows:
            _delete_or_conflict(row, what=f"{what} {row}")
        _audit(f"{catalog}.remove_all", catalog, "*", {"count": len(rows)}, actor, request)
    return len(rows)
