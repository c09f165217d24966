"""Venue accounts and their API keys: stored encrypted, audited without the secret, decrypted
only by `venue_credentials_get` (which only the gateway registry calls)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from django.db import transaction
from django.http import HttpRequest

from exchanges import secrets
from exchanges.exceptions import (
    ExchangeNotFound,
)
from exchanges.models import Exchange, VenueAccount
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

# Venue account indexes are small: an exchange rarely has more than a handful of accounts.
MAX_ACCOUNT_INDEX = 255


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
        validated_save(
            account,
            conflict=f"account {exchange.exchange_id}:{index} already exists; "
            "pick another exchange_index or remove it first.",
        )
        audit_record(
            action="venue_account.create",
            actor=actor_of(actor),
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
        changed = changes_apply(locked, changes or {}, ("name", "read_only", "enabled"))
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
        validated_save(locked, conflict="account already exists.")
        audit_record(
            action="venue_account.update",
            actor=actor_of(actor),
            target_type="venue_account",
            target_id=locked.account_ref,
            payload={"changed": jsonable(changed), "replaced": replaced},
            request=request,
        )
    gateway_cache_clear(exchange_id=locked.exchange_id)
    return locked


def venue_account_remove(
    *, account: VenueAccount, actor: User | None, request: HttpRequest | None = None
) -> None:
    ref = account.account_ref
    with transaction.atomic():
        delete_or_conflict(account, what=f"account {ref}")
        audit_record(
            action="venue_account.remove",
            actor=actor_of(actor),
            target_type="venue_account",
            target_id=ref,
            payload={"key_id": account.pk},
            request=request,
        )
    gateway_cache_clear(exchange_id=ref.split(":", 1)[0])
