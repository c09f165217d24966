"""Loopback emulators of HuFi's campaign launcher and recording oracle (DESIGN §6).

They speak HuFi's current protocol closely enough that the real clients run unchanged:

- Launcher: `GET /campaigns?chain_id=&status=&limit=&skip=` → `{has_more, results}` (skip
  must be positive when sent, limit and skip at most 1000, as HuFi validates), and
  `GET /campaigns/{chain_id}-{address}`.
- Oracle: nonce → EIP-191 signature checked with `eth_account.Account.recover_message`
  against the address and the nonce issued to it (single-use: rotated by a successful
  login) → a real HS256 JWT with `exp` (10 min by default) and a refresh token. Only one
  refresh token lives per wallet: a login or a refresh kills the previous one. Join, keys
  and join-status need `Authorization: Bearer <access>`; joining twice answers the same id.
- Faults: `outage` answers 503 to everything, `latency` sleeps before answering; stop the
  server (or use a closed port) for connection refused.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_address, to_checksum_address

from mrmarket.testing.loopback import LoopbackRequest, LoopbackResponse, LoopbackServer

_SIGNATURE_RE = re.compile(r"^0x[0-9a-fA-F]{130}$")


def _error(status: int, message: str) -> LoopbackResponse:
    # NestJS's error body shape.
    return LoopbackResponse(status, {"statusCode": status, "message": message})


class _FaultyServer(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.outage = False
        self.latency = 0.0

    def dispatch(self, request: LoopbackRequest) -> LoopbackResponse:
        if self.latency:
            time.sleep(self.latency)
        if self.outage:
            return _error(503, "Service Unavailable")
        return super().dispatch(request)


def campaign_payload(
    *,
    chain_id: int = 137,
    address: str | None = None,
    exchange_name: str = "mexc",
    symbol: str = "HMT/USDT",
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    fund_amount: int = 1000 * 10**18,
    fund_token: str = "0x" + "1" * 40,
    fund_token_symbol: str = "HMT",
    fund_token_decimals: int = 18,
    balance: int | None = None,
    status: str = "active",
    daily_volume_target: float | int | str = 100000,
    type: str = "MARKET_MAKING",
) -> dict[str, Any]:
    """A launcher campaign as HuFi answers it (amounts in base units, as strings)."""
    now = datetime.now(tz=UTC)
    start = start_date or now - timedelta(days=1)
    end = end_date or now + timedelta(days=6)
    return {
        "chain_id": chain_id,
        "address": to_checksum_address(address or "0x" + secrets.token_hex(20)),
        "exchange_name": exchange_name,
        "symbol": symbol,
        "type": type,
        "start_date": start.isoformat().replace("+00:00", "Z"),
        "end_date": end.isoformat().replace("+00:00", "Z"),
        "fund_amount": str(fund_amount),
        "fund_token": to_checksum_address(fund_token),
        "fund_token_symbol": fund_token_symbol,
        "fund_token_decimals": fund_token_decimals,
        "balance": str(fund_amount if balance is None else balance),
        "status": status,
        "manifest": {
            "type": type,
            "exchange": exchange_name,
            "pair": symbol,
            "daily_volume_target": daily_volume_target,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        },
    }


class CampaignLauncherEmulator(_FaultyServer):
    def __init__(self) -> None:
        super().__init__()
        self.campaigns: list[dict[str, Any]] = []
        self.add_route("GET", "/campaigns", self._list)
        self.add_route("GET", "/campaigns/{key}", self._detail)

    def add_campaign(self, **kwargs: Any) -> dict[str, Any]:
        campaign = campaign_payload(**kwargs)
        with self.lock:
            self.campaigns.append(campaign)
        return campaign

    def set_status(self, address: str, status: str) -> None:
        with self.lock:
            for campaign in self.campaigns:
                if campaign["address"].lower() == address.lower():
                    campaign["status"] = status

    def _list(self, request: LoopbackRequest) -> LoopbackResponse:
        try:
            chain_id = int(request.query["chain_id"])
            limit = int(request.query.get("limit", "10"))
            skip = int(request.query["skip"]) if "skip" in request.query else 0
        except (KeyError, ValueError):
            return _error(400, "Invalid query")
        if not 0 < limit <= 1000 or ("skip" in request.query and not 0 < skip <= 1000):
            return _error(400, "Invalid pagination")
        status = request.query.get("status")
        with self.lock:
            rows = [
                c
                for c in self.campaigns
                if c["chain_id"] == chain_id and (not status or c["status"] == status)
            ]
        page = rows[skip : skip + limit]
        return LoopbackResponse(200, {"has_more": len(rows) > skip + limit, "results": page})

    def _detail(self, request: LoopbackRequest) -> LoopbackResponse:
        chain_id, _, address = request.params["key"].partition("-")
        with self.lock:
            for campaign in self.campaigns:
                if str(campaign["chain_id"]) == chain_id and (
                    campaign["address"].lower() == address.lower()
                ):
                    return LoopbackResponse(200, campaign)
        return _error(404, "Not Found")


class RecordingOracleEmulator(_FaultyServer):
    def __init__(self, *, access_ttl: timedelta = timedelta(minutes=10)) -> None:
        super().__init__()
        self.access_ttl = access_ttl
        self.jwt_secret = secrets.token_hex(32)
        self._state = threading.Lock()
        self.nonces: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}  # live refresh token → wallet (lower-case)
        self.live_refresh: dict[str, str] = {}  # wallet → its one live refresh token
        self.api_keys: dict[tuple[str, str], tuple[str, str]] = {}
        self.joins: dict[tuple[str, int, str], tuple[str, datetime]] = {}
        # Campaigns the oracle knows: (chain_id, address lower) → exchange, and closed ones.
        self.campaign_exchanges: dict[tuple[int, str], str] = {}
        self.closed: set[tuple[int, str]] = set()
        self.logins = 0
        self.refreshes = 0
        self.join_calls = 0
        self.add_route("POST", "/auth/nonce", self._nonce)
        self.add_route("POST", "/auth", self._auth)
        self.add_route("POST", "/auth/refresh", self._refresh)
        self.add_route("POST", "/exchange-api-keys", self._api_keys)
        self.add_route("POST", "/campaigns/join", self._join)
        self.add_route("POST", "/campaigns/check-join-status", self._join_status)

    # ---------------------------------------------------------------- helpers

    def register_campaign(
        self, *, chain_id: int, address: str, exchange_name: str, closed: bool = False
    ) -> None:
        key = (chain_id, address.lower())
        self.campaign_exchanges[key] = exchange_name
        if closed:
            self.closed.add(key)

    def _issue(self, wallet: str) -> dict[str, str]:
        now = datetime.now(tz=UTC)
        access = jwt.encode(
            {
                "user_id": wallet,
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
            self.refresh_tokens.pop(previous, None)  # one live refresh token per wallet
        self.live_refresh[wallet] = refresh
        self.refresh_tokens[refresh] = wallet
        return {"access_token": access, "refresh_token": refresh}

    def _bearer(self, request: LoopbackRequest) -> str | None:
        auth = request.header("authorization")
        if not auth.startswith("Bearer "):
            return None
        try:
            claims = jwt.decode(auth[7:], self.jwt_secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            return None
        return str(claims["wallet_address"])

    # ---------------------------------------------------------------- auth

    def _nonce(self, request: LoopbackRequest) -> LoopbackResponse:
        address = str((request.json() or {}).get("address", ""))
        if not is_address(address):
            return _error(400, "address must be an Ethereum address")
        with self._state:
            nonce = self.nonces.setdefault(address.lower(), secrets.token_hex(16))
        return LoopbackResponse(200, {"nonce": nonce})

    def _auth(self, request: LoopbackRequest) -> LoopbackResponse:
        body = request.json() or {}
        address, signature = str(body.get("address", "")), str(body.get("signature", ""))
        if not is_address(address) or not _SIGNATURE_RE.match(signature):
            return _error(400, "Signature must be a valid Ethereum Web3 signature")
        wallet = address.lower()
        with self._state:
            nonce = self.nonces.get(wallet)
            if nonce is None:
                return _error(401, "Invalid web3 signature")
            message = encode_defunct(text=json.dumps({"nonce": nonce}, separators=(",", ":")))
            try:
                signer = Account.recover_message(message, signature=signature)
            except Exception:
                return _error(401, "Invalid web3 signature")
            if signer.lower() != wallet:
                return _error(401, "Invalid web3 signature")
            del self.nonces[wallet]  # single-use: the same signature never logs in twice
            self.logins += 1
            return LoopbackResponse(200, self._issue(wallet))

    def _refresh(self, request: LoopbackRequest) -> LoopbackResponse:
        token = str((request.json() or {}).get("refresh_token", ""))
        with self._state:
            wallet = self.refresh_tokens.pop(token, None)
            if wallet is None:
                return _error(401, "Invalid refresh token")
            self.refreshes += 1
            return LoopbackResponse(200, self._issue(wallet))

    # ---------------------------------------------------------------- protected

    def _api_keys(self, request: LoopbackRequest) -> LoopbackResponse:
        wallet = self._bearer(request)
        if wallet is None:
            return _error(401, "Unauthorized")
        body = request.json() or {}
        exchange, key, secret = (
            body.get("exchange_name"),
            body.get("api_key"),
            body.get("secret_key"),
        )
        if not exchange or not key or not secret:
            return _error(400, "exchange_name, api_key and secret_key are required")
        with self._state:
            self.api_keys[(wallet, str(exchange))] = (str(key), str(secret))
        return LoopbackResponse(200, {"id": f"{wallet}:{exchange}"})

    def _campaign_key(self, request: LoopbackRequest) -> tuple[int, str] | None:
        body = request.json() or {}
        try:
            chain_id = int(body["chain_id"])
        except (KeyError, TypeError, ValueError):
            return None
        address = str(body.get("address", ""))
        return (chain_id, address.lower()) if is_address(address) else None

    def _join(self, request: LoopbackRequest) -> LoopbackResponse:
        wallet = self._bearer(request)
        if wallet is None:
            return _error(401, "Unauthorized")
        key = self._campaign_key(request)
        if key is None:
            return _error(400, "chain_id and address are required")
        with self._state:
            self.join_calls += 1
            if key in self.closed:
                return _error(422, "Campaign join is closed")
            exchange = self.campaign_exchanges.get(key)
            if exchange and (wallet, exchange) not in self.api_keys:
                return _error(422, "Exchange API keys not found")
            existing = self.joins.get((wallet, *key))
            if existing is None:
                existing = (str(uuid.uuid4()), datetime.now(tz=UTC))
                self.joins[(wallet, *key)] = existing
            return LoopbackResponse(200, {"id": existing[0]})

    def _join_status(self, request: LoopbackRequest) -> LoopbackResponse:
        wallet = self._bearer(request)
        if wallet is None:
            return _error(401, "Unauthorized")
        key = self._campaign_key(request)
        if key is None:
            return _error(400, "chain_id and address are required")
        with self._state:
            joined = self.joins.get((wallet, *key))
            if joined:
                return LoopbackResponse(
                    200, {"status": "already_joined", "joined_at": joined[1].isoformat()}
                )
            if key in self.closed:
                return LoopbackResponse(200, {"status": "join_closed", "reason": "campaign ended"})
            return LoopbackResponse(200, {"status": "can_join"})
