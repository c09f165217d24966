"""exchanges: writes (venues, accounts and their secrets, assets, pairs, fees) and gateway access.

Split by responsibility: `catalog` (exchanges, assets, pairs), `accounts` (venue accounts),
`keys` (their secrets), `console` (fee settings, registry rows), `gateways` (the process's
built gateways), `saving` (validated save and audit helpers). Every operator write is audited
(`mrmarket.audit.audit_record`) in the same transaction, with a payload that never carries a
secret. Secrets arrive sealed (`exchanges.secrets.sealed_open`) or, from the console form, in
the clear over the console's own TLS session; either way they are encrypted before they touch
a model and decrypted only by `venue_credentials_get`, which only `venue_gateway_get` calls.

The names below are the app's service interface; import them from here.
"""

from exchanges.services.accounts import (
    MAX_ACCOUNT_INDEX,
    venue_account_create,
    venue_account_create_sealed,
    venue_account_remove,
    venue_account_update,
)
from exchanges.services.catalog import (
    ASSET_FIELDS,
    EXCHANGE_UPDATABLE,
    PAIR_IMMUTABLE,
    PAIR_UPDATABLE,
    asset_register,
    asset_update,
    exchange_create,
    exchange_remove,
    exchange_update,
    market_making_pair_create,
    market_making_pair_remove,
    market_making_pair_update,
    symbol_split,
)
from exchanges.services.console import (
    FEE_FIELDS,
    fee_settings_ensure,
    fee_settings_update,
    registry_object_delete,
    registry_object_save,
)
from exchanges.services.gateways import (
    GatewayRegistry,
    build_gateway_for,
    gateway_cache_clear,
    gateway_registry,
    venue_gateway_get,
)
from exchanges.services.keys import venue_credentials_get, venue_secrets_rotate

__all__ = [
    "ASSET_FIELDS",
    "EXCHANGE_UPDATABLE",
    "FEE_FIELDS",
    "MAX_ACCOUNT_INDEX",
    "PAIR_IMMUTABLE",
    "PAIR_UPDATABLE",
    "GatewayRegistry",
    "asset_register",
    "asset_update",
    "build_gateway_for",
    "exchange_create",
    "exchange_remove",
    "exchange_update",
    "fee_settings_ensure",
    "fee_settings_update",
    "gateway_cache_clear",
    "gateway_registry",
    "market_making_pair_create",
    "market_making_pair_remove",
    "market_making_pair_update",
    "registry_object_delete",
    "registry_object_save",
    "symbol_split",
    "venue_account_create",
    "venue_account_create_sealed",
    "venue_account_remove",
    "venue_account_update",
    "venue_credentials_get",
    "venue_gateway_get",
    "venue_secrets_rotate",
]
