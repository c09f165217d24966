"""exchanges: writes (venues, accounts and their secrets, assets, pairs, fees) and gateway access.

Every operator write is audited (`mrmarket.audit.audit_record`) in the same transaction, with a
payload that never carries a secret. Secrets arrive sealed (`exchanges.secrets.sealed_open`) or,
from the console form, in the clear over the console's own TLS session; either way they are
encrypted before they touch a model and decrypted only by `venue_credentials_get`, which only
`venue_gateway_get` calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.http import HttpRequest

from exchanges import secrets
from exchanges.enums import ExchangeKind
from exchanges.exceptions import (
    AlreadyExists,
    ExchangeInUse,
    ExchangeNotFound,
    VenueAccountNotFound,
    VenueMisconfigured,
)
from exchanges.models import (
    Asset,
    Exchange,
    FeeSettings,
    MarketMakingPair,
    VenueAccount,
)
from exchanges.selectors import decimal_str
from mrmarket.audit import audit_record
from mrmarket.exceptions import ValidationFailed
from mrmarket.models import User

if TYPE_CHECKING:
    from exchanges.venues.base import VenueGateway
    from exchanges.venues.factory import VenueCredentials

log = structlog.get_logger(__name__)

# Venue account indexes are small: an exchange rarely has more than a handful of accounts.
MAX_ACCOUNT_INDEX = 255


# ---------------------------------------------------------------------------- helpers


def _messages(exc: DjangoValidationError) -> str:
    if hasattr(exc, "error_dict"):
        parts = []
        for field, errors in exc.message_dict.items():
            for message in errors:
                parts.append(message if field == "__all__" else f"{field}: {message}")
        return "; ".join(parts)
    return "; ".join(exc.messages)


def _is_unique_violation(exc: DjangoValidationError) -> bool:
    errors: Iterable[DjangoValidationError]
    if hasattr(exc, "error_dict"):
        errors = [e for group in exc.error_dict.values() for e in group]
    else:
        errors = exc.error_list
    return any(e.code in {"unique", "unique_together"} for e in errors)


def _validated_save(obj: models.Model, *, conflict: str) -> None:
    """Python checks mirror the database constraints (friendly 400/409); the database has the last word."""
    try:
        obj.full_clean()
    except DjangoValidationError as exc:
        if _is_unique_violation(exc):
            raise AlreadyExists(conflict) from None
        raise ValidationFailed(_messages(exc)) from None
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError:
        raise AlreadyExists(conflict) from None


def _delete_or_conflict(obj: models.Model, *, what: str) -> None:
    try:
        with transaction.atomic():
            obj.delete()
    except (ProtectedError, RestrictedError) as exc:
        users = sorted({type(o)._meta.verbose_name_plural for o in exc.args[1]})
        raise ExchangeInUse(
            f"{what} is still referenced by {', '.join(str(u) for u in users)}; "
            "disable it instead, or remove those first."
        ) from None


def _actor(user: Any) -> User | None:
    return user if isinstance(user, User) and user.pk else None


def _apply(obj: models.Model, changes: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Sets the allowed changed fields on `obj`; returns {field: new value} of what really changed."""
    allowed_set = set(allowed)
    changed: dict[str, Any] = {}
    for field, value in changes.items():
        if field not in allowed_set:
            raise ValidationFailed(f"{field} cannot be changed.")
        if getattr(obj, field) != value:
            setattr(obj, field, value)
            changed[field] = value
    return changed


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal):
            out[key] = decimal_str(value)
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, models.Model):
            out[key] = str(value.pk)
        elif isinstance(value, str | int | float | bool | type(None) | dict | list):
            out[key] = value
        else:
            out[key] = str(value)
    return out


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
    import ccxt  # imported here: ~1.5 s, and only exchange writes need the list

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
        _validated_save(exchange, conflict=f"exchange {exchange_id!r} already exists.")
        audit_record(
            action="exchange.create",
            actor=_actor(actor),
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
        changed = _apply(locked, changes, EXCHANGE_UPDATABLE)
        if "kind" in changed and locked.kind == ExchangeKind.PAPER:
            locked.ccxt_id = ""
        if changed:
            _ccxt_id_check(locked)
            _validated_save(locked, conflict="exchange already exists.")
        audit_record(
            action="exchange.update",
            actor=_actor(actor),
            target_type="exchange",
            target_id=locked.exchange_id,
            payload={"changed": _jsonable(changed)},
            request=request,
        )
    gateway_cache_clear(exchange_id=locked.exchange_id)
    return locked


def exchange_remove(
    *, exchange: Exchange, actor: User | None, request: HttpRequest | None = None
) -> None:
    exchange_id = exchange.exchange_id
    with transaction.atomic():
        _delete_or_conflict(exchange, what=f"exchange {exchange_id!r}")
        audit_record(
            action="exchange.remove",
            actor=_actor(actor),
            target_type="exchange",
            target_id=exchange_id,
            request=request,
        )
    gateway_cache_clear(exchange_id=exchange_id)


# ---------------------------------------------------------------------------- venue accounts


def _key_hint(api_key: str) -> str:
    # Four characters tell keys apart; a short key shows nothing at all.
    return api_key[-4:] if len(api_key) >= 12 else ""


def _next_index(exchange: Exchange) -> int:
    used = set(VenueAccount.objects.filter(exchange=exchange).values_list("index", flat=True))
    return next(i for i in range(MAX_ACCOUNT_INDEX + 2) if i not in used)


def venue_account_create(
    *,
    exchange: Exchange,
    name: str,
    api_key: str,
    api_secret: str,
    actor: User | None,
    api_passphrase: str = "",
    index: int | None = None,
    read_only: bool = False,
    enabled: bool = True,
    request: HttpRequest | None = None,
) -> VenueAccount:
    """Stores a venue account with its secrets encrypted. Takes plaintext: callers open seals first."""
    api_key = api_key.strip()
    if not api_key or not api_secret:
        raise ValidationFailed("api_key and api_secret are required.")
    with transaction.atomic():
        # Lock the exchange row so two concurrent adds without an index get different ones.
        Exchange.objects.select_for_update().filter(pk=exchange.pk).exists()
        if index is None:
            index = _next_index(exchange)
        if not 0 <= index <= MAX_ACCOUNT_INDEX:
            raise ValidationFailed(f"exchange_index must be between 0 and {MAX_ACCOUNT_INDEX}.")
        account = VenueAccount(
            exchange=exchange,
            index=index,
            name=name,
            api_key_encrypted=secrets.secret_encrypt(api_key),
            api_key_hint=_key_hint(api_key),
            api_secret_encrypted=secrets.secret_encrypt(api_secret),
            api_passphrase_encrypted=secrets.secret_encrypt(api_passphrase),
            read_only=read_only,
            enabled=enabled,
        )
        _validated_save(
            account,
            conflict=f"account {exchange.exchange_id}:{index} already exists; "
            "pick another exchange_index or remove it first.",
        )
        audit_record(
            action="venue_account.create",
            actor=_actor(actor),
            target_type="venue_account",
            target_id=account.account_ref,
            payload={
                "key_id": account.pk,
                "name": name,
                "api_key_hint": account.api_key_hint,
                "has_passphrase": bool(api_passphrase),
                "read_only": read_only,
            },
            request=request,
        )
    log.info("venue_account_created", venue=exchange.exchange_id, account=account.account_ref)
    return account


def venue_account_create_sealed(
    *,
    exchange_id: str,
    name: str,
    api_key: str,
    api_secret_sealed: str,
    actor: User | None,
    api_passphrase_sealed: str = "",
    index: int | None = None,
    read_only: bool = False,
    request: HttpRequest | None = None,
) -> VenueAccount:
    """`POST /admin/exchanges/keys`: opens the sealed secret(s), then `venue_account_create`."""
    exchange = Exchange.objects.filter(exchange_id=exchange_id).first()
    if exchange is None:
        raise ExchangeNotFound(f"exchange {exchange_id!r} does not exist.")
    api_secret = secrets.sealed_open(sealed_b64=api_secret_sealed, field="api_secret")
    passphrase = (
        secrets.sealed_open(sealed_b64=api_passphrase_sealed, field="api_passphrase")
        if api_passphrase_sealed
        else ""
    )
    return venue_account_create(
        exchange=exchange,
        name=name,
        api_key=api_key,
        api_secret=api_secret,
        api_passphrase=passphrase,
        index=index,
        read_only=read_only,
        actor=actor,
        request=request,
    )


def venue_account_update(
    *,
    account: VenueAccount,
    actor: User | None,
    changes: Mapping[str, Any] | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    api_passphrase: str | None = None,
    request: HttpRequest | None = None,
) -> VenueAccount:
    """Console edits: name/flags, and replacing a secret (None or "" keeps the stored one)."""
    with transaction.atomic():
        locked = VenueAccount.objects.select_for_update().get(pk=account.pk)
        changed = _apply(locked, changes or {}, ("name", "read_only", "enabled"))
        replaced = []
        if api_key:
            locked.api_key_encrypted = secrets.secret_encrypt(api_key.strip())
            locked.api_key_hint = _key_hint(api_key.strip())
            replaced.append("api_key")
        if api_secret:
            locked.api_secret_encrypted = secrets.secret_encrypt(api_secret)
            replaced.append("api_secret")
        if api_passphrase:
            locked.api_passphrase_encrypted = secrets.secret_encrypt(api_passphrase)
            replaced.append("api_passphrase")
        _validated_save(locked, conflict="account already exists.")
        audit_record(
            action="venue_account.update",
            actor=_actor(actor),
            target_type="venue_account",
            target_id=locked.account_ref,
            payload={"changed": _jsonable(changed), "replaced": replaced},
            request=request,
        )
    gateway_cache_clear(exchange_id=locked.exchange_id)
    return locked


def venue_account_remove(
    *, account: VenueAccount, actor: User | None, request: HttpRequest | None = None
) -> None:
    ref = account.account_ref
    with transaction.atomic():
        _delete_or_conflict(account, what=f"account {ref}")
        audit_record(
            action="venue_account.remove",
            actor=_actor(actor),
            target_type="venue_account",
            target_id=ref,
            payload={"key_id": account.pk},
            request=request,
        )
    gateway_cache_clear(exchange_id=ref.split(":", 1)[0])


def venue_credentials_get(*, account: VenueAccount) -> VenueCredentials:
    """Decrypts an account's secrets, only to hand them to a venue client. Never log the result."""
    from exchanges.venues.factory import VenueCredentials

    return VenueCredentials(
        api_key=secrets.secret_decrypt(account.api_key_encrypted),
        secret=secrets.secret_decrypt(account.api_secret_encrypted),
        password=secrets.secret_decrypt(account.api_passphrase_encrypted),
    )


def venue_secrets_rotate(*, actor: User | None = None) -> int:
    """Re-encrypts every stored secret under the current FIELD_ENCRYPTION_KEY; returns how many rows changed."""
    current = secrets.current_key_id()
    rotated = 0
    fields = ("api_key_encrypted", "api_secret_encrypted", "api_passphrase_encrypted")
    for pk in VenueAccount.objects.values_list("pk", flat=True):
        with transaction.atomic():
            account = VenueAccount.objects.select_for_update().get(pk=pk)
            stale = [
                f
                for f in fields
                if getattr(account, f) and secrets.secret_key_id(getattr(account, f)) != current
            ]
            if not stale:
                continue
            for f in stale:
                setattr(
                    account, f, secrets.secret_encrypt(secrets.secret_decrypt(getattr(account, f)))
                )
            account.save(update_fields=[*stale, "updated_at"])
            rotated += 1
    audit_record(
        action="venue_account.secrets_rotate",
        actor=_actor(actor),
        target_type="venue_account",
        payload={"rotated": rotated, "key_id": current},
    )
    return rotated


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
            _validated_save(asset, conflict=f"asset {asset_id} already exists.")
            action, changed = "asset.create", {"symbol": symbol, **details}
        else:
            changed = {k: v for k, v in details.items() if getattr(asset, k) in (None, "")}
            if not changed:
                return asset
            for key, value in changed.items():
                setattr(asset, key, value)
            _validated_save(asset, conflict="asset already exists.")
            action = "asset.fill"
        audit_record(
            action=action,
            actor=_actor(actor),
            target_type="asset",
            target_id=str(asset.asset_id),
            payload=_jsonable(changed),
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
        changed = _apply(locked, changes, ASSET_FIELDS)
        if changed:
            _validated_save(locked, conflict="asset already exists.")
            audit_record(
                action="asset.update",
                actor=_actor(actor),
                target_type="asset",
                target_id=str(locked.asset_id),
                payload=_jsonable(changed),
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
    exchange = Exchange.objects.filter(exchange_id=data["exchange_id"]).first()
    if exchange is None:
        raise ExchangeNotFound(f"exchange {data['exchange_id']!r} does not exist.")
    symbol = data["symbol"]
    base_symbol, quote_symbol = symbol_split(symbol)
    for key, expected in (("base_symbol", base_symbol), ("quote_symbol", quote_symbol)):
        if data.get(key) not in (None, "", expected):
            raise ValidationFailed(f"{key} {data[key]!r} does not match symbol {symbol!r}.")
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
        _validated_save(pair, conflict=f"{symbol} on {exchange.exchange_id} already exists.")
        audit_record(
            action="mm_pair.create",
            actor=_actor(actor),
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
        changed = _apply(locked, {k: data[k] for k in PAIR_UPDATABLE if k in data}, PAIR_UPDATABLE)
        if changed:
            _validated_save(locked, conflict="pair already exists.")
        for prefix, asset in (("base", locked.base_asset), ("quote", locked.quote_asset)):
            details = {k: v for k, v in _asset_details(prefix, data).items() if v not in (None, "")}
            if details:
                asset_update(asset=asset, changes=details, actor=actor, request=request)
        audit_record(
            action="mm_pair.update",
            actor=_actor(actor),
            target_type="market_making_pair",
            target_id=str(locked.pk),
            payload={"changed": _jsonable(changed)},
            request=request,
        )
    return locked


def market_making_pair_remove(
    *, pair: MarketMakingPair, actor: User | None, request: HttpRequest | None = None
) -> None:
    pair_id = str(pair.pk)
    with transaction.atomic():
        _delete_or_conflict(pair, what=f"pair {pair_id}")
        audit_record(
            action="mm_pair.remove",
            actor=_actor(actor),
            target_type="market_making_pair",
            target_id=pair_id,
            payload={"exchange_id": pair.exchange_id, "symbol": pair.symbol},
            request=request,
        )


# ---------------------------------------------------------------------------- fees

FEE_FIELDS = ("spot_fee", "market_making_fee", "enable_spot_fee", "enable_market_making_fee")


def fee_settings_ensure() -> FeeSettings:
    fees, _ = FeeSettings.objects.get_or_create(
        pk=1, defaults={"market_making_fee": settings.MARKET_MAKING_FEE_DEFAULT}
    )
    return fees


def fee_settings_update(
    *, changes: Mapping[str, Any], actor: User | None, request: HttpRequest | None = None
) -> FeeSettings:
    with transaction.atomic():
        fee_settings_ensure()
        fees = FeeSettings.objects.select_for_update().get(pk=1)
        changed = _apply(fees, changes, FEE_FIELDS)
        if changed:
            _validated_save(fees, conflict="fee settings already exist.")
        audit_record(
            action="fee_settings.update",
            actor=_actor(actor),
            target_type="fee_settings",
            target_id="1",
            payload={"changed": _jsonable(changed)},
            request=request,
        )
    return fees


# ---------------------------------------------------------------------------- console


def registry_object_save(
    *, obj: models.Model, created: bool, actor: User | None, request: HttpRequest | None = None
) -> models.Model:
    """Console saves of registry rows (assets, networks, spot pairs): validated and audited."""
    label = obj._meta.model_name or "object"
    with transaction.atomic():
        _validated_save(obj, conflict=f"{label} already exists.")
        audit_record(
            action=f"{label}.{'create' if created else 'update'}",
            actor=_actor(actor),
            target_type=label,
            target_id=str(obj.pk),
            payload={"repr": str(obj)},
            request=request,
        )
    return obj


def registry_object_delete(
    *, obj: models.Model, actor: User | None, request: HttpRequest | None = None
) -> None:
    label = obj._meta.model_name or "object"
    pk, text = str(obj.pk), str(obj)
    with transaction.atomic():
        _delete_or_conflict(obj, what=f"{label} {text}")
        audit_record(
            action=f"{label}.remove",
            actor=_actor(actor),
            target_type=label,
            target_id=pk,
            payload={"repr": text},
            request=request,
        )


# ---------------------------------------------------------------------------- gateways

# One gateway per (exchange, account) per process: ccxt clients keep markets and sessions, so
# building one per request would reload markets every time. The fingerprint (both rows'
# `updated_at`) rebuilds it after any change to the exchange's config or the account's keys.
_gateways: dict[tuple[str, int], tuple[tuple[object, ...], VenueGateway]] = {}
_gateways_lock = threading.Lock()


def build_gateway_for(
    *,
    kind: str,
    venue: str,
    account: str,
    credentials: VenueCredentials | None = None,
    options: Mapping[str, Any] | None = None,
) -> VenueGateway:
    """The one call into the venue factory (tests replace this with a fake gateway)."""
    from exchanges.venues.factory import build_gateway

    return build_gateway(
        kind=kind, venue=venue, account=account, credentials=credentials, options=options
    )


def gateway_cache_clear(*, exchange_id: str | None = None) -> None:
    with _gateways_lock:
        for key in [k for k in _gateways if exchange_id is None or k[0] == exchange_id]:
            del _gateways[key]


def venue_gateway_get(*, exchange_id: str, account_index: int = 0) -> VenueGateway:
    """The gateway of an enabled exchange's account (`exchange_id:account_index`).

    Without a stored account (public market data, the paper venue) the gateway gets no
    credentials; a disabled account is treated as absent so a paused key is never used.
    """
    exchange = Exchange.objects.filter(exchange_id=exchange_id, enable=True).first()
    if exchange is None:
        raise ExchangeNotFound(f"exchange {exchange_id!r} does not exist or is disabled.")
    account = VenueAccount.objects.filter(
        exchange=exchange, index=account_index, enabled=True
    ).first()
    if account is None and account_index != 0:
        raise VenueAccountNotFound(f"account {exchange_id}:{account_index} does not exist.")
    fingerprint = (exchange.updated_at, account.updated_at if account else None)
    key = (exchange_id, account_index)
    with _gateways_lock:
        cached = _gateways.get(key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
    options: dict[str, Any] = dict(exchange.options or {})
    if exchange.kind == ExchangeKind.CCXT:
        options.setdefault("ccxt_id", exchange.ccxt_id)
    from exchanges.venues.base import VenueError

    try:
        gateway = build_gateway_for(
            kind=exchange.kind,
            venue=exchange_id,
            account=f"{exchange_id}:{account_index}",
            credentials=venue_credentials_get(account=account) if account else None,
            options=options,
        )
    except VenueError:
        raise
    except Exception as exc:
        # Only the type is reported: a driver's message may quote its configuration.
        log.error("venue_gateway_build_failed", venue=exchange_id, error_type=type(exc).__name__)
        raise VenueMisconfigured(
            f"{exchange_id} cannot be reached: its gateway could not be built "
            f"({type(exc).__name__}); check the exchange's kind and options."
        ) from None
    with _gateways_lock:
        _gateways[key] = (fingerprint, gateway)
    log.info("venue_gateway_built", venue=exchange_id, account=f"{exchange_id}:{account_index}")
    return gateway
