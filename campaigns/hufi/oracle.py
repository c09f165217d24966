"""Recording oracle client (httpx): wallet login, token refresh, exchange keys, joining.

Login is HuFi's web3 flow: `POST /auth/nonce {address}` → `{nonce}` (the constant `"signup"`
for a wallet HuFi has never seen, then a fresh random one after every login); sign exactly the text
`{"nonce":"<nonce>"}` as an EIP-191 personal message; `POST /auth {address, signature}` →
`{access_token, refresh_token}`. `POST /auth/refresh {refresh_token}` rotates both. The
protected calls take the access token as `Authorization: Bearer`. This module only speaks
the protocol; `tokens.py` owns which token to use and when to log in again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from campaigns.hufi.errors import HufiFinalError, error_from_response, error_from_transport
from campaigns.hufi.wallet import ServiceWallet


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str

    @property
    def access_expires_at(self) -> datetime:
        """The JWT's own `exp`. We read it without verifying: the oracle verifies, we only plan."""
        try:
            claims = jwt.decode(self.access_token, options={"verify_signature": False})
            return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise HufiFinalError("oracle access token carries no readable exp") from exc


@dataclass(frozen=True)
class JoinStatusAnswer:
    # HuFi: already_joined | can_join | join_closed | not_available
    status: str
    joined_at: str | None = None
    reason: str | None = None


class RecordingOracleClient:
    def __init__(
        self,
        *,
        base_url: str,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)

    def close(self) -> None:
        self._client.close()

    def _post(
        self,
        path: str,
        body: dict[str, Any],
        *,
        access_token: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        what = f"POST {path}"
        headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
        try:
            response = self._client.post(
                path,
                json=body,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise error_from_transport(exc, what=what) from exc
        if response.status_code not in (200, 201):
            raise error_from_response(response, what=what)
        try:
            answer = response.json()
        except ValueError as exc:
            raise HufiFinalError(f"{what}: answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise HufiFinalError(f"{what}: answer is not an object")
        return answer

    # ------------------------------------------------------------------ auth (public)

    def nonce(self, *, address: str, timeout: float | None = None) -> str:
        answer = self._post("/auth/nonce", {"address": address}, timeout=timeout)
        if not answer.get("nonce"):
            raise HufiFinalError("POST /auth/nonce: no nonce in the answer")
        return str(answer["nonce"])

    def login(self, *, wallet: ServiceWallet, timeout: float | None = None) -> TokenPair:
        nonce = self.nonce(address=wallet.address, timeout=timeout)
        answer = self._post(
            "/auth",
            {"address": wallet.address, "signature": wallet.sign_nonce(nonce)},
            timeout=timeout,
        )
        return _token_pair(answer, what="POST /auth")

    def refresh(self, *, refresh_token: str, timeout: float | None = None) -> TokenPair:
        answer = self._post("/auth/refresh", {"refresh_token": refresh_token}, timeout=timeout)
        return _token_pair(answer, what="POST /auth/refresh")

    # ------------------------------------------------------------------ protected

    def register_exchange_api_key(
        self,
        *,
        access_token: str,
        exchange_name: str,
        api_key: str,
        secret_key: str,
        extras: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> str:
        """Read-only exchange keys for HuFi to read our trades. The secret never reaches a log.

        `extras` is what the venue needs beside key and secret (HuFi's
        `EnrollExchangeApiKeysDto`: `{passphrase}` for KuCoin, `{api_key_memo}` for BitMart;
        without it HuFi answers 400). Sent only when given.
        """
        body: dict[str, Any] = {
            "exchange_name": exchange_name,
            "api_key": api_key,
            "secret_key": secret_key,
        }
        if extras:
            body["extras"] = extras
        answer = self._post("/exchange-api-keys", body, access_token=access_token, timeout=timeout)
        return str(answer.get("id", ""))

    def join_campaign(
        self, *, access_token: str, chain_id: int, address: str, timeout: float | None = None
    ) -> str:
        """HuFi's id for the campaign. A repeat is HuFi's 422 `User has already joined the
        campaign` (`HufiAlreadyJoined`); an escrow the oracle cannot read yet is
        `HufiCampaignNotFound`."""
        answer = self._post(
            "/campaigns/join",
            {"chain_id": chain_id, "address": address},
            access_token=access_token,
            timeout=timeout,
        )
        return str(answer.get("id", ""))

    def check_join_status(
        self, *, access_token: str, chain_id: int, address: str, timeout: float | None = None
    ) -> JoinStatusAnswer:
        answer = self._post(
            "/campaigns/check-join-status",
            {"chain_id": chain_id, "address": address},
            access_token=access_token,
            timeout=timeout,
        )
        if "status" in answer:
            return JoinStatusAnswer(
                status=str(answer["status"]),
                joined_at=answer.get("joined_at"),
                reason=answer.get("reason") or answer.get("closed_due"),
            )
        # An older oracle answers `{is_joined: bool}`.
        if "is_joined" in answer:
            return JoinStatusAnswer(status="already_joined" if answer["is_joined"] else "can_join")
        raise HufiFinalError("POST /campaigns/check-join-status: no status in the answer")


def _token_pair(answer: dict[str, Any], *, what: str) -> TokenPair:
    access, refresh = answer.get("access_token"), answer.get("refresh_token")
    if not access or not refresh:
        raise HufiFinalError(f"{what}: answer lacks access_token/refresh_token")
    return TokenPair(access_token=str(access), refresh_token=str(refresh))
