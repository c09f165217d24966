"""Account codes: the names of ledger accounts and what each name implies (DESIGN §3).

An account is identified by `(code, asset)`. The code alone determines the account's kind,
its balance flag and its owner columns, so any caller that names an account gets the same
row, created on first use. Codes:

| code                                  | kind      | flag                             |
|---------------------------------------|-----------|----------------------------------|
| `custody:mixin`                       | asset     | credits must not exceed debits   |
| `custody:venue:<venue>:<account>`     | asset     | credits must not exceed debits   |
| `custody:venue:<venue>:<account>:funding` | asset | credits must not exceed debits   |
| `user:<user_uuid>:available`          | liability | debits must not exceed credits   |
| `order:<order_uuid>`                  | liability | debits must not exceed credits   |
| `rewards:hufi`                        | liability | debits must not exceed credits   |
| `fees:network`, `fees:venue`          | expense   | none (see below)                 |
| `revenue:service`                     | income    | debits must not exceed credits   |

"Debits must not exceed credits" is TigerBeetle's flag: `debits_posted + debits_pending <=
credits_posted` — a liability never goes below zero, and pending debits count against it.
A venue account is one custody account, its trading wallet (where orders trade). A venue that
splits wallets (OKX, Bybit, KuCoin: deposits land in and withdrawals leave from a funding
wallet) has a second one, `...:funding`, for what sits in its funding wallet; moves between
the two are custody moves like any other (decision 0700).

Asset accounts carry the mirror flag: custody never sends more than it holds. Fee accounts
carry none: a fee charged on to a payer moves through them (debit and credit of the same
amount in one entry, both pending in a two-phase one), and pending debits would not cover
pending credits under either flag.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from ledger.enums import AccountKind
from ledger.exceptions import InvalidAccount

CUSTODY_MIXIN = "custody:mixin"
FEES_NETWORK = "fees:network"
FEES_VENUE = "fees:venue"
REVENUE_SERVICE = "revenue:service"
# Clearing liability: HuFi rewards received in custody and not yet credited to users.
REWARDS_HUFI = "rewards:hufi"

# Venue ids and venue account names: ccxt ids and operator labels, never a ':' (the separator).
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_USER_RE = re.compile(rf"^user:({_UUID_RE}):available$")
_ORDER_RE = re.compile(rf"^order:({_UUID_RE})$")
_VENUE_RE = re.compile(
    r"^custody:venue:([A-Za-z0-9._-]{1,64}):([A-Za-z0-9._-]{1,64})(?::(funding))?$"
)
# A venue account's wallets: orders trade in `trading` (the account's own code); a venue
# that splits wallets takes deposits into and sends withdrawals from `funding`.
WALLET_TRADING = "trading"
WALLET_FUNDING = "funding"

_FIXED: dict[str, AccountKind] = {
    CUSTODY_MIXIN: AccountKind.ASSET,
    FEES_NETWORK: AccountKind.EXPENSE,
    FEES_VENUE: AccountKind.EXPENSE,
    REVENUE_SERVICE: AccountKind.INCOME,
    REWARDS_HUFI: AccountKind.LIABILITY,
}


@dataclass(frozen=True)
class AccountSpec:
    """Everything an account row holds besides its balances, derived from the code."""

    code: str
    kind: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    user_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    venue: str = ""
    venue_account: str = ""
    venue_wallet: str = ""  # "trading" or "funding" for a venue custody account


def _uuid(value: uuid.UUID | str, what: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise InvalidAccount(f"{what} must be a UUID, got {value!r}.") from exc


def _name(value: str, what: str) -> str:
    if not _NAME_RE.match(value):
        raise InvalidAccount(f"{what} must match [A-Za-z0-9._-]{{1,64}}, got {value!r}.")
    return value


def asset_key(asset: uuid.UUID | str) -> str:
    """The canonical asset identity: the Mixin asset id as a lowercase UUID string."""
    try:
        return str(asset if isinstance(asset, uuid.UUID) else uuid.UUID(str(asset)))
    except ValueError as exc:
        raise InvalidAccount(f"asset must be a Mixin asset id (UUID), got {asset!r}.") from exc


def user_available(user_id: uuid.UUID | str) -> str:
    return f"user:{_uuid(user_id, 'user id')}:available"


def order_account(order_id: uuid.UUID | str) -> str:
    return f"order:{_uuid(order_id, 'order id')}"


def custody_venue(venue: str, account: str, wallet: str = WALLET_TRADING) -> str:
    """A venue account's custody code: its trading wallet, or (`wallet="funding"`) the
    funding wallet of a venue that keeps deposits and withdrawals apart from trading."""
    code = f"custody:venue:{_name(venue, 'venue')}:{_name(account, 'venue account')}"
    if wallet == WALLET_TRADING:
        return code
    if wallet == WALLET_FUNDING:
        return f"{code}:{WALLET_FUNDING}"
    raise InvalidAccount(f"wallet must be trading or funding, got {wallet!r}.")


def fees_account(fee_kind: str) -> str:
    code = f"fees:{fee_kind}"
    if code not in (FEES_NETWORK, FEES_VENUE):
        raise InvalidAccount(f"unknown fee kind {fee_kind!r}.")
    return code


def account_spec(code: str) -> AccountSpec:
    """Parse a code into its spec, or raise `InvalidAccount` for an undocumented shape."""
    kind = _FIXED.get(code)
    user_id = order_id = None
    venue = venue_account = venue_wallet = ""
    if kind is None:
        if m := _USER_RE.match(code):
            kind, user_id = AccountKind.LIABILITY, uuid.UUID(m.group(1))
        elif m := _ORDER_RE.match(code):
            kind, order_id = AccountKind.LIABILITY, uuid.UUID(m.group(1))
        elif m := _VENUE_RE.match(code):
            kind, venue, venue_account = AccountKind.ASSET, m.group(1), m.group(2)
            venue_wallet = m.group(3) or WALLET_TRADING
        else:
            raise InvalidAccount(f"unknown account code {code!r}.")
    return AccountSpec(
        code=code,
        kind=str(kind),
        debits_must_not_exceed_credits=kind in (AccountKind.LIABILITY, AccountKind.INCOME),
        credits_must_not_exceed_debits=kind == AccountKind.ASSET,
        user_id=user_id,
        order_id=order_id,
        venue=venue,
        venue_account=venue_account,
        venue_wallet=venue_wallet,
    )
