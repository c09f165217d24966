"""HuFi's recording oracle, on loopback (Hu-Fi/hufi `recording-oracle/src`).

Read from the oracle's own controllers, DTOs, services and error filters:

- Auth (`modules/auth`, `modules/users/users.service.ts`): `POST /auth/nonce {address}`
  answers `"signup"` (`DEFAULT_NONCE`) for a wallet it has never seen, else the user's
  nonce (32 hex characters). `POST /auth {address, signature}` checks an EIP-191 signature
  of `JSON.stringify({nonce})` (`common/utils/web3.ts`): a new wallet signs `signup` and is
  created with a random nonce; a known one's nonce is rotated on every login. A bad
  signature is 401 `Invalid signature`. Tokens: a JWT `{user_id, wallet_address}` with an
  `exp`, and a refresh token (a UUID; one per user, replaced by each login or refresh).
  `POST /auth/refresh {refresh_token}`: not a UUID → 400; unknown → 401 `Refresh token is
  not valid`; past its expiry → 401 `Refresh token expired`.
- `POST /exchange-api-keys` (`exchange-api-keys.dto.ts`): `exchange_name` must be a
  supported CEX; `api_key` ≤ 200 and `secret_key` ≤ 5000 non-empty strings; `extras` is
  required for BitMart (`api_key_memo`, ≤ 32) and KuCoin (`passphrase`, 7–32, no spaces).
  The key is then checked on the exchange: missing permissions → 422 with
  `details.missing_permissions`, the exchange unreachable → 503. Upsert per
  (user, exchange); answers `{id}`.
- `POST /campaigns/join` (`campaigns.service.ts join`): a campaign the oracle has not stored
  is fetched from the chain on the spot (not there → 422 `Campaign not found`); then 422
  `User has already joined the campaign` for a repeat, `Campaign cancelled`, `Campaign
  already finished`, `Joining the campaign is limited. Target is met.`, `Exchange API key
  not found`, `Campaign has reached the maximum number of participants. Total: N`. It
  answers `{id}` = the campaign's own id (the same for every participant).
- `POST /campaigns/check-join-status`: `not_available` while the oracle has not stored the
  campaign (its discovery job runs every 10 minutes; `discover()` here), else
  `already_joined` + `joined_at`, `join_closed` + `reason` (`ended`,
  `max_participants_reached`, `target_met`), or `can_join`.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse
from standins.hufi.common import Clock, FaultyServer, iso, utc_now

DEFAULT_NONCE = "signup"
EVM_SIGNATURE_RE = re.compile(r"^0x[0-9a-fA-F]{130}$")
# `common/constants/chains.ts`: production chain ids (Ethereum, Polygon).
PRODUCTION_CHAIN_IDS = (1, 137)
# `common/constants/exchanges.ts` + `config/exchanges-config.service.ts` (type per venue).
CEX_NAMES = ("bigone", "bitmart", "bybit", "gate", "htx", "kraken", "kucoin", "mexc", "xt")
DEX_NAMES = ("hyperliquid", "pancakeswap")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@dataclass
class ChainCampaign:
    """An escrow as the oracle reads it from the chain (and, once stored, from its table)."""

    chain_id: int
    address: str  # lower-case
    exchange_name: str
    end_date: datetime
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = "active"  # active | to_cancel | cancelled | completed
    target_met: bool = False
    max_participants: int | None = None


def extras_errors(exchange: str, extras: Any) -> list[str]:
    """`EnrollExchangeApiKeysDto.extras`: BitmartExtras / KucoinExtras, else ignored."""
    if exchange not in ("bitmart", "kucoin"):
        return []
    if not isinstance(extras, dict):
        return ["extras must be an object"]
    if exchange == "bitmart":
        memo = extras.get("api_key_memo")
        if not isinstance(memo, str) or not memo:
            return ["extras.apiKeyMemo should not be empty"]
        return (
            []
            if len(memo) <= 32
            else ["extras.apiKeyMemo must be shorter than or equal to 32 characters"]
        )
    passphrase = extras.get("passphrase")
    if not isinstance(passphrase, str) or not passphrase:
        return ["extras.passphrase should not be empty"]
    errors = []
    if not 7 <= len(passphrase) <= 32:
        errors.append("extras.passphrase must be between 7 and 32 characters")
    if re.search(r"\s", passphrase):
        errors.append("passphrase should not contain spaces")
    return errors


class RecordingOracleEmulator(FaultyServer):
    def __init__(
        self,
        *,
        access_ttl: timedelta = timedelta(minutes=10),
        refresh_ttl: timedelta = timedelta(days=7),
        clock: Clock = utc_now,
        chain_ids: tuple[int, ...] = PRODUCTION_CHAIN_IDS,
    ) -> None:
        super().__init__(clock=clock)
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.chain_ids = chain_ids
        self.jwt_secret = secrets.token_hex(32)
        self._state = threading.Lock()
        self.users: dict[str, dict[str, str]] = {}  # wallet (lower) → {id, nonce}
        self.refresh_tokens: dict[str, tuple[str, datetime]] = {}  # token → (wallet, expiry)
        self.live_refresh: dict[str, str] = {}  # wallet → its one live refresh token
        # (wallet, exchange) → (api_key, secret_key); extras kept apart (they are secrets too).
        self.api_keys: dict[tuple[str, str], tuple[str, str]] = {}
        self.api_key_extras: dict[tuple[str, str], dict[str, Any]] = {}
        # api_key → permissions the exchange says it lacks (empty: the key is fine).
        self.key_missing_permissions: dict[str, list[str]] = {}
        self.exchange_unreachable = False
        self.chain: dict[tuple[int, str], ChainCampaign] = {}  # escrows on chain
        self.stored: set[tuple[int, str]] = set()  # campaigns the oracle has in its table
        self.joins: dict[tuple[str, int, str], tuple[str, datetime]] = {}
        self.logins = 0
        self.refreshes = 0
        self.join_calls = 0
        self.add_route("POST", "/auth/nonce", self._nonce)
        self.add_route("POST", "/auth", self._auth)
        self.add_route("POST", "/auth/refresh", self._refresh)
        self.add_route("POST", "/exchange-api-keys", self._api_keys)
        self.add_route("POST", "/campaigns/join", self._join)
        self.add_route("POST", "/campaigns/check-join-status", self._join_status)

    # ---------------------------------------------------------------- test controls

    def publish_campaign(
        self,
        *,
        chain_id: int,
        address: str,
        exchange_name: str,
        end_date: datetime | None = None,
        stored: bool = True,
        status: str = "active",
        target_met: bool = False,
        max_participants: int | None = None,
    ) -> ChainCampaign:
        """An escrow for this oracle on chain; `stored=False`: not yet discovered."""
        key = (chain_id, address.lower())
        campaign = ChainCampaign(
            chain_id=chain_id,
            address=address.lower(),
            exchange_name=exchange_name,
            end_date=end_date or self.clock() + timedelta(days=6),
            status=status,
            target_met=target_met,
            max_participants=max_participants,
        )
        with self._state:
            self.chain[key] = campaign
            if stored:
                self.stored.add(key)
        return campaign

    def register_campaign(
        self, *, chain_id: int, address: str, exchange_name: str, closed: bool = False
    ) -> ChainCampaign:
        """A stored campaign; `closed`: it ended (`join_closed`, reason `ended`)."""
        end = self.clock() - timedelta(minutes=1) if closed else None
        return self.publish_campaign(
            chain_id=chain_id, address=address, exchange_name=exchange_name, end_date=end
        )

    def discover(self) -> int:
        """The oracle's `discoverNewCampaigns` job: store every escrow seen on chain."""
        with self._state:
            new = set(self.chain) - self.stored
            self.stored |= new
        return len(new)

    def seed_api_key(self, *, wallet: str, exchange_name: str, api_key: str = "ro") -> None:
        with self._state:
            self.api_keys[(wallet.lower(), exchange_name)] = (api_key, "secret")

    # ---------------------------------------------------------------- tokens

    def _issue(self, wallet: str) -> dict[str, str]:
        now = self.clock()
        user = self.users[wallet]
        access = jwt.encode(
            {
                "user_id": user["id"],
                "wallet_address": wallet,
                "iat": int(now.timestamp()),
                "exp": int((now + self.access_ttl).timestamp()),
                "jti": secrets.token_hex(8),
            },
            self.jwt_secret,
            algorithm="HS256",
        )
        refresh = str(uuid.uuid4())
        previous = self.live_refresh.get(wallet)
        if previous:
            self.refresh_tokens.pop(previous, None)  # generateTokens: one per user
        self.live_refresh[wallet] = refresh
        self.refresh_tokens[refresh] = (wallet, now + self.refresh_ttl)
        return {"access_token": access, "refresh_token": refresh}

    def _bearer(self, request: LoopbackRequest) -> str | None:
        auth = request.header("authorization")
        if not auth.startswith("Bearer "):
            return None
        try:
            claims = jwt.decode(
                auth[7:],
                self.jwt_secret,
                algorithms=["HS256"],
                options={"verify_exp": False},
            )
        except jwt.PyJWTError:
            return None
        if int(claims.get("exp", 0)) <= int(self.clock().timestamp()):
            return None  # expired by the emulator's clock
        return str(claims["wallet_address"])

    # ---------------------------------------------------------------- auth

    def _nonce(self, request: LoopbackRequest) -> LoopbackResponse:
        address = str((request.json() or {}).get("address", ""))
        if not is_address(address):
            return self.invalid(request, ["address must be an Ethereum address"])
        with self._state:
            user = self.users.get(address.lower())
        return LoopbackResponse(200, {"nonce": user["nonce"] if user else DEFAULT_NONCE})

    def _auth(self, request: LoopbackRequest) -> LoopbackResponse:
        body = request.json() or {}
        address, signature = str(body.get("address", "")), str(body.get("signature", ""))
        errors = []
        if not is_address(address):
            errors.append("address must be an Ethereum address")
        if not EVM_SIGNATURE_RE.match(signature):
            errors.append(
                'Signature must be a valid Ethereum Web3 signature in hex format starting with "0x'
            )
        if errors:
            return self.invalid(request, errors)
        wallet = address.lower()
        with self._state:
            user = self.users.get(wallet)
            nonce = user["nonce"] if user else DEFAULT_NONCE
            message = encode_defunct(text=json.dumps({"nonce": nonce}, separators=(",", ":")))
            try:
                signer = Account.recover_message(message, signature=signature)
            except Exception:
                signer = ""
            if signer.lower() != wallet:
                return self.error(401, "Invalid signature", request)
            if user is None:
                self.users[wallet] = {"id": str(uuid.uuid4()), "nonce": secrets.token_hex(16)}
            else:
                user["nonce"] = secrets.token_hex(16)  # the same signature never logs in twice
            self.logins += 1
            return LoopbackResponse(200, self._issue(wallet))

    def _refresh(self, request: LoopbackRequest) -> LoopbackResponse:
        token = str((request.json() or {}).get("refresh_token", ""))
        if not _UUID_RE.match(token):
            return self.invalid(request, ["refreshToken must be a UUID"])
        with self._state:
            found = self.refresh_tokens.get(token)
            if found is None:
                return self.error(401, "Refresh token is not valid", request)
            wallet, expires_at = found
            if self.clock() > expires_at:
                return self.error(401, "Refresh token expired", request)
            self.refreshes += 1
            return LoopbackResponse(200, self._issue(wallet))

    # ---------------------------------------------------------------- exchange keys

    def _api_keys(self, request: LoopbackRequest) -> LoopbackResponse:
        wallet = self._bearer(request)
        if wallet is None:
            return self.unauthorized(request)
        body = request.json() or {}
        exchange, key, secret = (
            body.get("exchange_name"),
            body.get("api_key"),
            body.get("secret_key"),
        )
        errors = []
        if exchange not in CEX_NAMES:
            errors.append("exchangeName must be supported CEX name")
        if not isinstance(key, str) or not key or len(key) > 200:
            errors.append("apiKey must be a non-empty string of at most 200 characters")
        if not isinstance(secret, str) or not secret or len(secret) > 5000:
            errors.append("secretKey must be a non-empty string of at most 5000 characters")
        extras = body.get("extras")
        errors += extras_errors(str(exchange), extras)
        if errors:
            return self.invalid(request, errors)
        assert isinstance(key, str) and isinstance(secret, str) and isinstance(exchange, str)
        if self.exchange_unreachable:
            return self.error(503, "Failed to access exchange API", request)
        missing = self.key_missing_permissions.get(key, [])
        if missing:
            return self.error(
                422,
                "Provided API key can't be authorized on exchange",
                request,
                details={"missing_permissions": missing},
            )
        with self._state:
            self.api_keys[(wallet, exchange)] = (key, secret)
            if isinstance(extras, dict) and exchange in ("bitmart", "kucoin"):
                self.api_key_extras[(wallet, exchange)] = dict(extras)
            else:
                self.api_key_extras.pop((wallet, exchange), None)
        return LoopbackResponse(
            200, {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{wallet}:{exchange}"))}
        )

    # ---------------------------------------------------------------- campaigns

    def _campaign_key(self, request: LoopbackRequest) -> tuple[int, str] | list[str]:
        body = request.json() or {}
        errors = []
        chain_id = body.get("chain_id")
        if not isinstance(chain_id, int) or chain_id not in self.chain_ids:
            errors.append(
                "chainId must be one of the following values: "
                + ", ".join(map(str, self.chain_ids))
            )
        address = body.get("address")
        if not isinstance(address, str) or not is_address(address):
            errors.append("address must be an Ethereum address")
        if errors:
            return errors
        assert isinstance(chain_id, int) and isinstance(address, str)
        return (chain_id, address.lower())

    def _participants(self, key: tuple[int, str]) -> int:
        return sum(1 for (_, chain, address) in self.joins if (chain, address) == key)

    def _join(self, request: LoopbackRequest) -> LoopbackResponse:
        wallet = self._bearer(request)
        if wallet is None:
            return self.unauthorized(request)
        key = self._campaign_key(request)
        if isinstance(key, list):
            return self.invalid(request, key)
        with self._state:
            self.join_calls += 1
            campaign = self.chain.get(key)
            if campaign is None:
                return self.error(422, "Campaign not found", request)
            self.stored.add(key)  # not stored yet: fetched from the chain and created now
            if (wallet, *key) in self.joins:
                return self.error(422, "User has already joined the campaign", request)
            if campaign.status in ("to_cancel", "cancelled"):
                return self.error(422, "Campaign cancelled", request)
            if campaign.status == "completed" or campaign.end_date <= self.clock():
                return self.error(422, "Campaign already finished", request)
            if campaign.target_met:
                return self.error(422, "Joining the campaign is limited. Target is met.", request)
            if (wallet, campaign.exchange_name) not in self.api_keys:
                return self.error(422, "Exchange API key not found", request)
            count = self._participants(key)
            if campaign.max_participants is not None and count >= campaign.max_participants:
                return self.error(
                    422,
                    f"Campaign has reached the maximum number of participants. Total: {count}",
                    request,
                )
            self.joins[(wallet, *key)] = (campaign.id, self.clock())
            return LoopbackResponse(200, {"id": campaign.id})

    def _join_status(self, request: LoopbackRequest) -> LoopbackResponse:
        wallet = self._bearer(request)
        if wallet is None:
            return self.unauthorized(request)
        key = self._campaign_key(request)
        if isinstance(key, list):
            return self.invalid(request, key)
        with self._state:
            campaign = self.chain.get(key)
            if campaign is None or key not in self.stored:
                return LoopbackResponse(200, {"status": "not_available"})
            joined = self.joins.get((wallet, *key))
            if joined:
                return LoopbackResponse(
                    200, {"status": "already_joined", "joined_at": iso(joined[1])}
                )
            if campaign.end_date <= self.clock() or campaign.status != "active":
                return LoopbackResponse(200, {"status": "join_closed", "reason": "ended"})
            if (
                campaign.max_participants is not None
                and self._participants(key) >= campaign.max_participants
            ):
                return LoopbackResponse(
                    200, {"status": "join_closed", "reason": "max_participants_reached"}
                )
            if campaign.target_met:
                return LoopbackResponse(200, {"status": "join_closed", "reason": "target_met"})
            return LoopbackResponse(200, {"status": "can_join"})
