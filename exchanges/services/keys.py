"""API keys of venue accounts: decrypted only to hand to a venue client, re-encrypted on key
rotation. Never log what `venue_credentials_get` returns."""

from __future__ import annotations

from django.db import transaction

from exchanges import secrets
from exchanges.models import VenueAccount
from exchanges.services.saving import (
    actor_of,
)
from exchanges.venues.factory import VenueCredentials
from mrmarket.audit import audit_record
from mrmarket.models import User


def venue_credentials_get(*, account: VenueAccount) -> VenueCredentials:
    """Decrypts an account's secrets, only to hand them to a venue client. Never log the result."""
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
        actor=actor_of(actor),
        target_type="venue_account",
        payload={"rotated": rotated, "key_id": current},
    )
    return rotated
