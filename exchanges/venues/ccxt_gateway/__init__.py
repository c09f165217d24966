"""The ccxt implementation of `VenueGateway` (ccxt pinned to 4.5.90 in pyproject.toml).

One gateway per venue account, over one ccxt client. Every venue difference it honours comes
from the venue's profile (`exchanges.venues.profiles`). Parts: `client` (the ccxt class
routed through the shared rate limiter; URLs pointed at an emulator), `errors` (ccxt
exceptions and venue codes -> our taxonomy), `parsing` (ccxt structures -> our types, no
invented fields), `markets`, `trading`, `wallet` (the protocol's methods by area).
"""

from exchanges.venues.ccxt_gateway.trading import CLIENT_ORDER_ID_RE, validate_client_order_id
from exchanges.venues.ccxt_gateway.wallet import WalletMixin


class CcxtGateway(WalletMixin):
    """`VenueGateway` over one ccxt client. Keep one per (venue, account) and reuse it."""


__all__ = ["CLIENT_ORDER_ID_RE", "CcxtGateway", "validate_client_order_id"]
